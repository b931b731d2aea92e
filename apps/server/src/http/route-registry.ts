import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type {
  ErrorCode,
  RouteBody,
  RouteParams,
  RouteQuery,
  RouteResponse,
  RouteSpec,
} from '@backupx/contract';
import { AppError } from '../lib/errors.ts';
import { actorOf, type Actor, type AgentPrincipal, type Principal } from '../modules/auth/principal.ts';

/** What a handler receives: validated inputs, who is calling, and the raw request/reply for streaming. */
export interface RouteContext<R extends RouteSpec> {
  params: RouteParams<R>;
  query: RouteQuery<R>;
  body: RouteBody<R>;
  principal: Principal | null;
  /** Agent routes: the calling node (null only on a legacy heartbeat with the token in the body). */
  agent: AgentPrincipal | null;
  actor: Actor;
  clientIp: string;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** A JSON route returns its `data`; other kinds send through `reply` and return it. */
export type RouteHandler<R extends RouteSpec> = (
  context: RouteContext<R>,
) => Promise<R['responseKind'] extends 'json' | undefined ? RouteResponse<R> : unknown>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The contract route this Fastify route implements; every route has one (checked in onRoute). */
    routeSpec?: RouteSpec;
  }
  interface FastifyRequest {
    principal: Principal | null;
    agent: AgentPrincipal | null;
  }
}

export const DEFAULT_BODY_LIMIT_BYTES = 1_048_576;

const issuesToDetails = (error: z.ZodError) =>
  error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));

const parseWith = (schema: z.ZodType | undefined, value: unknown, code: ErrorCode, what: string): unknown => {
  if (schema === undefined) {
    const empty =
      value === undefined || value === null || (typeof value === 'object' && Object.keys(value).length === 0);
    if (!empty && what === 'body') throw new AppError(code, 'This route takes no request body');
    return undefined;
  }
  const result = schema.safeParse(value ?? (what === 'body' ? undefined : {}));
  if (!result.success) {
    throw new AppError(
      code,
      `Invalid ${what}: ${result.error.issues.map((i) => `${i.path.join('.') || what} ${i.message}`).join('; ')}`,
      {
        details: issuesToDetails(result.error),
      },
    );
  }
  return result.data;
};

/**
 * Binds contract routes to handlers. Authentication and role checks run in the app's onRequest
 * hook from `config.routeSpec`; this wrapper validates inputs and writes the envelope.
 */
export class RouteRegistry {
  readonly #app: FastifyInstance;
  readonly #implemented = new Set<RouteSpec>();

  constructor(app: FastifyInstance) {
    this.#app = app;
  }

  add<R extends RouteSpec>(spec: R, handler: RouteHandler<R>): void {
    if (this.#implemented.has(spec)) throw new Error(`Route ${spec.method} ${spec.path} implemented twice`);
    this.#implemented.add(spec);
    const invalid: ErrorCode = spec.invalidInputCode ?? 'INVALID_INPUT';
    this.#app.route({
      method: spec.method,
      url: spec.path,
      // A stream route reads its body itself (it may be many GiB); others are parsed within a limit.
      bodyLimit:
        spec.requestKind === 'stream'
          ? Number.MAX_SAFE_INTEGER
          : (spec.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES),
      config: { routeSpec: spec },
      handler: async (request, reply) => {
        let params: unknown;
        try {
          params = parseWith(spec.params, request.params, invalid, 'path');
        } catch (error) {
          // A malformed :id is its own stable code (SPEC §0.3).
          if (error instanceof AppError && spec.params !== undefined && 'id' in (request.params as object)) {
            throw new AppError('INVALID_ID', 'The id must be an integer from 1 to 4294967295');
          }
          throw error;
        }
        const query = parseWith(spec.query, request.query, invalid, 'query');
        const body =
          spec.requestKind === 'stream' ? undefined : parseWith(spec.body, request.body, invalid, 'body');
        const clientIp = request.ip;
        const result = await handler({
          params: params as RouteParams<R>,
          query: query as RouteQuery<R>,
          body: body as RouteBody<R>,
          principal: request.principal,
          agent: request.agent,
          actor: request.agent
            ? { userId: 0, username: `agent:${request.agent.node.name}`.slice(0, 64), clientIp }
            : actorOf(request.principal, clientIp),
          clientIp,
          request,
          reply,
        });
        if (reply.sent) return reply;
        const kind = spec.responseKind ?? 'json';
        if (kind === 'json') {
          return reply.send(
            result === undefined
              ? { code: 'OK', message: 'success' }
              : { code: 'OK', message: 'success', data: result },
          );
        }
        return reply.send(result);
      },
    });
  }

  /** Contract routes this registry implements. */
  get implemented(): ReadonlySet<RouteSpec> {
    return this.#implemented;
  }
}
