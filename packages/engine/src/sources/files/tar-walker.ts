/**
 * The file source's archiver: walks the source paths and writes the tar (see file-source.ts for
 * the format rules) into fixed-size output buffers handed to `sink.emit`.
 *
 * It is synchronous on purpose and runs in a worker thread (file-walker.worker.ts): a promise per
 * lstat/open/fstat/read/close costs a thread-pool round trip, which for 20k small files was most of
 * a backup's main-thread time. Synchronous calls in a worker cost a few microseconds each and
 * leave the main thread free for compression, encryption and uploads. File data is read straight
 * into the output buffer, so each byte is copied once on its way out, and hashed there for the
 * manifest's `h` (a deep verification drill compares it with the restored file).
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  readdirSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import { EngineError, describeError } from '../../errors.ts';
import type { Manifest, ManifestEntry, RunLogLevel, SourceCompletion } from '../types.ts';
import { compileExcludes, isExcluded } from './glob.ts';
import { changedSince, deletedPaths, indexManifest } from './manifest.ts';
import type { ManifestIndex } from './manifest.ts';
import { TAR_END_BYTES, planTarHeader, tarPaddingBytes, writeTarHeader } from './tar-format.ts';
import type { TarEntryHeader } from './tar-format.ts';

/** The special entry of a differential archive listing deleted paths. */
export const DELETIONS_ENTRY = '.backupx/deletions.json';

/** Size of each buffer handed to the sink. */
export const TAR_CHUNK_BYTES = 1024 * 1024;
const PROGRESS_EVERY_FILES = 100;
const NS_PER_S = 1_000_000_000n;

export interface TarWalkOptions {
  /** Absolute source paths, checked to exist by the caller. */
  sources: readonly string[];
  excludePatterns: readonly string[];
  /** Manifest of the last full backup; non-empty → differential archive. */
  baseline: Manifest | null;
  /** The run's start, in ms: the mtime of the deletions entry. */
  nowMs: number;
}

export interface TarWalkSink {
  /** Takes ownership of `chunk` (its own ArrayBuffer; `length` bytes are archive). */
  emit: (chunk: Buffer, length: number) => void;
  log: (level: RunLogLevel, message: string) => void;
  /** Polled between entries and reads; true stops the walk with ENGINE_CANCELLED. */
  cancelled: () => boolean;
  /** A buffer of TAR_CHUNK_BYTES to fill next (a recycled one when there is one). */
  nextBuffer?: () => Buffer;
}

const joinRel = (parent: string, name: string): string => (parent === '' ? name : `${parent}/${name}`);

const specialKind = (st: BigIntStats): string => {
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'unknown file type';
};

/** Whole seconds in the header, the exact value (ns) in a pax record when it has a fraction. */
const timeFields = (mtimeNs: bigint): Pick<TarEntryHeader, 'mtimeSeconds' | 'pax'> => {
  let seconds = mtimeNs / NS_PER_S;
  let fraction = mtimeNs % NS_PER_S;
  if (fraction < 0n) {
    fraction += NS_PER_S;
    seconds -= 1n;
  }
  if (fraction === 0n) return { mtimeSeconds: Number(seconds) };
  return {
    mtimeSeconds: Number(seconds),
    pax: { mtime: `${seconds}.${fraction.toString().padStart(9, '0')}` },
  };
};

const ownerFields = (st: BigIntStats): Pick<TarEntryHeader, 'mode' | 'uid' | 'gid'> => ({
  mode: Number(st.mode),
  uid: Number(st.uid),
  gid: Number(st.gid),
});

const cancelledError = (): EngineError => new EngineError('ENGINE_CANCELLED', 'source', 'cancelled');

/** Fills fixed-size buffers and hands each to the sink when full. */
class TarOutput {
  readonly #sink: TarWalkSink;
  #buffer: Buffer;
  #used = 0;

  constructor(sink: TarWalkSink) {
    this.#sink = sink;
    this.#buffer = this.#fresh();
  }

