/**
 * File restore (SPEC §7.3, hardened): applies a chain of tar archives (a full, then its
 * differential) to a destination, all or nothing with respect to the archives' integrity.
 *
 * - Destination: `targetPath` (absolute) or the parent of the first source path.
 * - Every archive of the chain is extracted into a private staging directory created in the
 *   destination's parent (same filesystem), differential deletions applied there too. Only when
 *   every archive has been read to its end-of-archive marker are the staged entries moved into
 *   place (rename; a copy across mount points), then the deletions applied to the destination,
 *   then directory modes and mtimes (deepest first). A truncated or corrupt archive, or an unsafe
 *   entry anywhere in the chain, leaves the destination untouched.
 * - Refused (EngineError `RESTORE_UNSAFE_ENTRY`, naming the entry and why): absolute names, `..`
 *   components, entries whose path goes through a symlink of the archive, symlinks whose relative
 *   target leaves the restore root, hard links, devices, FIFOs, unknown types, unsafe deletion
 *   paths. Absolute symlink targets are kept as recorded (backups of real trees contain them);
 *   nothing is ever written through a symlink: files are created with O_EXCL|O_NOFOLLOW, and
 *   moving into place never descends into a symlink of the destination (it replaces it).
 * - Selective restore: an entry is kept iff its cleaned name equals a selected path or starts with
 *   `selected + "/"`; only deletions under selected paths apply.
 * - Modes (incl. setuid/setgid/sticky) and mtimes (pax sub-second precision) restored; ownership is not.
 *
 * The tar is parsed and written in a worker thread (restore-stager.ts, file-restore.worker.ts):
 * this module validates the request and streams the archives' bytes to it.
 */
import path from 'node:path';
import { finished } from 'node:stream';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { EngineError, describeError, isAbortError, throwIfAborted } from '../../errors.ts';
import type { SourceContext } from '../types.ts';
import { RESTORE_CANCELLED, RESTORE_CHUNK_BYTES, RESTORE_WINDOW_CHUNKS } from './file-restore.protocol.ts';
import type { RestoreCommand, RestoreReport } from './file-restore.protocol.ts';
import { cleanArchivePath } from './restore-stager.ts';
import type { FileRestoreResult } from './restore-stager.ts';

export { cleanArchivePath, isSelected } from './restore-stager.ts';
export type { FileRestoreResult } from './restore-stager.ts';

export interface FileRestoreOptions {
  /** The task's source paths; the default destination is the parent of the first one. */
  sourcePaths: readonly string[];
  /** Restore into this absolute directory instead. */
  targetPath?: string;
  /** Only these archive paths and their descendants. */
  selectedPaths?: readonly string[];
}

const WRITER_URL = new URL('./file-restore.worker.ts', import.meta.url);

const resolveDestination = (options: FileRestoreOptions): string => {
  const target = options.targetPath?.trim() ?? '';
  if (target !== '') {
    if (!path.isAbsolute(target))
      throw new EngineError(
        'RESTORE_TARGET_INVALID',
        'restore',
        `restore target path must be absolute: ${target}`,
      );
    return path.resolve(target);
  }
  const first = options.sourcePaths.map((p) => p.trim()).find((p) => p !== '');
  if (first === undefined)
    throw new EngineError('RESTORE_TARGET_INVALID', 'restore', 'no source path or target path to restore to');
  return path.dirname(path.resolve(first));
};

const cleanSelection = (selectedPaths: readonly string[]): string[] => {
  const selected: string[] = [];
  for (const raw of selectedPaths) {
    const wanted = raw.trim().replace(/^\/+/, '');
    if (wanted === '') continue;
    let segments: string[] | null;
    try {
      segments = cleanArchivePath(wanted);
    } catch {
      throw new EngineError('RESTORE_SELECTION_INVALID', 'restore', `invalid selected path: ${raw}`);
    }
    if (segments === null) return [];
    selected.push(segments.join('/'));
  }
  return selected;
};

