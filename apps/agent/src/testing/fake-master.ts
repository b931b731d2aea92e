/**
 * A stand-in master for the agent's own tests: a real HTTP server on 127.0.0.1 speaking the agent
 * protocol (envelopes, token header, long polls, relayed uploads), recording what the agent sent.
 * It stands in for the real master only until the end-to-end tests run both (the real server
 * side is written in apps/server/src/modules/nodes); it checks what the agent sends, not what a
 * master does with it.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentCommand, AgentRestoreSpec, AgentTaskSpec } from '@backupx/contract';

export interface RecordedUpload {
  recordId: number;
  targetId: number;
  objectKey: string;
  sha256Header: string;
  contentLength: number;
  body: Buffer;
}

export interface FakeMasterOptions {
  token: string;
  /** false: answer polls at once whatever `wait` says (a BackupX master). */
  longPoll?: boolean;
}

type Reply =
  { status: number; body: unknown } | { status: number; raw: Buffer; headers?: Record<string, string> };

export interface FakeMaster {
  url: string;
  heartbeats: Record<string, unknown>[];
  polls: { wait: number }[];
  results: { commandId: number; body: Record<string, unknown> }[];
  recordUpdates: { recordId: number; body: Record<string, unknown> }[];
  restoreUpdates: { restoreId: number; body: Record<string, unknown> }[];
  uploads: RecordedUpload[];
  taskSpecs: Map<number, AgentTaskSpec>;
  restoreSpecs: Map<number, AgentRestoreSpec>;
  restoreArtifacts: Map<number, Buffer>;
  /** Queues a command for the next poll (wakes a held long poll). */
  enqueue(command: AgentCommand): void;
  /** Replaces the answer of a route for a while (e.g. 503 while "restarting"). */
  override: ((method: string, path: string) => Reply | null) | null;
  /** Resolves once `predicate` holds (checked on every request). */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Goes away like a master being restarted (connections refused) ... */
  goDown(): Promise<void>;
  /** ... and comes back on the same port. */
  comeBack(): Promise<void>;
  close(): Promise<void>;
}

const ok = (data: unknown): Reply => ({ status: 200, body: { code: 'OK', message: 'success', data } });
const fail = (status: number, code: string, message: string): Reply => ({ status, body: { code, message } });

