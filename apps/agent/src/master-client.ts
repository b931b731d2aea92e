/**
 * The agent's HTTP client for the master (SPEC §11.7, §11.9; routes and schemas from
 * @backupx/contract). Rules that protect the node token:
 *
 * - it travels only in the `X-Agent-Token` header (never in a URL or a body);
 * - redirects are never followed: a 3xx is an error, because following one would send the token
 *   to wherever the redirect points (a misconfigured proxy, an http:// downgrade);
 * - TLS ≥ 1.2, custom CA appended to the system roots (see http/dispatcher.ts).
 *
 * Timeouts: 120 s for JSON calls, the poll's `wait` + 15 s for long polls, none for artifact
 * streams (an upload of a large backup takes as long as it takes).
 */
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import {
  AGENT_OBJECT_KEY_HEADER,
  AGENT_SHA256_HEADER,
  AGENT_TOKEN_HEADER,
  agentCommandSchema,
  agentHeartbeatSchema,
  agentRepositoryLeaseSchema,
  agentRestoreSpecSchema,
  agentRoutes,
  agentTaskSpecSchema,
  type AgentCommand,
  type AgentRecordUpdate,
  type AgentRestoreSpec,
  type AgentTaskSpec,
  type RouteBodyInput,
  type RouteResponse,
} from '@backupx/contract';

export const JSON_TIMEOUT_MS = 120_000;
/** Extra time a long poll may take beyond its `wait`, for the network and a busy master. */
export const POLL_GRACE_MS = 15_000;

/**
 * A failed call. `code` is the master's error code (`NODE_INVALID_TOKEN`, …) or one of ours:
 * `AGENT_MASTER_UNREACHABLE` (network), `AGENT_MASTER_TIMEOUT`, `AGENT_REDIRECT_REFUSED`,
 * `AGENT_PROTOCOL_ERROR` (an answer that is not the protocol), `AGENT_REQUEST_ABORTED`.
 * `status` is the HTTP status (0 without one).
 */
export class MasterError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  constructor(
    code: string,
    message: string,
    options: { status?: number; retryable: boolean; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = 'MasterError';
    this.code = code;
    this.status = options.status ?? 0;
    this.retryable = options.retryable;
  }
}

/** Worth retrying: the network, timeouts, 5xx, 408 and 429; not a 4xx that will not change. */
export const isRetryableMasterError = (error: unknown): boolean =>
  error instanceof MasterError ? error.retryable : true;

export type AgentHeartbeat = RouteResponse<typeof agentRoutes.heartbeat>;
export type AgentHeartbeatInput = RouteBodyInput<typeof agentRoutes.heartbeat>;
export type AgentCommandResultInput = RouteBodyInput<typeof agentRoutes.result>;
export type AgentRestoreUpdate = RouteBodyInput<typeof agentRoutes.restoreUpdate>;
export type AgentSelf = RouteResponse<typeof agentRoutes.self>;
export type AgentRepositoryLeaseInput = RouteBodyInput<typeof agentRoutes.repositoryLeaseAcquire>;
export type AgentRepositoryLease = RouteResponse<typeof agentRoutes.repositoryLeaseAcquire>;

export interface ArtifactUpload {
  body: Readable;
  sizeBytes: number;
  objectKey: string;
  sha256: string;
}