/** The writer thread, seen as a few awaitable steps. */
class RestoreWriter {
  readonly #worker: Worker;
  readonly #control = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  readonly #exited: Promise<void>;
  #inFlight = 0;
  #failure: EngineError | null = null;
  #result: FileRestoreResult | null = null;
  #wake: (() => void) | null = null;
  #pending = Buffer.allocUnsafeSlow(RESTORE_CHUNK_BYTES);
  /** Buffers the writer gave back: a restore cycles through a few instead of allocating per chunk. */
  readonly #spare: Buffer<ArrayBuffer>[] = [];
  #pendingBytes = 0;
  #archivesDone = 0;
  /** Called when the writer fails, so the reader stops reading at once. */
  onFailure: () => void = () => undefined;

  constructor(destination: string, selected: string[], archiveCount: number, log: SourceContext['log']) {
    this.#worker = new Worker(WRITER_URL, {
      workerData: { destination, selected, archiveCount, control: this.#control.buffer },
    });
    this.#worker.on('message', (report: RestoreReport) => {
      switch (report.type) {
        case 'ack':
          this.#inFlight -= 1;
          this.#spare.push(Buffer.from(report.buffer));
          break;
        case 'archive-done':
          this.#archivesDone += 1;
          break;
        case 'log':
          log(report.level, report.message);
          return;
        case 'done':
          this.#result = report.result;
          break;
        case 'error':
          this.#fail(new EngineError(report.code, report.stage, report.message));
          break;
      }
      this.#notify();
    });
    this.#worker.on('error', (error) => {
      this.#fail(
        new EngineError('RESTORE_WRITE_FAILED', 'restore', `file restore failed: ${describeError(error)}`, {
          cause: error,
        }),
      );
    });
    this.#exited = new Promise<void>((resolve) => {
      this.#worker.once('exit', () => {
        if (this.#result === null)
          this.#fail(
            new EngineError(
              'RESTORE_WRITE_FAILED',
              'restore',
              'file restore failed: the writer thread stopped',
            ),
          );
        resolve();
      });
    });
  }

  get failure(): EngineError | null {
    return this.#failure;
  }

  #fail(error: EngineError): void {
    if (this.#failure === null) {
      this.#failure = error;
      this.onFailure();
    }
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async #until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      if (this.#failure !== null) throw this.#failure;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    if (this.#failure !== null) throw this.#failure;
  }

  #post(command: RestoreCommand, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(command, transfer);
  }

  begin(index: number): void {
    this.#post({ type: 'begin', index });
  }

  /**
   * Copies `chunk` into the outgoing buffer and sends it when full. Returns a promise only when
   * the writer is behind and the caller must wait for it (most chunks need no wait at all).
   */
  write(chunk: Buffer): Promise<void> | null {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(chunk.length - at, RESTORE_CHUNK_BYTES - this.#pendingBytes);
      chunk.copy(this.#pending, this.#pendingBytes, at, at + take);
      this.#pendingBytes += take;
      at += take;
      if (this.#pendingBytes === RESTORE_CHUNK_BYTES) {
        const buffer = this.#takePending();
        this.#post({ type: 'chunk', buffer, length: RESTORE_CHUNK_BYTES }, [buffer]);
        if (this.#inFlight > RESTORE_WINDOW_CHUNKS) {
          const rest = chunk.subarray(at);
          return this.#until(() => this.#inFlight <= RESTORE_WINDOW_CHUNKS).then(
            () => this.write(rest) ?? undefined,
          );
        }
      }
    }
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return null;
  }

  /** Detaches the full outgoing buffer (counted in flight) and starts the next one. */
  #takePending(): ArrayBuffer {
    const buffer = this.#pending.buffer;
    this.#pending = this.#spare.pop() ?? Buffer.allocUnsafeSlow(RESTORE_CHUNK_BYTES);
    this.#pendingBytes = 0;
    this.#inFlight += 1;
    return buffer;
  }

  async #send(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const length = this.#pendingBytes;
    const buffer = this.#takePending();
    this.#post({ type: 'chunk', buffer, length }, [buffer]);
    await this.#until(() => this.#inFlight <= RESTORE_WINDOW_CHUNKS);
  }

  /** The archive was read to its end: waits until the writer checked and staged all of it. */
  async end(): Promise<void> {
    await this.#send();
    const expected = this.#archivesDone + 1;
    this.#post({ type: 'end' });
    await this.#until(() => this.#archivesDone === expected);
  }

  async commit(): Promise<FileRestoreResult> {
    this.#post({ type: 'commit' });
    await this.#until(() => this.#result !== null);
    await this.#exited;
    return this.#result as unknown as FileRestoreResult;
  }

  /** The run was cancelled: the writer stops at its next entry or chunk, the reader at once. */
  cancel(): void {
    Atomics.store(this.#control, RESTORE_CANCELLED, 1);
    this.#fail(new EngineError('ENGINE_CANCELLED', 'restore', 'cancelled'));
  }

  /** Stops the writer; resolves once it removed its staging directory and ended. */
  async abort(): Promise<void> {
    Atomics.store(this.#control, RESTORE_CANCELLED, 1);
    this.#post({ type: 'abort' });
    await this.#exited;
  }
}

/**
 * Reads a stream chunk by chunk in flowing mode, pausing while `handle` waits. (An async iterator
 * would join whatever is buffered into one new buffer on every read: a copy for nothing.)
 */
const readChunks = (stream: Readable, handle: (chunk: Buffer) => Promise<void> | null): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    let failed = false;
    /** The wait of the last chunk: the stream may end while it is still being handed over. */
    let waiting: Promise<void> = Promise.resolve();
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      stream.off('data', onData);
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    const onData = (chunk: Buffer): void => {
      const wait = handle(chunk);
      if (wait === null) return;
      stream.pause();
      waiting = wait.then(() => {
        if (!failed) stream.resume();
      }, fail);
    };
    stream.on('data', onData);
    finished(stream, (error) => {
      if (error) fail(error);
      else
        void waiting.then(() => {
          if (!failed) resolve();
        });
    });
  });

