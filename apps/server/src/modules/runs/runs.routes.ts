import { apiRoutes, type LogEvent } from '@backupx/contract';
import type { FastifyReply } from 'fastify';
import type { RouteRegistry } from '../../http/route-registry.ts';
import { openSse } from '../../http/sse.ts';
import type { LogHub } from './log-hub.ts';
import type { RunsService } from './runs.service.ts';

const HEARTBEAT_MS = 25_000;
const POLL_MS = 2_000;

/** RFC 6266 filename parameters: an ASCII fallback and the UTF-8 name. */
const contentDisposition = (fileName: string): string => {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
};

/**
 * Streams a record's log: replays what happened so far, then live events until the `completed`
 * event. A record this master does not run (finished, or running on another master) is replayed
 * from the database, and a running one is polled until it ends.
 */
export const streamLog = async (
  reply: FastifyReply,
  hub: LogHub,
  recordId: number,
  loadRecord: () => Promise<{
    status: string;
    logContent: string;
    startedAt: string;
    completedAt: string | null;
  }>,
): Promise<void> => {
  const load = async () => {
    const record = await loadRecord();
    return { ...record, timestamp: record.completedAt ?? record.startedAt };
  };
  const sse = openSse(reply);
  const heartbeat = setInterval(
    () => sse.comment(`heartbeat ${String(Math.floor(Date.now() / 1000))}`),
    HEARTBEAT_MS,
  );
  heartbeat.unref();
  try {
    if (hub.isLive(recordId) || hub.snapshot(recordId).length > 0) {
      const state = { done: false };
      const unsubscribe = hub.subscribe(recordId, (event) => {
        sse.send('log', event);
        if (event.completed) state.done = true;
      });
      if (!state.done) {
        await Promise.race([
          sse.closed,
          new Promise<void>((resolve) => {
            const timer = setInterval(() => {
              if (!hub.isLive(recordId)) {
                clearInterval(timer);
                resolve();
              }
            }, 250);
            void sse.closed.then(() => clearInterval(timer));
          }),
        ]);
      }
      unsubscribe();
      return;
    }
    // Not in this master's hub: replay the stored log, then follow the status.
    let record = await load();
    const lines = record.logContent === '' ? [] : record.logContent.split('\n');
    let sequence = 0;
    const emit = (event: Omit<LogEvent, 'recordId' | 'sequence'>) => {
      sequence += 1;
      sse.send('log', { recordId, sequence, ...event });
    };
    for (const line of lines)
      emit({
        level: 'info',
        message: line,
        timestamp: record.timestamp,
        completed: false,
        status: record.status,
      });
    while (record.status === 'running') {
      const closed = await Promise.race([
        sse.closed.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), POLL_MS).unref()),
      ]);
      if (closed) return;
      record = await load();
    }
    emit({
      level: 'info',
      message: 'stream completed',
      timestamp: record.timestamp,
      completed: true,
      status: record.status,
    });
  } finally {
    clearInterval(heartbeat);
    sse.close();
  }
};

export const registerRunRoutes = (
  registry: RouteRegistry,
  services: { runs: RunsService; backupHub: LogHub; restoreHub: LogHub },
) => {
  const { runs } = services;
  const records = apiRoutes.records;
  const restores = apiRoutes.restores;

  registry.add(records.runTask, ({ actor, params }) => runs.runTask(actor, params.id));
  registry.add(records.runBatch, ({ actor, body }) => runs.runBatch(actor, body.ids));
  registry.add(records.list, async ({ query, reply }) => {
    const { items, total } = await runs.list(query);
    void reply.header('X-Total-Count', String(total));
    return items;
  });
  registry.add(records.get, ({ params }) => runs.get(params.id));
  registry.add(records.logStream, async ({ params, reply }) => {
    await runs.get(params.id); // 404 before the stream opens
    await streamLog(reply, services.backupHub, params.id, () => runs.get(params.id));
    return reply;
  });
  registry.add(records.download, async ({ params, reply }) => {
    const artifact = await runs.download(params.id);
    artifact.stream.once('close', () => void artifact.close());
    void reply
      .header('Content-Type', 'application/octet-stream')
      .header('Content-Disposition', contentDisposition(artifact.fileName))
      .header('Content-Length', String(artifact.sizeBytes))
      .header('Cache-Control', 'no-store');
    return artifact.stream;
  });
  registry.add(records.contents, ({ params }) => runs.contents(params.id));
  registry.add(records.lock, ({ actor, params, body }) => runs.lock(actor, params.id, body.locked));
  registry.add(records.delete, async ({ actor, params }) => {
    await runs.delete(actor, params.id);
    return { deleted: true as const };
  });
  registry.add(records.batchDelete, async ({ actor, body }) => ({
    deleted: await runs.batchDelete(actor, body.ids),
  }));

  registry.add(restores.start, ({ actor, params, body }) => runs.startRestore(actor, params.id, body ?? {}));
  registry.add(restores.list, async ({ query, reply }) => {
    const { items, total } = await runs.listRestores(query);
    void reply.header('X-Total-Count', String(total));
    return items;
  });
  registry.add(restores.get, ({ params }) => runs.getRestore(params.id));
  registry.add(restores.logStream, async ({ params, reply }) => {
    await runs.getRestore(params.id);
    await streamLog(reply, services.restoreHub, params.id, () => runs.getRestore(params.id));
    return reply;
  });
};
