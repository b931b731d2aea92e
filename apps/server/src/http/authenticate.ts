import type { FastifyRequest } from 'fastify';
import type { RouteSpec } from '@backupx/contract';
import { AppError } from '../lib/errors.ts';
import { AGENT_TOKEN_HEADER } from '@backupx/contract';
import { roleAllows, type AgentPrincipal, type Principal } from '../modules/auth/principal.ts';

/** The credential of a request: `X-Api-Key` (API keys only), else `Authorization: Bearer …` (JWT or API key). */
export const credentialOf = (request: FastifyRequest): string | null => {
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim() !== '') {
    const value = apiKey.trim();
    // A session token sent as an API key is refused rather than quietly accepted.
    if (!value.startsWith('bax_'))
      throw new AppError('AUTH_INVALID_TOKEN', 'X-Api-Key must carry an API key (bax_…)');
    return value;
  }
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
};

/** The node token of an agent request: `X-Agent-Token`, else `Authorization: Bearer …`. */
export const agentTokenOf = (request: FastifyRequest): string | null => {
  const header = request.headers[AGENT_TOKEN_HEADER];
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  const authorization = request.headers.authorization;
  if (typeof authorization !== 'string') return null;
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? null;
};

/**
 * Resolves an agent route's node. A BackupX agent may send its token in the heartbeat body
 * instead (`legacyBodyToken`): then the handler authenticates, after the body is parsed.
 */
export const authoriseAgent = async (
  spec: RouteSpec,
  request: FastifyRequest,
  resolveAgent: (token: string) => Promise<AgentPrincipal>,
): Promise<AgentPrincipal | null> => {
  const token = agentTokenOf(request);
  if (token === null) {
    if (spec.legacyBodyToken === true) return null;
    throw new AppError('NODE_INVALID_TOKEN', 'Send the node token in X-Agent-Token');
  }
  return resolveAgent(token);
};

/**
 * Resolves and authorises the caller of a route. Public routes need nothing; every other access
 * level needs a credential whose role is at least the route's.
 */
export const authorise = async (
  spec: RouteSpec,
  request: FastifyRequest,
  resolve: (credential: string) => Promise<Principal>,
): Promise<Principal | null> => {
  if (spec.access === 'public') return null;
  if (spec.access === 'agent') throw new Error('agent routes are authorised by authoriseAgent');
  const credential = credentialOf(request);
  if (credential === null) throw new AppError('AUTH_REQUIRED', 'Sign in or send an API key');
  const principal = await resolve(credential);
  if (!roleAllows(principal.role, spec.access)) {
    throw new AppError('AUTH_FORBIDDEN', `This action needs the ${spec.access} role`);
  }
  if (spec.sessionOnly === true && principal.kind !== 'user') {
    throw new AppError('AUTH_USER_SESSION_REQUIRED', 'This action needs a signed-in user, not an API key');
  }
  return principal;
};
