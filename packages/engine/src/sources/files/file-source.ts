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
 *   `.backupx/deletions.json` (mode 0600, sorted JSON array) as the last entry; no manifest.
 */
import { constants } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { lstat, open, readdir, readlink, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Writable } from 'node:stream';
import tar from 'tar-stream';
import { EngineError, isAbortError, throwIfAborted } from '../../errors.ts';
import { compactTimestamp, sanitizeTaskNameA } from '../../naming.ts';
import type { Manifest, ManifestEntry, SourceArtifact, SourceCompletion, SourceContext } from '../types.ts';
import { compileExcludes, isExcluded } from './glob.ts';
import type { ExcludePattern } from './glob.ts';
import { changedSince, deletedPaths, indexManifest } from './manifest.ts';
import type { ManifestIndex } from './manifest.ts';

/** The special entry of a differential archive listing deleted paths. */
export const DELETIONS_ENTRY = '.backupx/deletions.json';

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

const READ_CHUNK = 1024 * 1024;
/** How far the producer may run ahead of the reader (headers of empty entries are not throttled by tar-stream). */
const MAX_AHEAD_BYTES = 4 * 1024 * 1024;
/** Files up to this size are read ahead of the archiver (see walkDirectory). */
const SMALL_FILE_BYTES = 256 * 1024;
/** Bytes of read-ahead small files in memory at most, across the whole walk. */
const PREFETCH_BUDGET_BYTES = 16 * 1024 * 1024;
/** Directory children stat'ed (and small ones read) ahead of the one being archived. */
const LOOKAHEAD_ENTRIES = 32;

type Prefetched =
  | { kind: 'data'; st: BigIntStats; data: Buffer; shortBy: number; reserved: number }
  | { kind: 'special'; st: BigIntStats; reserved: number }
  | { kind: 'grown'; reserved: number }
  | { kind: 'error'; reason: string; reserved: number };

type PreparedChild =
  | { kind: 'excluded' }
  | { kind: 'unreadable'; reason: string }
  | { kind: 'stat'; stat: BigIntStats }
  | { kind: 'prefetched'; stat: BigIntStats; result: Prefetched };
const PROGRESS_EVERY_FILES = 100;
const NS_PER_S = 1_000_000_000n;

const reasonOf = (error: unknown): string => {
  const errno = error as NodeJS.ErrnoException;
  if (typeof errno.code === 'string') return `${errno.code}: ${errno.message}`;
  return error instanceof Error ? error.message : String(error);
};

const joinRel = (parent: string, name: string): string => (parent === '' ? name : `${parent}/${name}`);

const specialKind = (st: BigIntStats): string => {
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'unknown file type';
};

/** Tar header time fields for an mtime in ns: whole seconds in the header, the exact value in pax. */
const timeFields = (mtimeNs: bigint): { mtime: Date; pax?: Record<string, string> } => {
  const seconds = mtimeNs / NS_PER_S;
  let fraction = mtimeNs % NS_PER_S;
  let wholeSeconds = seconds;
  if (fraction < 0n) {
    fraction += NS_PER_S;
    wholeSeconds -= 1n;
  }
  const mtime = new Date(Number(wholeSeconds) * 1000);
  if (fraction === 0n) return { mtime };
  return { mtime, pax: { mtime: `${wholeSeconds}.${fraction.toString().padStart(9, '0')}` } };
};

