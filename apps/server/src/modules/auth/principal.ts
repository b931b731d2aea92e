import type { Role } from '@backupx/contract';
import type { NodeRow } from '../../db/tables.ts';

/** Who is calling: a signed-in user (with a session) or an API key. */
export type Principal =
  | { kind: 'user'; userId: number; username: string; role: Role; sessionId: string }
  | { kind: 'api_key'; apiKeyId: number; name: string; role: Role };

/** The caller of an agent route: the node its token belongs to. */
export interface AgentPrincipal {
  kind: 'agent';
  node: NodeRow;
}

/** Who did something, as the audit log records it. */
export interface Actor {
  userId: number;
  username: string;
  clientIp: string;
}

const roleRank: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** True when `role` is at least `required`. */
export const roleAllows = (role: Role, required: Role): boolean => roleRank[role] >= roleRank[required];

/** The audit actor of a principal; API keys appear as `api_key:<id>:<name>` (SPEC §12.7). */
export const actorOf = (principal: Principal | null, clientIp: string): Actor => {
  if (principal === null) return { userId: 0, username: '', clientIp };
  if (principal.kind === 'user') return { userId: principal.userId, username: principal.username, clientIp };
  return { userId: 0, username: `api_key:${principal.apiKeyId}:${principal.name}`.slice(0, 64), clientIp };
};

/** The actor for work the master does by itself (scheduler, monitors). */
export const systemActor: Actor = { userId: 0, username: 'system', clientIp: '' };
