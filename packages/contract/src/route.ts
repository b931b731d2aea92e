import type { z } from 'zod';
import type { ErrorCode } from './errors.ts';

/**
 * Who may call a route. `viewer` means any authenticated user or API key;
 * `agent` means a node token (agent protocol).
 */
export type Access = 'public' | 'viewer' | 'operator' | 'admin' | 'agent';

/** How the response body is produced: JSON envelope, or something streamed/raw. */
export type ResponseKind = 'json' | 'raw-json' | 'csv' | 'text' | 'octet-stream' | 'event-stream';

/** A route of the HTTP API, declared once and used by the server, the console client and OpenAPI. */
export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Fastify-style path: `/api/users/:id`. */
  readonly path: string;
  readonly access: Access;
  readonly summary: string;
  readonly tag: string;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** Schema of `data` inside the success envelope (json), or of the whole body (raw-json). */
  readonly response?: z.ZodType;
  readonly responseKind?: ResponseKind;
  /** Error code for validation failures of this route (SPEC names some, e.g. BACKUP_TASK_INVALID). */
  readonly invalidInputCode?: ErrorCode;
  /** Only a signed-in user may call it (an API key gets 403 AUTH_USER_SESSION_REQUIRED). */
  readonly sessionOnly?: boolean;
  /** Body size limit in bytes when it differs from the 1 MiB default. */
  readonly bodyLimitBytes?: number;
  /** `stream`: the handler reads the raw request body itself (any content type, no size limit). */
  readonly requestKind?: 'json' | 'stream';
  /** Agent routes: a BackupX agent may send its node token in the JSON body instead of a header. */
  readonly legacyBodyToken?: boolean;
}

/** Declares a route; the literal type is kept so clients infer params, body and response. */
export const defineRoute = <const T extends RouteSpec>(spec: T): T => spec;

type InferOr<T, Fallback> = T extends z.ZodType ? z.infer<T> : Fallback;
type InputOr<T, Fallback> = T extends z.ZodType ? z.input<T> : Fallback;

/** Parsed (server-side) shapes of a route's inputs. */
export type RouteParams<R extends RouteSpec> = InferOr<R['params'], undefined>;
export type RouteQuery<R extends RouteSpec> = InferOr<R['query'], undefined>;
export type RouteBody<R extends RouteSpec> = InferOr<R['body'], undefined>;
/** The `data` the route returns. */
export type RouteResponse<R extends RouteSpec> = InferOr<R['response'], undefined>;

/** What a client sends (before server-side transforms). */
export type RouteParamsInput<R extends RouteSpec> = InputOr<R['params'], undefined>;
export type RouteQueryInput<R extends RouteSpec> = InputOr<R['query'], undefined>;
export type RouteBodyInput<R extends RouteSpec> = InputOr<R['body'], undefined>;
