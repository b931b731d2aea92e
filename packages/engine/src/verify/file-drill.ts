/**
 * Deep verification of a file backup (SPEC §8): the tree a restore wrote into a scratch directory
 * is compared with the backup's manifest entry by entry — type, symlink target, size, permission
 * bits and, where the manifest has `h`, the SHA-256 of the content — and whatever the directory
 * holds beyond the manifest is listed too. A restore that "worked" but wrote other bytes is what a
 * drill exists to catch, so content is hashed, not only sized.
 *
 * Paths a manifest does not list but implies (the source directory `www` above `www/...`, which
 * archives do not carry) are expected as directories. Symlink modes are not compared: a restore
 * cannot set them (Linux reports 0777 for every symlink).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { EngineError, describeError, throwIfAborted } from '../errors.ts';
import type { Manifest, ManifestEntry } from '../sources/types.ts';

export interface TreeComparison {
  /** Manifest entries checked. */
  entries: number;
  files: number;
  directories: number;
  symlinks: number;
  /** Sum of the manifest's file sizes. */
  bytes: number;
  /** Files whose content was hashed and compared with the manifest's `h`. */
  hashed: number;
  /** One short message per differing entry (`www/a.txt: missing`), the first `maxMismatches` only. */
  mismatches: string[];
  /** One line for the drill's log and check detail. */
  summary: string;
}

export interface TreeComparisonOptions {
  signal?: AbortSignal;
  /** Messages kept in `mismatches` (default 20); every difference is still counted in `summary`. */
  maxMismatches?: number;
}

const DEFAULT_MAX_MISMATCHES = 20;
/** Entries checked at once: small files cost open/read/close round trips, which overlap well. */
const CONCURRENCY = 4;
/** Read size when hashing; one buffer per concurrent check, so memory stays bounded. */
const READ_BYTES = 1024 * 1024;

type Kind = 'directory' | 'symlink' | 'file' | 'special file';

const kindOf = (st: Stats): Kind => {
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFile()) return 'file';
  return 'special file';
};

const expectedKind = (entry: ManifestEntry): Kind => {
  if (entry.d === true) return 'directory';
  return entry.l === undefined ? 'file' : 'symlink';
};

const octal = (mode: number): string => `0${mode.toString(8).padStart(3, '0')}`;

const plural = (count: number, one: string, many: string): string =>
  `${String(count)} ${count === 1 ? one : many}`;