interface Counters {
  entries: number;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  warnings: number;
  unchanged: number;
}

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
        `source path ${source} does not exist or cannot be accessed (${reasonOf(error)})`,
        { cause: error },
      );
    }
  }
  const patterns = compileExcludes(options.excludePatterns ?? []);
  const baseline: ManifestIndex | null =
    options.baseline !== undefined && options.baseline.entries.length > 0
      ? indexManifest(options.baseline)
      : null;
  const fileName = fileArtifactName(options.taskName, ctx.now);

  const pack = tar.pack();
  type PackHeader = Parameters<typeof pack.entry>[0];
  let produced = 0;
  let consumed = 0;
  let packClosed = false;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const waiter of waiters) waiter();
    waiters.clear();
  };
  pack.on('close', () => {
    packClosed = true;
    wake();
  });

  async function* pull(): AsyncGenerator<Buffer> {
    for await (const item of pack) {
      const chunk = item as Buffer;
      consumed += chunk.length;
      wake();
      yield chunk;
    }
  }
  const stream = Readable.from(pull(), { objectMode: false, highWaterMark: 256 * 1024 });

  const onAbort = (): void => {
    pack.destroy(new EngineError('ENGINE_CANCELLED', 'source', 'cancelled', { cause: ctx.signal.reason }));
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });

  const throttle = async (): Promise<void> => {
    while (produced - consumed > MAX_AHEAD_BYTES) {
      if (packClosed) throw new Error('archive stream closed');
      await new Promise<void>((resolve) => waiters.add(resolve));
    }
  };

  /** Adds one entry and waits until tar-stream has taken it; `data` streams a file's bytes. */
  const addEntry = async (
    header: PackHeader & { pax?: Record<string, string> },
    data?: (sink: Writable) => Promise<void>,
  ): Promise<void> => {
    await throttle();
    throwIfAborted(ctx.signal, 'source');
    produced += 512 + (header.size ?? 0);
    let sinkError: unknown = null;
    const done = new Promise<void>((resolve, reject) => {
      const sink = pack.entry(header, (error) => {
        if (error !== null && error !== undefined) reject(error);
        else resolve();
      }) as unknown as Writable;
      if (data === undefined) return;
      data(sink).then(
        () => sink.end(),
        (error: unknown) => {
          sinkError = error;
          sink.destroy(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
    try {
      await done;
    } catch (error) {
      throw sinkError ?? error;
    }
  };

  const waitDrain = (sink: Writable): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        sink.off('drain', onDrain);
        sink.off('close', onClose);
      };
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(new Error('archive stream closed'));
      };
      sink.on('drain', onDrain);
      sink.on('close', onClose);
    });

  const counters: Counters = {
    entries: 0,
    files: 0,
    dirs: 0,
    symlinks: 0,
    bytes: 0,
    warnings: 0,
    unchanged: 0,
  };
  const manifest: ManifestEntry[] = [];
  const seen = new Set<string>();

  const warn = (where: string, reason: string): void => {
    counters.warnings += 1;
    ctx.log('warn', `[WARN] cannot read ${where}: ${reason}`);
  };

  /** Differential: keep the entry only when it changed since the baseline. Full: record it. */
  const shouldWrite = (entry: ManifestEntry): boolean => {
    if (baseline === null) {
      manifest.push(entry);
      return true;
    }
    if (changedSince(baseline, entry)) return true;
    counters.unchanged += 1;
    return false;
  };

  const baseHeader = (st: BigIntStats): { mode: number; uid: number; gid: number } => ({
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
  });

  const addDirectory = async (rel: string, st: BigIntStats): Promise<void> => {
    const entry: ManifestEntry = { p: rel, s: 0, m: Number(st.mtimeNs), o: Number(st.mode) & 0o777, d: true };
    if (!shouldWrite(entry)) return;
    await addEntry({
      name: `${rel}/`,
      type: 'directory',
      size: 0,
      ...baseHeader(st),
      ...timeFields(st.mtimeNs),
    });
    counters.entries += 1;
    counters.dirs += 1;
    ctx.log('info', `[DIR] ${rel}`);
  };

  const addSymlink = async (abs: string, rel: string, st: BigIntStats): Promise<void> => {
    let target: string;
    try {
      target = await readlink(abs);
    } catch (error) {
      warn(abs, reasonOf(error));
      return;
    }
    const entry: ManifestEntry = {
      p: rel,
      s: 0,
      m: Number(st.mtimeNs),
      o: Number(st.mode) & 0o777,
      l: target,
    };
    if (!shouldWrite(entry)) return;
    await addEntry({
      name: rel,
      type: 'symlink',
      linkname: target,
      size: 0,
      ...baseHeader(st),
      ...timeFields(st.mtimeNs),
    });
    counters.entries += 1;
    counters.symlinks += 1;
  };

  const copyExactly = async (
    handle: FileHandle,
    size: number,
    abs: string,
    sink: Writable,
  ): Promise<void> => {
    let position = 0;
    // Keep the next read in flight while the current chunk is written, so the disk and the
    // pipeline work at the same time instead of taking turns.
    const readAt = (offset: number) => {
      const want = Math.min(READ_CHUNK, size - offset);
      const buffer = Buffer.allocUnsafe(want);
      return handle.read(buffer, 0, want, offset).then(({ bytesRead }) => buffer.subarray(0, bytesRead));
    };
    let pending: Promise<Buffer> | null = size > 0 ? readAt(0) : null;
    while (pending !== null) {
      throwIfAborted(ctx.signal, 'source');
      const chunk = await pending;
      pending = null;
      if (chunk.length === 0) break;
      position += chunk.length;
      if (position < size) pending = readAt(position);
      if (!sink.write(chunk)) await waitDrain(sink);
    }
    if (position < size) {
      counters.warnings += 1;
      ctx.log('warn', `[WARN] ${abs} shrank by ${size - position} bytes while being read; padded with zeros`);
      while (position < size) {
        const want = Math.min(READ_CHUNK, size - position);
        position += want;
        if (!sink.write(Buffer.alloc(want))) await waitDrain(sink);
      }
    }
  };

  const addFile = async (abs: string, rel: string, follow: boolean): Promise<void> => {
    let handle: FileHandle;
    try {
      // O_NONBLOCK: never hang on a FIFO swapped in after lstat; O_NOFOLLOW: never follow a swapped-in symlink.
      handle = await open(
        abs,
        constants.O_RDONLY | constants.O_NONBLOCK | (follow ? 0 : constants.O_NOFOLLOW),
      );
    } catch (error) {
      warn(abs, reasonOf(error));
      return;
    }
    try {
      const st = await handle.stat({ bigint: true });
      if (!st.isFile()) {
        warn(abs, `not a regular file, directory or symlink (${specialKind(st)})`);
        return;
      }
      const size = Number(st.size);
      const entry: ManifestEntry = { p: rel, s: size, m: Number(st.mtimeNs), o: Number(st.mode) & 0o777 };
      if (!shouldWrite(entry)) return;
      await addEntry(
        { name: rel, type: 'file', size, ...baseHeader(st), ...timeFields(st.mtimeNs) },
        (sink) => copyExactly(handle, size, abs, sink),
      );
      counters.entries += 1;
      counters.files += 1;
      counters.bytes += size;
      if (counters.files % PROGRESS_EVERY_FILES === 0)
        ctx.log('info', `[PROGRESS] ${counters.files} files, ${counters.bytes} bytes archived`);
    } finally {
      await handle.close();
    }
  };

  /** Baseline paths below a directory we could not list are not "deleted": we could not look. */
  const markSubtreeSeen = (rel: string): void => {
    if (baseline === null) return;
    const prefix = `${rel}/`;
    for (const key of baseline.keys()) if (key.startsWith(prefix)) seen.add(key);
  };

  /**
   * Small files are read ahead (open, fstat, read, close) while earlier entries are archived:
   * done one after another, those round trips to the thread pool leave the pipeline idle. The
   * read-ahead is bounded by PREFETCH_BUDGET_BYTES across the whole walk; entries are still
   * written in sorted order, with the same checks as addFile.
   */
  let prefetchBudget = PREFETCH_BUDGET_BYTES;
  const readSmallFile = async (abs: string, expectedSize: number): Promise<Prefetched> => {
    prefetchBudget -= expectedSize;
    let handle: FileHandle;
    try {
      handle = await open(abs, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (error) {
      return { kind: 'error', reason: reasonOf(error), reserved: expectedSize };
    }
    try {
      const st = await handle.stat({ bigint: true });
      if (!st.isFile()) return { kind: 'special', st, reserved: expectedSize };
      const size = Number(st.size);
      // Grown past the small-file size since lstat: stream it like any large file instead.
      if (size > SMALL_FILE_BYTES) return { kind: 'grown', reserved: expectedSize };
      const data = Buffer.allocUnsafe(size);
      let position = 0;
      while (position < size) {
        const { bytesRead } = await handle.read(data, position, size - position, position);
        if (bytesRead === 0) break;
        position += bytesRead;
      }
      if (position < size) data.fill(0, position);
      return { kind: 'data', st, data, shortBy: size - position, reserved: expectedSize };
    } catch (error) {
      return { kind: 'error', reason: reasonOf(error), reserved: expectedSize };
    } finally {
      await handle.close().catch(() => undefined);
    }
  };

  const addPrefetchedFile = async (abs: string, rel: string, result: Prefetched): Promise<void> => {
    prefetchBudget += result.reserved;
    switch (result.kind) {
      case 'error':
        warn(abs, result.reason);
        return;
      case 'special':
        warn(abs, `not a regular file, directory or symlink (${specialKind(result.st)})`);
        return;
      case 'grown':
        await addFile(abs, rel, false);
        return;
      case 'data':
        break;
    }
    const { st, data } = result;
    const size = data.length;
    const entry: ManifestEntry = { p: rel, s: size, m: Number(st.mtimeNs), o: Number(st.mode) & 0o777 };
    if (!shouldWrite(entry)) return;
    if (result.shortBy > 0) {
      counters.warnings += 1;
      ctx.log('warn', `[WARN] ${abs} shrank by ${result.shortBy} bytes while being read; padded with zeros`);
    }
    await addEntry(
      { name: rel, type: 'file', size, ...baseHeader(st), ...timeFields(st.mtimeNs) },
      async (sink) => {
        if (!sink.write(data)) await waitDrain(sink);
      },
    );
    counters.entries += 1;
    counters.files += 1;
    counters.bytes += size;
    if (counters.files % PROGRESS_EVERY_FILES === 0)
      ctx.log('info', `[PROGRESS] ${counters.files} files, ${counters.bytes} bytes archived`);
  };

  const walkDirectory = async (abs: string, rel: string, st: BigIntStats | null): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(abs);
    } catch (error) {
      warn(abs, reasonOf(error));
      markSubtreeSeen(rel);
      return;
    }
    names.sort();
    if (st !== null) await addDirectory(rel, st);
    // lstat (and, for small files, read) a window of children ahead of the one being archived.
    const prepare = async (name: string): Promise<PreparedChild> => {
      const childAbs = path.join(abs, name);
      const childRel = joinRel(rel, name);
      let childStat: BigIntStats;
      try {
        childStat = await lstat(childAbs, { bigint: true });
      } catch (error) {
        return { kind: 'unreadable', reason: reasonOf(error) };
      }
      const isDir = childStat.isDirectory();
      if (isExcluded(childRel, name, isDir, patterns)) return { kind: 'excluded' };
      const size = Number(childStat.size);
      if (
        childStat.isFile() &&
        size <= SMALL_FILE_BYTES &&
        size <= prefetchBudget &&
        (baseline === null ||
          changedSince(baseline, {
            p: childRel,
            s: size,
            m: Number(childStat.mtimeNs),
            o: Number(childStat.mode) & 0o777,
          }))
      ) {
        return { kind: 'prefetched', stat: childStat, result: await readSmallFile(childAbs, size) };
      }
      return { kind: 'stat', stat: childStat };
    };
    const ahead = new Map<number, Promise<PreparedChild>>();
    for (const [index, name] of names.entries()) {
      throwIfAborted(ctx.signal, 'source');
      for (let next = index; next < Math.min(names.length, index + LOOKAHEAD_ENTRIES); next += 1) {
        if (!ahead.has(next)) ahead.set(next, prepare(names[next] ?? ''));
      }
      const child = await (ahead.get(index) as Promise<PreparedChild>);
      ahead.delete(index);
      const childAbs = path.join(abs, name);
      const childRel = joinRel(rel, name);
      if (child.kind === 'excluded') continue;
      if (child.kind === 'unreadable') {
        warn(childAbs, child.reason);
        continue;
      }
      const childStat = child.stat;
      if (childStat.isDirectory()) {
        seen.add(childRel);
        await walkDirectory(childAbs, childRel, childStat);
      } else if (childStat.isSymbolicLink()) {
        seen.add(childRel);
        await addSymlink(childAbs, childRel, childStat);
      } else if (childStat.isFile()) {
        seen.add(childRel);
        if (child.kind === 'prefetched') await addPrefetchedFile(childAbs, childRel, child.result);
        else await addFile(childAbs, childRel, false);
      } else {
        warn(childAbs, `not a regular file, directory or symlink (${specialKind(childStat)})`);
      }
    }
  };

  const walkSource = async (source: string, excludes: readonly ExcludePattern[]): Promise<void> => {
    const base = path.basename(source);
    let st: BigIntStats;
    try {
      st = await stat(source, { bigint: true });
    } catch (error) {
      warn(source, reasonOf(error));
      return;
    }
    if (base !== '' && isExcluded(base, base, st.isDirectory(), excludes)) {
      ctx.log('warn', `[WARN] source ${source} matches an exclude pattern; skipped`);
      return;
    }
    if (st.isDirectory()) {
      // The source directory itself is not written; its entries are named `<base>/...`.
      await walkDirectory(source, base, null);
    } else if (st.isFile()) {
      seen.add(base);
      await addFile(source, base, true);
    } else {
      warn(source, `not a regular file, directory or symlink (${specialKind(st)})`);
    }
  };

  const run = async (): Promise<SourceCompletion> => {
    ctx.log(
      'info',
      `${baseline === null ? 'full' : 'differential'} file backup of ${sources.join(', ')}${patterns.length > 0 ? ` (excluding ${patterns.map((p) => p.source).join(', ')})` : ''}`,
    );
    for (const source of sources) await walkSource(source, patterns);
    let summary = `${counters.entries} entries (${counters.files} files, ${counters.dirs} directories, ${counters.symlinks} symlinks), ${counters.bytes} bytes, ${counters.warnings} warnings`;
    if (baseline !== null) {
      const deleted = deletedPaths(baseline, seen);
      const body = Buffer.from(JSON.stringify(deleted));
      await addEntry(
        { name: DELETIONS_ENTRY, type: 'file', mode: 0o100600, size: body.length, mtime: ctx.now },
        async (sink) => {
          if (!sink.write(body)) await waitDrain(sink);
        },
      );
      summary += `, ${counters.unchanged} unchanged, ${deleted.length} deletions`;
      ctx.log('info', `differential archive: ${summary}`);
      return { backupKind: 'differential', summary };
    }
    ctx.log('info', `full archive: ${summary}`);
    return { backupKind: 'full', manifest: { entries: manifest }, summary };
  };

  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
    stream.once('close', () => reject(new Error('archive stream closed before it was read to the end')));
  });
  ended.catch(() => undefined);

  const completion = (async (): Promise<SourceCompletion> => {
    try {
      const result = await run();
      pack.finalize();
      await ended;
      return result;
    } catch (error) {
      pack.destroy(error instanceof Error ? error : new Error(String(error)));
      if (error instanceof EngineError) throw error;
      if (isAbortError(error) || ctx.signal.aborted)
        throw new EngineError('ENGINE_CANCELLED', 'source', 'cancelled', { cause: error });
      throw new EngineError('SOURCE_READ_FAILED', 'source', `file backup failed: ${reasonOf(error)}`, {
        cause: error,
      });
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  })();
  completion.catch(() => undefined);

  return { fileName, stream, completion };
};