/** Restores a chain of file archives; see the module comment. */
export const restoreFiles = async (
  ctx: Pick<SourceContext, 'signal' | 'log'>,
  archives: readonly Readable[],
  options: FileRestoreOptions,
): Promise<FileRestoreResult> => {
  let started = 0;
  // The archives may fail (checksum, decryption) before anything reads them: keep such an error
  // instead of letting it escape as an unhandled event.
  for (const archive of archives) archive.on('error', () => undefined);
  const destroyUnread = (): void => {
    for (const archive of archives.slice(Math.max(0, started - 1))) archive.destroy();
  };
  let destination: string;
  let selected: string[];
  try {
    throwIfAborted(ctx.signal, 'restore');
    destination = resolveDestination(options);
    if (archives.length === 0)
      throw new EngineError('RESTORE_SOURCE_INVALID', 'restore', 'nothing to restore: no archive');
    selected = cleanSelection(options.selectedPaths ?? []);
  } catch (error) {
    destroyUnread();
    throw error;
  }

  const writer = new RestoreWriter(destination, selected, archives.length, ctx.log);
  let reading: Readable | null = null;
  writer.onFailure = () => {
    reading?.destroy();
  };
  const onAbort = (): void => {
    writer.cancel();
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (const [index, archive] of archives.entries()) {
      started = index + 1;
      if (archive.errored !== null) throw archive.errored;
      reading = archive;
      writer.begin(index);
      await readChunks(archive, (chunk) => writer.write(chunk));
      reading = null;
      await writer.end();
    }
    const result = await writer.commit();
    ctx.log('info', result.summary);
    return result;
  } catch (error) {
    destroyUnread();
    // The writer's own failure says what went wrong; the read error it caused says less. Read it
    // before aborting: the abort stops the worker, which would otherwise count as its failure and
    // hide a read error (a checksum mismatch, a decryption failure) behind "the writer stopped".
    const writerFailure = writer.failure;
    await writer.abort();
    const cause = writerFailure ?? error;
    if (ctx.signal.aborted || isAbortError(cause))
      throw cause instanceof EngineError && cause.code === 'ENGINE_CANCELLED'
        ? cause
        : new EngineError('ENGINE_CANCELLED', 'restore', 'cancelled', { cause });
    if (cause instanceof EngineError) throw cause;
    if ((cause as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE')
      throw new EngineError(
        'RESTORE_ARCHIVE_CORRUPT',
        'restore',
        `archive ${started}/${archives.length} is not a complete tar: archive stream closed before its end`,
        { cause },
      );
    throw new EngineError('RESTORE_WRITE_FAILED', 'restore', `file restore failed: ${describeError(cause)}`, {
      cause,
    });
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
};