  #fresh(): Buffer {
    return this.#sink.nextBuffer?.() ?? Buffer.allocUnsafeSlow(TAR_CHUNK_BYTES);
  }

  flush(): void {
    if (this.#used === 0) return;
    if (this.#sink.cancelled()) throw cancelledError();
    this.#sink.emit(this.#buffer, this.#used);
    this.#buffer = this.#fresh();
    this.#used = 0;
  }

  /** Room for `bytes` contiguous bytes (bytes ≤ TAR_CHUNK_BYTES), flushing first if needed. */
  #reserve(bytes: number): void {
    if (this.#used + bytes > TAR_CHUNK_BYTES) this.flush();
  }

  header(header: TarEntryHeader): void {
    const planned = planTarHeader(header);
    this.#reserve(planned.bytes);
    this.#used += writeTarHeader(this.#buffer, this.#used, planned);
  }

  /** Writes zero bytes; `hash` (when given) sees them, as a restore writes them into the file. */
  zeros(bytes: number, hash?: Hash): void {
    let left = bytes;
    while (left > 0) {
      if (this.#used === TAR_CHUNK_BYTES) this.flush();
      const take = Math.min(left, TAR_CHUNK_BYTES - this.#used);
      this.#buffer.fill(0, this.#used, this.#used + take);
      hash?.update(this.#buffer.subarray(this.#used, this.#used + take));
      this.#used += take;
      left -= take;
    }
  }

  bytes(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      if (this.#used === TAR_CHUNK_BYTES) this.flush();
      const take = Math.min(data.length - at, TAR_CHUNK_BYTES - this.#used);
      data.copy(this.#buffer, this.#used, at, at + take);
      this.#used += take;
      at += take;
    }
  }

  /**
   * Reads up to `size` bytes of `fd` into the output and into `hash` (a view of the output buffer,
   * no copy); returns how many the file still had.
   */
  fromFile(fd: number, size: number, hash: Hash): number {
    let position = 0;
    while (position < size) {
      if (this.#used === TAR_CHUNK_BYTES) this.flush();
      const want = Math.min(size - position, TAR_CHUNK_BYTES - this.#used);
      const read = readSync(fd, this.#buffer, this.#used, want, position);
      if (read === 0) break;
      hash.update(this.#buffer.subarray(this.#used, this.#used + read));
      this.#used += read;
      position += read;
    }
    return position;
  }

  /** Pads the last entry's data to a block boundary. */
  pad(size: number): void {
    this.zeros(tarPaddingBytes(size));
  }

  end(): void {
    this.zeros(TAR_END_BYTES);
    this.flush();
  }
}

/** Walks every source into a tar; see the module comment. Throws EngineError on failure. */
export const walkToTar = (options: TarWalkOptions, sink: TarWalkSink): SourceCompletion => {
  const patterns = compileExcludes(options.excludePatterns);
  const baseline: ManifestIndex | null =
    options.baseline !== null && options.baseline.entries.length > 0 ? indexManifest(options.baseline) : null;
  const out = new TarOutput(sink);
  const counters = { entries: 0, files: 0, dirs: 0, symlinks: 0, bytes: 0, warnings: 0, unchanged: 0 };
  /**
   * The tree a restore of this archive yields (after its full, for a differential): what was
   * written, plus for a differential the baseline entries of paths still there but not written.
   */
  const manifest: ManifestEntry[] = [];
  /** Paths walked, for the deletions of a differential archive (a full one has no use for it). */
  const seen = new Set<string>();
  const markSeen = (rel: string): void => {
    if (baseline !== null) seen.add(rel);
  };

  const warn = (where: string, reason: string): void => {
    counters.warnings += 1;
    sink.log('warn', `[WARN] cannot read ${where}: ${reason}`);
  };
  const checkCancelled = (): void => {
    if (sink.cancelled()) throw cancelledError();
  };

  /**
   * A path seen but not written to a differential archive (unchanged, or unreadable now): a restore
   * leaves the full's version there, so the manifest records the baseline entry, `h` included
   * (the file was not read this time).
   */
  const keepBaseline = (rel: string): void => {
    const previous = baseline?.get(rel);
    if (previous !== undefined) manifest.push(previous);
  };

  /** Differential: write the entry only when it changed since the baseline. Either way, record it. */
  const shouldWrite = (entry: ManifestEntry): boolean => {
    if (baseline === null || changedSince(baseline, entry)) {
      manifest.push(entry);
      return true;
    }
    counters.unchanged += 1;
    keepBaseline(entry.p);
    return false;
  };

  const addDirectory = (rel: string, st: BigIntStats): void => {
    const entry: ManifestEntry = { p: rel, s: 0, m: Number(st.mtimeNs), o: Number(st.mode) & 0o777, d: true };
    if (!shouldWrite(entry)) return;
    out.header({
      name: `${rel}/`,
      type: 'directory',
      size: 0,
      ...ownerFields(st),
      ...timeFields(st.mtimeNs),
    });
    counters.entries += 1;
    counters.dirs += 1;
    sink.log('info', `[DIR] ${rel}`);
  };

  const addSymlink = (abs: string, rel: string, st: BigIntStats): void => {
    let target: string;
    try {
      target = readlinkSync(abs);
    } catch (error) {
      warn(abs, describeError(error));
      keepBaseline(rel);
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
    out.header({
      name: rel,
      type: 'symlink',
      linkname: target,
      size: 0,
      ...ownerFields(st),
      ...timeFields(st.mtimeNs),
    });
    counters.entries += 1;
    counters.symlinks += 1;
  };

  /**
   * A file is copied exactly the size it had when opened: a grown file is cut, a shrunk one is
   * padded with zeros and warned.
   */
  const addFile = (abs: string, rel: string, follow: boolean): void => {
    let fd: number;
    try {
      // O_NONBLOCK: never hang on a FIFO swapped in after lstat; O_NOFOLLOW: never follow a swapped-in symlink.
      fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK | (follow ? 0 : constants.O_NOFOLLOW));
    } catch (error) {
      warn(abs, describeError(error));
      keepBaseline(rel);
      return;
    }
    try {
      const st = fstatSync(fd, { bigint: true });
      if (!st.isFile()) {
        warn(abs, `not a regular file, directory or symlink (${specialKind(st)})`);
        keepBaseline(rel);
        return;
      }
      const size = Number(st.size);
      const entry: ManifestEntry = { p: rel, s: size, m: Number(st.mtimeNs), o: Number(st.mode) & 0o777 };
      if (!shouldWrite(entry)) return;
      out.header({ name: rel, type: 'file', size, ...ownerFields(st), ...timeFields(st.mtimeNs) });
      const hash = createHash('sha256');
      let read: number;
      try {
        read = out.fromFile(fd, size, hash);
      } catch (error) {
        if (error instanceof EngineError) throw error;
        throw new EngineError(
          'SOURCE_READ_FAILED',
          'source',
          `file backup failed: reading ${abs}: ${describeError(error)}`,
          {
            cause: error,
          },
        );
      }
      if (read < size) {
        counters.warnings += 1;
        sink.log('warn', `[WARN] ${abs} shrank by ${size - read} bytes while being read; padded with zeros`);
        out.zeros(size - read, hash);
      }
      entry.h = hash.digest('hex');
      out.pad(size);
      counters.entries += 1;
      counters.files += 1;
      counters.bytes += size;
      if (counters.files % PROGRESS_EVERY_FILES === 0)
        sink.log('info', `[PROGRESS] ${counters.files} files, ${counters.bytes} bytes archived`);
    } finally {
      closeSync(fd);
    }
  };

  /**
   * Baseline paths below a directory we could not list are not "deleted": we could not look. A
   * restore keeps the full's version of the directory and everything below it.
   */
  const markSubtreeSeen = (rel: string): void => {
    if (baseline === null) return;
    keepBaseline(rel);
    const prefix = `${rel}/`;
    for (const [key, entry] of baseline)
      if (key.startsWith(prefix)) {
        seen.add(key);
        manifest.push(entry);
      }
  };

  const walkDirectory = (abs: string, rel: string, st: BigIntStats | null): void => {
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch (error) {
      warn(abs, describeError(error));
      markSubtreeSeen(rel);
      return;
    }
    names.sort();
    if (st !== null) addDirectory(rel, st);
    for (const name of names) {
      checkCancelled();
      const childAbs = path.join(abs, name);
      const childRel = joinRel(rel, name);
      let childStat: BigIntStats;
      try {
        childStat = lstatSync(childAbs, { bigint: true });
      } catch (error) {
        warn(childAbs, describeError(error));
        continue;
      }
      const isDir = childStat.isDirectory();
      if (isExcluded(childRel, name, isDir, patterns)) continue;
      if (isDir) {
        markSeen(childRel);
        walkDirectory(childAbs, childRel, childStat);
      } else if (childStat.isSymbolicLink()) {
        markSeen(childRel);
        addSymlink(childAbs, childRel, childStat);
      } else if (childStat.isFile()) {
        markSeen(childRel);
        addFile(childAbs, childRel, false);
      } else {
        warn(childAbs, `not a regular file, directory or symlink (${specialKind(childStat)})`);
      }
    }
  };

  const walkSource = (source: string): void => {
    const base = path.basename(source);
    let st: BigIntStats;
    try {
      st = statSync(source, { bigint: true });
    } catch (error) {
      warn(source, describeError(error));
      return;
    }
    if (base !== '' && isExcluded(base, base, st.isDirectory(), patterns)) {
      sink.log('warn', `[WARN] source ${source} matches an exclude pattern; skipped`);
      return;
    }
    if (st.isDirectory()) {
      // The source directory itself is not written; its entries are named `<base>/...`.
      walkDirectory(source, base, null);
    } else if (st.isFile()) {
      markSeen(base);
      addFile(source, base, true);
    } else {
      warn(source, `not a regular file, directory or symlink (${specialKind(st)})`);
    }
  };

  sink.log(
    'info',
    `${baseline === null ? 'full' : 'differential'} file backup of ${options.sources.join(', ')}${patterns.length > 0 ? ` (excluding ${patterns.map((p) => p.source).join(', ')})` : ''}`,
  );
  for (const source of options.sources) walkSource(source);
  let summary = `${counters.entries} entries (${counters.files} files, ${counters.dirs} directories, ${counters.symlinks} symlinks), ${counters.bytes} bytes, ${counters.warnings} warnings`;
  if (baseline !== null) {
    const deleted = deletedPaths(baseline, seen);
    const body = Buffer.from(JSON.stringify(deleted));
    out.header({
      name: DELETIONS_ENTRY,
      type: 'file',
      mode: 0o600,
      uid: 0,
      gid: 0,
      size: body.length,
      mtimeSeconds: Math.floor(options.nowMs / 1000),
    });
    out.bytes(body);
    out.pad(body.length);
    out.end();
    summary += `, ${counters.unchanged} unchanged, ${deleted.length} deletions`;
    sink.log('info', `differential archive: ${summary}`);
    return { backupKind: 'differential', manifest: { entries: manifest }, summary };
  }
  out.end();
  sink.log('info', `full archive: ${summary}`);
  return { backupKind: 'full', manifest: { entries: manifest }, summary };
};
