/**
 * File source (SPEC §3.12 full archive, §3.13 differential archive), streamed: an uncompressed
 * POSIX tar (ustar, pax records for long/unicode names, long link targets and sub-second mtimes)
 * produced while it is read, with bounded memory for any file size or count.
 *
 * - Entries are named relative to each source's parent (`/var/www` → `www/...`); a source directory
 *   itself is not written; a single-file source is written under its base name. A source that is a
 *   symlink is followed (the user named it); symlinks inside are kept as symlinks.
 * - Modes (incl. setuid/setgid/sticky), uid/gid and mtimes (ns precision in pax `mtime`) recorded.
 * - Unreadable entries, FIFOs, sockets and devices: `[WARN] cannot read <path>: <reason>`, skipped.
 * - A file is copied exactly the size it had when opened (a grown file is cut, a shrunk one is
 *   padded with zeros and warned).
 * - Differential (baseline non-empty): only entries changed since the baseline, then
 *   `.backupx/deletions.json` (mode 0600, sorted JSON array) as the last entry. Its manifest still
 *   lists the whole tree a restore of full + differential yields (unchanged entries as in the
 *   baseline), so a deep verification drill can compare that restore with it.
 * - Manifest `h`: SHA-256 of each regular file's archived bytes, computed as they are read.
 *
 * The walk itself runs in a worker thread (tar-walker.ts, file-walker.worker.ts); this module
 * checks the sources, starts it and turns its buffers into the artifact stream. A consumer that
 * copies what it reads (a compressor) hands the buffers back through `recycle`, so a backup cycles
 * through a few dozen buffers instead of allocating one per MiB.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { MessageChannel, Worker } from 'node:worker_threads';
import { EngineError, throwIfAborted, describeError } from '../../errors.ts';
import { compactTimestamp, sanitizeTaskNameA } from '../../naming.ts';
import type { Manifest, SourceArtifact, SourceCompletion, SourceContext } from '../types.ts';
import { CANCELLED, CONSUMED, CONTROL_SLOTS } from './file-walker.protocol.ts';
import type { WalkerMessage } from './file-walker.protocol.ts';
import { DELETIONS_ENTRY, TAR_CHUNK_BYTES } from './tar-walker.ts';
import type { TarWalkOptions } from './tar-walker.ts';

export { DELETIONS_ENTRY };

export interface FileBackupOptions {
  taskName: string;
  sourcePaths: readonly string[];
  excludePatterns?: readonly string[];
  /** Manifest of the last full backup; non-empty → differential archive. */
  baseline?: Manifest;
}

/** `<sanitizeA(name)>_<YYYYMMDDTHHMMSS>.tar` (SPEC §3.4). */
export const fileArtifactName = (taskName: string, now: Date): string =>
  `${sanitizeTaskNameA(taskName)}_${compactTimestamp(now)}.tar`;

const WALKER_URL = new URL('./file-walker.worker.ts', import.meta.url);