export interface MasterClient {
  readonly masterUrl: string;
  heartbeat(body: AgentHeartbeatInput, signal?: AbortSignal): Promise<AgentHeartbeat>;
  /** Claims one command; with `waitSeconds` > 0 the master may hold the request that long. */
  poll(waitSeconds: number, signal?: AbortSignal): Promise<AgentCommand | null>;
  result(commandId: number, body: AgentCommandResultInput, signal?: AbortSignal): Promise<void>;
  taskSpec(taskId: number, signal?: AbortSignal): Promise<AgentTaskSpec>;
  recordUpdate(recordId: number, body: AgentRecordUpdate, signal?: AbortSignal): Promise<void>;
  uploadArtifact(
    recordId: number,
    targetId: number,
    upload: ArtifactUpload,
    signal?: AbortSignal,
  ): Promise<void>;
  /**
   * Takes the write lease of a target's repository for a running record. A 409 with code
   * `REPOSITORY_BUSY` means another writer holds it: retry later.
   */
  repositoryLeaseAcquire(
    body: AgentRepositoryLeaseInput,
    signal?: AbortSignal,
  ): Promise<AgentRepositoryLease>;
  /** Extends a held lease; 409 `REPOSITORY_LEASE_LOST` when it lapsed and was taken. */
  repositoryLeaseRenew(body: AgentRepositoryLeaseInput, signal?: AbortSignal): Promise<AgentRepositoryLease>;
  repositoryLeaseRelease(body: AgentRepositoryLeaseInput, signal?: AbortSignal): Promise<void>;
  restoreSpec(restoreId: number, signal?: AbortSignal): Promise<AgentRestoreSpec>;
  /** The relayed artifact of a restore, as the master streams it. */
  restoreArtifact(restoreId: number, signal?: AbortSignal): Promise<Readable>;
  restoreUpdate(restoreId: number, body: AgentRestoreUpdate, signal?: AbortSignal): Promise<void>;
  self(signal?: AbortSignal): Promise<AgentSelf>;
  close(): Promise<void>;
}

export interface MasterClientOptions {
  /** Base URL without trailing slash (config.master). */
  master: string;
  token: string;
  dispatcher: Dispatcher;
  userAgent: string;
}

const fillPath = (template: string, params: Record<string, number> = {}): string =>
  template.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined || !Number.isInteger(value)) throw new Error(`missing path parameter ${name}`);
    return String(value);
  });

const retryableStatus = (status: number): boolean => status >= 500 || status === 408 || status === 429;

/** System and undici error codes, kept in the message: they are what an operator searches for. */
const describeNetworkError = (error: unknown): string => {
  const err = error as { code?: unknown; message?: unknown; cause?: unknown };
  const message = typeof err.message === 'string' ? err.message : String(error);
  const code = typeof err.code === 'string' && !message.includes(err.code) ? `${err.code}: ` : '';
  return `${code}${message}`;
};