/** Decimal units, one decimal: a summary line, not an accounting figure. */
const formatBytes = (bytes: number): string => {
  if (bytes < 1000) return plural(bytes, 'byte', 'bytes');
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit] ?? ''}`;
};

/** The manifest's `/`-separated path below `root`, or null when it would leave `root`. */
const resolveBelow = (root: string, rel: string): string | null => {
  const segments = rel.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) return null;
  return path.join(root, ...segments);
};

const isMissing = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

const isCancelled = (error: unknown): boolean =>
  error instanceof EngineError && error.code === 'ENGINE_CANCELLED';

/** Reused read buffers, at most one per concurrent check. */
class BufferPool {
  readonly #free: Buffer[] = [];

  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES);
  }

  give(buffer: Buffer): void {
    this.#free.push(buffer);
  }
}

const sha256Of = async (file: string, pool: BufferPool, signal: AbortSignal | undefined): Promise<string> => {
  const hash = createHash('sha256');
  const buffer = pool.take();
  // O_NOFOLLOW: lstat said regular file; never hash what a swapped-in symlink points to.
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    for (;;) {
      throwIfAborted(signal, 'verify');
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
    pool.give(buffer);
  }
  return hash.digest('hex');
};

interface EntryResult {
  message: string | null;
  hashed: boolean;
}

/** What differs between one manifest entry and the restored tree; null message when nothing. */
const checkEntry = async (
  root: string,
  entry: ManifestEntry,
  pool: BufferPool,
  signal: AbortSignal | undefined,
): Promise<EntryResult> => {
  const differs = (what: string): EntryResult => ({ message: `${entry.p}: ${what}`, hashed: false });
  const abs = resolveBelow(root, entry.p);
  if (abs === null) return differs('not a safe relative path');
  try {
    let st: Stats;
    try {
      st = await lstat(abs);
    } catch (error) {
      if (isMissing(error)) return differs('missing');
      throw error;
    }
    const want = expectedKind(entry);
    const got = kindOf(st);
    if (got !== want) return differs(`is a ${got}, the manifest has a ${want}`);
    const problems: string[] = [];
    let hashed = false;
    if (want === 'symlink') {
      const target = await readlink(abs);
      if (target !== entry.l) problems.push(`symlink target "${target}" ≠ manifest "${entry.l ?? ''}"`);
    } else if ((st.mode & 0o777) !== entry.o) {
      problems.push(`mode ${octal(st.mode & 0o777)} ≠ manifest ${octal(entry.o)}`);
    }
    if (want === 'file') {
      // Another size already means other content; hashing it would only cost time.
      if (st.size !== entry.s) problems.unshift(`size ${String(st.size)} ≠ manifest ${String(entry.s)}`);
      else if (entry.h !== undefined) {
        hashed = true;
        if ((await sha256Of(abs, pool, signal)) !== entry.h)
          problems.unshift('content SHA-256 differs from the manifest');
      }
    }
    return { message: problems.length === 0 ? null : `${entry.p}: ${problems.join(', ')}`, hashed };
  } catch (error) {
    if (isCancelled(error)) throw error;
    return differs(`cannot be read (${describeError(error)})`);
  }
};

/** Compares a restored tree with a manifest; see the module comment. Throws only when cancelled. */
export const compareTreeWithManifest = async (
  root: string,
  manifest: Manifest,
  options: TreeComparisonOptions = {},
): Promise<TreeComparison> => {
  const { signal } = options;
  const maxMismatches = Math.max(0, Math.floor(options.maxMismatches ?? DEFAULT_MAX_MISMATCHES));
  throwIfAborted(signal, 'verify');
  const counts = { files: 0, directories: 0, symlinks: 0, bytes: 0, hashed: 0, differing: 0, unexpected: 0 };
  const mismatches: string[] = [];
  const note = (message: string): void => {
    if (mismatches.length < maxMismatches) mismatches.push(message);
  };

  // 1. Every manifest entry, in manifest order (messages too), a few at a time.
  const pool = new BufferPool();
  const pending: Promise<EntryResult>[] = [];
  const settle = async (): Promise<void> => {
    const result = await (pending.shift() as Promise<EntryResult>);
    if (result.hashed) counts.hashed += 1;
    if (result.message === null) return;
    counts.differing += 1;
    note(result.message);
  };
  try {
    for (const entry of manifest.entries) {
      throwIfAborted(signal, 'verify');
      if (entry.d === true) counts.directories += 1;
      else if (entry.l !== undefined) counts.symlinks += 1;
      else {
        counts.files += 1;
        counts.bytes += entry.s;
      }
      const check = checkEntry(root, entry, pool, signal);
      // Awaited in order below; this only keeps a rejection behind a slower entry from going unhandled.
      check.catch(() => undefined);
      pending.push(check);
      if (pending.length >= CONCURRENCY) await settle();
    }
    while (pending.length > 0) await settle();
  } catch (error) {
    // Nothing keeps reading files after this returns.
    await Promise.allSettled(pending);
    throw error;
  }

  // 2. Everything in the tree the manifest does not account for (one message per unexpected subtree).
  const listed = new Map(manifest.entries.map((entry) => [entry.p, entry]));
  const implied = new Set<string>();
  for (const { p } of manifest.entries)
    for (let cut = p.lastIndexOf('/'); cut > 0; cut = p.lastIndexOf('/', cut - 1)) {
      const parent = p.slice(0, cut);
      if (implied.has(parent)) break;
      implied.add(parent);
    }
  const walk = async (abs: string, rel: string): Promise<void> => {
    let children;
    try {
      children = await readdir(abs, { withFileTypes: true });
    } catch (error) {
      // A listed path that is missing or of another type was reported by its own check.
      if (rel !== '' && isMissing(error)) return;
      counts.unexpected += 1;
      note(`${rel === '' ? '.' : rel}: cannot be listed (${describeError(error)})`);
      return;
    }
    children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) {
      throwIfAborted(signal, 'verify');
      const childRel = rel === '' ? child.name : `${rel}/${child.name}`;
      const entry = listed.get(childRel);
      const isDir = child.isDirectory();
      if (entry !== undefined) {
        if (entry.d === true && isDir) await walk(path.join(abs, child.name), childRel);
      } else if (implied.has(childRel)) {
        if (isDir) await walk(path.join(abs, child.name), childRel);
        else {
          counts.unexpected += 1;
          note(`${childRel}: is not a directory, the manifest has entries below it`);
        }
      } else {
        counts.unexpected += 1;
        note(`${childRel}: not in the manifest`);
      }
    }
  };
  await walk(root, '');

  const entries = manifest.entries.length;
  const problems = counts.differing + counts.unexpected;
  let summary: string;
  if (problems === 0) {
    summary = `${plural(entries, 'entry matches', 'entries match')} the manifest (${plural(counts.files, 'file', 'files')}, ${formatBytes(counts.bytes)}, ${plural(counts.hashed, 'hash', 'hashes')} checked)`;
  } else {
    const parts: string[] = [];
    if (counts.differing > 0)
      parts.push(
        `${String(counts.differing)} of ${plural(entries, 'entry', 'entries')} differ from the manifest`,
      );
    if (counts.unexpected > 0)
      parts.push(`${plural(counts.unexpected, 'entry', 'entries')} not in the manifest`);
    summary = parts.join('; ');
    if (mismatches.length < problems) summary += ` (first ${String(mismatches.length)} listed)`;
  }
  return {
    entries,
    files: counts.files,
    directories: counts.directories,
    symlinks: counts.symlinks,
    bytes: counts.bytes,
    hashed: counts.hashed,
    mismatches,
    summary,
  };
};