/** Streams a tar of the source paths; see the module comment. */
export const backupFiles = async (
  ctx: SourceContext,
  options: FileBackupOptions,
): Promise<SourceArtifact> => {
  throwIfAborted(ctx.signal, 'source');
  const sources = [...new Set(options.sourcePaths.map((p) => p.trim()).filter((p) => p !== ''))].map((p) =>
    path.resolve(p),
  );
  if (sources.length === 0)
    throw new EngineError('SOURCE_PATH_MISSING', 'source', 'no source path configured');
  for (const source of sources) {
    try {
      await stat(source);
    } catch (error) {
      throw new EngineError(
        'SOURCE_PATH_MISSING',
        'source',
        `source path ${source} does not exist or cannot be accessed (${describeError(error)})`,
        { cause: error },
      );
    }
  }
  const walkOptions: TarWalkOptions = {
    sources,
    excludePatterns: [...(options.excludePatterns ?? [])],
    baseline: options.baseline ?? null,
    nowMs: ctx.now.getTime(),
  };
  const controlBuffer = new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT);
  const control = new Int32Array(controlBuffer);
  const recycling = new MessageChannel();
  const worker = new Worker(WALKER_URL, {
    workerData: { options: walkOptions, control: controlBuffer, recycled: recycling.port2 },
    transferList: [recycling.port2],
  });

  /** Stops the walker: it notices at its next chunk or entry; terminate covers a stuck read. */
  const stopWalker = (): void => {
    Atomics.store(control, CANCELLED, 1);
    Atomics.notify(control, CONSUMED);
    void worker.terminate();
  };

  const queue: Buffer[] = [];
  let walked = false;
  let wantsData = false;
  /** Buffers handed out and not yet back: only those may be recycled, and each only once. */
  const handedOut = new WeakSet<ArrayBuffer>();
  const recycle = (chunk: Buffer): void => {
    const buffer = chunk.buffer as ArrayBuffer;
    if (walked || !handedOut.has(buffer) || buffer.byteLength !== TAR_CHUNK_BYTES) return;
    handedOut.delete(buffer);
    recycling.port1.postMessage(buffer, [buffer]);
  };
  const stream = new Readable({
    // One chunk at a time: the walker's window is the read-ahead.
    highWaterMark: 1,
    read() {
      wantsData = true;
      pump();
    },
    destroy(error, callback) {
      if (!walked) stopWalker();
      callback(error);
    },
  });
  const pump = (): void => {
    while (wantsData && queue.length > 0) {
      const chunk = queue.shift() as Buffer;
      Atomics.add(control, CONSUMED, 1);
      Atomics.notify(control, CONSUMED);
      wantsData = stream.push(chunk);
    }
    if (walked && queue.length === 0 && wantsData) {
      wantsData = false;
      stream.push(null);
    }
  };

  let settle: { resolve: (completion: SourceCompletion) => void; reject: (error: Error) => void };
  const walkedOut = new Promise<SourceCompletion>((resolve, reject) => {
    settle = { resolve, reject };
  });
  walkedOut.catch(() => undefined);
  const fail = (error: EngineError): void => {
    settle.reject(error);
    stream.destroy(error);
  };

  worker.on('message', (message: WalkerMessage) => {
    switch (message.type) {
      case 'chunk':
        handedOut.add(message.buffer);
        queue.push(Buffer.from(message.buffer, 0, message.length));
        pump();
        return;
      case 'log':
        ctx.log(message.level, message.message);
        return;
      case 'done':
        walked = true;
        settle.resolve(message.completion);
        pump();
        return;
      case 'error':
        walked = true;
        fail(new EngineError(message.code, message.stage, message.message));
    }
  });
  worker.on('error', (error) => {
    walked = true;
    fail(
      new EngineError('SOURCE_READ_FAILED', 'source', `file backup failed: ${describeError(error)}`, {
        cause: error,
      }),
    );
  });
  worker.on('exit', () => {
    if (!walked) {
      walked = true;
      fail(
        ctx.signal.aborted
          ? new EngineError('ENGINE_CANCELLED', 'source', 'cancelled', { cause: ctx.signal.reason })
          : new EngineError('SOURCE_READ_FAILED', 'source', 'file backup failed: the walker thread stopped'),
      );
    }
  });

  const onAbort = (): void => {
    fail(new EngineError('ENGINE_CANCELLED', 'source', 'cancelled', { cause: ctx.signal.reason }));
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });

  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
    stream.once('close', () => reject(new Error('archive stream closed before it was read to the end')));
  });
  ended.catch(() => undefined);

  const completion = (async (): Promise<SourceCompletion> => {
    try {
      const result = await walkedOut;
      await ended;
      return result;
    } catch (error) {
      if (error instanceof EngineError) throw error;
      if (ctx.signal.aborted)
        throw new EngineError('ENGINE_CANCELLED', 'source', 'cancelled', { cause: error });
      throw new EngineError('SOURCE_READ_FAILED', 'source', `file backup failed: ${describeError(error)}`, {
        cause: error,
      });
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  })();
  completion.catch(() => undefined);

  worker.once('exit', () => recycling.port1.close());
  return { fileName: fileArtifactName(options.taskName, ctx.now), stream, completion, recycle };
};