/** The part of a zod schema the client uses (zod itself is the contract's dependency). */
interface Schema<T> {
  safeParse(
    data: unknown,
  ):
    | { success: true; data: T }
    | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

interface CallOptions {
  params?: Record<string, number>;
  query?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** 0 = no timeout (artifact streams). */
  timeoutMs: number;
  headers?: Record<string, string>;
  rawBody?: Readable;
}

export const createMasterClient = (options: MasterClientOptions): MasterClient => {
  const { master, token, dispatcher } = options;

  /** Sends one request and returns the response once its status is 2xx; everything else throws. */
  const send = async (
    method: 'GET' | 'POST' | 'PUT',
    routePath: string,
    call: CallOptions,
  ): Promise<Dispatcher.ResponseData> => {
    const url = new URL(`${master}${fillPath(routePath, call.params)}`);
    for (const [name, value] of Object.entries(call.query ?? {})) url.searchParams.set(name, value);
    const timeout = call.timeoutMs > 0 ? AbortSignal.timeout(call.timeoutMs) : undefined;
    const signals = [call.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === 0 ? undefined : AbortSignal.any(signals);
    const headers: Record<string, string> = {
      [AGENT_TOKEN_HEADER]: token,
      'user-agent': options.userAgent,
      accept: 'application/json',
      ...call.headers,
    };
    let body: string | Readable | undefined;
    if (call.rawBody !== undefined) body = call.rawBody;
    else if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method,
        headers,
        dispatcher,
        ...(body === undefined ? {} : { body }),
        ...(signal === undefined ? {} : { signal }),
        // undici's own timers: disabled for streams, else a little beyond ours (ours names the call).
        headersTimeout: call.timeoutMs > 0 ? call.timeoutMs + 1000 : 0,
        bodyTimeout: call.timeoutMs > 0 ? call.timeoutMs + 1000 : 0,
      });
    } catch (error) {
      if (call.signal?.aborted === true)
        throw new MasterError('AGENT_REQUEST_ABORTED', `${method} ${routePath} aborted`, {
          retryable: false,
          cause: error,
        });
      if (timeout?.aborted === true)
        throw new MasterError(
          'AGENT_MASTER_TIMEOUT',
          `${method} ${routePath}: no answer from the master within ${String(call.timeoutMs / 1000)} s`,
          { retryable: true, cause: error },
        );
      throw new MasterError(
        'AGENT_MASTER_UNREACHABLE',
        `${method} ${routePath}: cannot reach the master at ${master}: ${describeNetworkError(error)}`,
        { retryable: true, cause: error },
      );
    }
    const status = response.statusCode;
    if (status >= 200 && status < 300) return response;
    if (status >= 300 && status < 400) {
      await response.body.dump().catch(() => undefined);
      const location = response.headers.location;
      throw new MasterError(
        'AGENT_REDIRECT_REFUSED',
        `${method} ${routePath}: the master answered ${String(status)} (redirect${typeof location === 'string' ? ` to ${location}` : ''}); ` +
          'redirects are never followed, as they would carry the node token elsewhere — set the final master URL (e.g. https:// instead of http://)',
        { status, retryable: false },
      );
    }
    let text = '';
    try {
      text = await response.body.text();
    } catch {
      // The error status is what matters.
    }
    let code = `HTTP_${String(status)}`;
    let message = text.slice(0, 300).trim() || `HTTP ${String(status)}`;
    try {
      const envelope = JSON.parse(text) as { code?: unknown; message?: unknown };
      if (typeof envelope.code === 'string') code = envelope.code;
      if (typeof envelope.message === 'string') message = envelope.message;
    } catch {
      // Not JSON (a proxy's HTML page): keep the text.
    }
    throw new MasterError(code, `${method} ${routePath}: ${message} (${code})`, {
      status,
      retryable: retryableStatus(status),
    });
  };

  /** A JSON call: parses the `{code, message, data}` envelope and validates `data`. */
  const json = async <T>(
    method: 'GET' | 'POST' | 'PUT',
    routePath: string,
    call: CallOptions,
    schema?: Schema<T>,
    prepare?: (data: unknown) => unknown,
  ): Promise<T> => {
    const response = await send(method, routePath, call);
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw new MasterError(
        'AGENT_MASTER_UNREACHABLE',
        `${method} ${routePath}: the answer was cut off: ${describeNetworkError(error)}`,
        { retryable: true, cause: error },
      );
    }
    let envelope: { code?: unknown; data?: unknown };
    try {
      envelope = text === '' ? {} : (JSON.parse(text) as { code?: unknown; data?: unknown });
    } catch {
      throw new MasterError(
        'AGENT_PROTOCOL_ERROR',
        `${method} ${routePath}: the answer is not JSON (is the master URL right, or is a proxy answering?)`,
        { status: response.statusCode, retryable: true },
      );
    }
    if (schema === undefined) return undefined as T;
    const data = prepare === undefined ? envelope.data : prepare(envelope.data);
    const parsed = schema.safeParse(data);
    if (!parsed.success)
      throw new MasterError(
        'AGENT_PROTOCOL_ERROR',
        `${method} ${routePath}: unexpected answer from the master: ${parsed.error.issues
          .slice(0, 3)
          .map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`)
          .join('; ')}`,
        { status: response.statusCode, retryable: false },
      );
    return parsed.data;
  };

  const { heartbeat, poll, result, taskSpec, recordUpdate, artifactUpload, restoreSpec, restoreArtifact } =
    agentRoutes;

  return {
    masterUrl: master,
    heartbeat: (body, signal) =>
      json('POST', heartbeat.path, { body, signal, timeoutMs: JSON_TIMEOUT_MS }, agentHeartbeatSchema),

    async poll(waitSeconds, signal) {
      const wait = Math.max(0, Math.floor(waitSeconds));
      const data = await json(
        'POST',
        poll.path,
        {
          ...(wait > 0 ? { query: { wait: String(wait) } } : {}),
          body: {},
          signal,
          timeoutMs: wait * 1000 + POLL_GRACE_MS,
        },
        agentRoutes.poll.response,
        // A BackupX master omits `data` when it is null (SPEC §0.3).
        (value) => value ?? { command: null },
      );
      return data.command === null ? null : agentCommandSchema.parse(data.command);
    },

    result: (commandId, body, signal) =>
      json('POST', result.path, { params: { id: commandId }, body, signal, timeoutMs: JSON_TIMEOUT_MS }),

    taskSpec: (taskId, signal) =>
      json(
        'GET',
        taskSpec.path,
        { params: { id: taskId }, signal, timeoutMs: JSON_TIMEOUT_MS },
        agentTaskSpecSchema,
      ),

    recordUpdate: (recordId, body, signal) =>
      json('POST', recordUpdate.path, { params: { id: recordId }, body, signal, timeoutMs: JSON_TIMEOUT_MS }),

    async uploadArtifact(recordId, targetId, upload, signal) {
      await json('PUT', artifactUpload.path, {
        params: { id: recordId, targetId },
        rawBody: upload.body,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(upload.sizeBytes),
          [AGENT_OBJECT_KEY_HEADER]: upload.objectKey,
          [AGENT_SHA256_HEADER]: upload.sha256,
        },
        signal,
        timeoutMs: 0,
      });
    },

    repositoryLeaseAcquire: (body, signal) =>
      json(
        'POST',
        agentRoutes.repositoryLeaseAcquire.path,
        { body, signal, timeoutMs: JSON_TIMEOUT_MS },
        agentRepositoryLeaseSchema,
      ),

    repositoryLeaseRenew: (body, signal) =>
      json(
        'POST',
        agentRoutes.repositoryLeaseRenew.path,
        { body, signal, timeoutMs: JSON_TIMEOUT_MS },
        agentRepositoryLeaseSchema,
      ),

    repositoryLeaseRelease: (body, signal) =>
      json('POST', agentRoutes.repositoryLeaseRelease.path, { body, signal, timeoutMs: JSON_TIMEOUT_MS }),

    restoreSpec: (restoreId, signal) =>
      json(
        'GET',
        restoreSpec.path,
        { params: { id: restoreId }, signal, timeoutMs: JSON_TIMEOUT_MS },
        agentRestoreSpecSchema,
        // BackupX omits `storage.config` for relayed artifacts (SPEC §7.5).
        (value) => {
          if (value === null || typeof value !== 'object') return value;
          const spec = value as { storage?: Record<string, unknown> };
          if (spec.storage !== undefined && typeof spec.storage === 'object' && spec.storage.config == null)
            return { ...spec, storage: { ...spec.storage, config: {} } };
          return value;
        },
      ),

    async restoreArtifact(restoreId, signal) {
      const response = await send('GET', restoreArtifact.path, {
        params: { id: restoreId },
        signal,
        timeoutMs: 0,
        headers: { accept: 'application/octet-stream' },
      });
      return response.body;
    },

    restoreUpdate: (restoreId, body, signal) =>
      json('POST', agentRoutes.restoreUpdate.path, {
        params: { id: restoreId },
        body,
        signal,
        timeoutMs: JSON_TIMEOUT_MS,
      }),

    self: (signal) =>
      json('GET', agentRoutes.self.path, { signal, timeoutMs: JSON_TIMEOUT_MS }, agentRoutes.self.response),

    close: () => dispatcher.close(),
  };
};