const readBody = async (request: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

export const startFakeMaster = async (options: FakeMasterOptions): Promise<FakeMaster> => {
  const queue: AgentCommand[] = [];
  const pollWaiters = new Set<() => void>();
  const watchers = new Set<() => void>();
  const notify = () => {
    for (const watcher of [...watchers]) watcher();
  };

  const master: Omit<FakeMaster, 'url' | 'close' | 'enqueue' | 'waitFor' | 'goDown' | 'comeBack'> = {
    heartbeats: [],
    polls: [],
    results: [],
    recordUpdates: [],
    restoreUpdates: [],
    uploads: [],
    taskSpecs: new Map(),
    restoreSpecs: new Map(),
    restoreArtifacts: new Map(),
    override: null,
  };

  const json = (buffer: Buffer): Record<string, unknown> =>
    buffer.length === 0 ? {} : (JSON.parse(buffer.toString('utf8')) as Record<string, unknown>);

  const handle = async (request: IncomingMessage, url: URL): Promise<Reply> => {
    const method = request.method ?? 'GET';
    const path = url.pathname;
    const overridden = master.override?.(method, path) ?? null;
    if (overridden !== null) {
      await readBody(request);
      return overridden;
    }
    if (request.headers['x-agent-token'] !== options.token) {
      await readBody(request);
      return fail(401, 'NODE_INVALID_TOKEN', 'Invalid node token');
    }
    let match: RegExpExecArray | null;
    if (method === 'POST' && path === '/api/agent/heartbeat') {
      master.heartbeats.push(json(await readBody(request)));
      return ok({ status: 'ok', nodeId: 7, name: 'edge-1', masterVersion: '0.1.0', bandwidthLimit: '' });
    }
    if (method === 'POST' && path === '/api/agent/commands/poll') {
      await readBody(request);
      const wait = Number(url.searchParams.get('wait') ?? '0');
      master.polls.push({ wait });
      if (queue.length === 0 && options.longPoll !== false && wait > 0) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            pollWaiters.delete(done);
            request.off('close', done);
            resolve();
          };
          const timer = setTimeout(done, wait * 1000);
          pollWaiters.add(done);
          request.once('close', done);
        });
      }
      return ok({ command: queue.shift() ?? null });
    }
    if (method === 'POST' && (match = /^\/api\/agent\/commands\/(\d+)\/result$/.exec(path))) {
      master.results.push({ commandId: Number(match[1]), body: json(await readBody(request)) });
      return ok({ status: 'ok' });
    }
    if (method === 'GET' && (match = /^\/api\/agent\/tasks\/(\d+)$/.exec(path))) {
      const spec = master.taskSpecs.get(Number(match[1]));
      return spec === undefined ? fail(404, 'BACKUP_TASK_NOT_FOUND', 'no such task') : ok(spec);
    }
    if (method === 'PUT' && (match = /^\/api\/agent\/records\/(\d+)\/artifacts\/(\d+)$/.exec(path))) {
      const lengthHeader = request.headers['content-length'];
      if (lengthHeader === undefined) {
        await readBody(request);
        return fail(411, 'CONTENT_LENGTH_REQUIRED', 'Send Content-Length');
      }
      const body = await readBody(request);
      const upload: RecordedUpload = {
        recordId: Number(match[1]),
        targetId: Number(match[2]),
        objectKey: String(request.headers['x-backupx-object-key'] ?? ''),
        sha256Header: String(request.headers['x-backupx-sha256'] ?? ''),
        contentLength: Number(lengthHeader),
        body,
      };
      if (createHash('sha256').update(body).digest('hex') !== upload.sha256Header)
        return fail(400, 'AGENT_ARTIFACT_INVALID', 'sha256 mismatch');
      master.uploads.push(upload);
      return ok({ status: 'ok' });
    }
    if (method === 'POST' && (match = /^\/api\/agent\/records\/(\d+)$/.exec(path))) {
      master.recordUpdates.push({ recordId: Number(match[1]), body: json(await readBody(request)) });
      return ok({ status: 'ok' });
    }
    if (method === 'GET' && (match = /^\/api\/agent\/restores\/(\d+)\/spec$/.exec(path))) {
      const spec = master.restoreSpecs.get(Number(match[1]));
      return spec === undefined ? fail(404, 'RESTORE_RECORD_NOT_FOUND', 'no such restore') : ok(spec);
    }
    if (method === 'GET' && (match = /^\/api\/agent\/restores\/(\d+)\/artifact$/.exec(path))) {
      const artifact = master.restoreArtifacts.get(Number(match[1]));
      return artifact === undefined
        ? fail(404, 'RESTORE_SOURCE_INVALID', 'no artifact')
        : { status: 200, raw: artifact, headers: { 'content-type': 'application/octet-stream' } };
    }
    if (method === 'POST' && (match = /^\/api\/agent\/restores\/(\d+)$/.exec(path))) {
      master.restoreUpdates.push({ restoreId: Number(match[1]), body: json(await readBody(request)) });
      return ok({ status: 'ok' });
    }
    await readBody(request);
    return fail(404, 'NOT_FOUND', `no route ${method} ${path}`);
  };

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    handle(request, url)
      .then((reply) => {
        if ('raw' in reply) {
          response.writeHead(reply.status, { 'content-length': String(reply.raw.length), ...reply.headers });
          response.end(reply.raw);
        } else {
          const text = JSON.stringify(reply.body);
          response.writeHead(reply.status, { 'content-type': 'application/json' });
          response.end(text);
        }
      })
      .catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ code: 'INTERNAL_ERROR', message: String(error) }));
      })
      .finally(notify);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return Object.assign(master, {
    url: `http://127.0.0.1:${String(port)}`,
    enqueue(command: AgentCommand) {
      queue.push(command);
      for (const waiter of [...pollWaiters]) waiter();
    },
    waitFor(predicate: () => boolean, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        if (predicate()) {
          resolve();
          return;
        }
        const check = () => {
          if (!predicate()) return;
          clearTimeout(timer);
          clearInterval(poll);
          watchers.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          clearInterval(poll);
          reject(new Error('timed out waiting for the agent'));
        }, timeoutMs);
        // Requests notify; the interval covers conditions changed by the test itself.
        const poll = setInterval(check, 50);
        watchers.add(check);
      });
    },
    goDown() {
      for (const waiter of [...pollWaiters]) waiter();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
    comeBack() {
      return new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close() {
      if (!server.listening) return Promise.resolve();
      for (const waiter of [...pollWaiters]) waiter();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
};
