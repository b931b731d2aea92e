/**
 * The manifest of a file backup (SPEC §3.12: `{"entries":[{"p","s","m","o","d"}]}`, short keys;
 * ours adds `l`, the target of a symlink, and `h`, the SHA-256 of a regular file's archived bytes,
 * which deep verification drills compare with what a restore wrote) and the differential rules of
 * SPEC §3.13.
 *
 * `m` is the mtime in Unix nanoseconds. Above 2^53 a JS number cannot hold every nanosecond, so both
 * sides of a comparison go through the same rounding (`Number(bigint)` and `JSON.parse` both round
 * to the nearest double): equal mtimes stay equal; changes smaller than ~256 ns are not seen.
 */
import { EngineError } from '../../errors.ts';
import type { Manifest, ManifestEntry } from '../types.ts';

/** A manifest indexed by path. */
export type ManifestIndex = ReadonlyMap<string, ManifestEntry>;

/**
 * Encodes a manifest as JSON with the short keys (`d` only for directories, `l` only for symlinks,
 * `h` only when known).
 */
export const encodeManifest = (manifest: Manifest): string =>
  JSON.stringify({
    entries: manifest.entries.map((entry) => {
      const out: ManifestEntry = { p: entry.p, s: entry.s, m: entry.m, o: entry.o };
      if (entry.d === true) out.d = true;
      if (entry.l !== undefined) out.l = entry.l;
      if (entry.h !== undefined) out.h = entry.h;
      return out;
    }),
  });

/** What `h` must look like: the encoding tar-walker writes, so a comparison is a string equality. */
const SHA256_HEX = /^[0-9a-f]{64}$/;

const invalid = (message: string): EngineError =>
  new EngineError('MANIFEST_INVALID', 'source', `invalid backup manifest: ${message}`);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Decodes a manifest; empty input (null, `""`, whitespace, `null`, no entries) is an empty manifest. */
export const decodeManifest = (input: string | Uint8Array | null | undefined): Manifest => {
  if (input === null || input === undefined) return { entries: [] };
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  if (text.trim() === '') return { entries: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error));
  }
  if (parsed === null) return { entries: [] };
  if (!isRecord(parsed)) throw invalid('not an object');
  const rawEntries = parsed.entries;
  if (rawEntries === null || rawEntries === undefined) return { entries: [] };
  if (!Array.isArray(rawEntries)) throw invalid('entries is not an array');
  const entries: ManifestEntry[] = [];
  for (const [index, raw] of (rawEntries as unknown[]).entries()) {
    if (!isRecord(raw)) throw invalid(`entry ${index} is not an object`);
    const { p, s, m, o, d, l, h } = raw;
    if (typeof p !== 'string' || p === '') throw invalid(`entry ${index} has no path`);
    const num = (value: unknown, key: string): number => {
      if (value === undefined || value === null) return 0;
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw invalid(`entry ${index} (${p}): ${key} is not a number`);
      return value;
    };
    const entry: ManifestEntry = { p, s: num(s, 's'), m: num(m, 'm'), o: num(o, 'o') };
    if (d === true) entry.d = true;
    else if (d !== undefined && d !== null && d !== false)
      throw invalid(`entry ${index} (${p}): d is not a boolean`);
    if (typeof l === 'string') entry.l = l;
    else if (l !== undefined && l !== null) throw invalid(`entry ${index} (${p}): l is not a string`);
    if (typeof h === 'string' && SHA256_HEX.test(h)) entry.h = h;
    else if (h !== undefined && h !== null)
      throw invalid(`entry ${index} (${p}): h is not a lowercase hex SHA-256`);
    entries.push(entry);
  }
  return { entries };
};

const indexCache = new WeakMap<Manifest, ManifestIndex>();

/** Indexes a manifest by path (cached per manifest object). */
export const indexManifest = (manifest: Manifest): ManifestIndex => {
  let index = indexCache.get(manifest);
  if (index === undefined) {
    index = new Map(manifest.entries.map((entry) => [entry.p, entry]));
    indexCache.set(manifest, index);
  }
  return index;
};

const asIndex = (baseline: Manifest | ManifestIndex): ManifestIndex =>
  baseline instanceof Map ? baseline : indexManifest(baseline as Manifest);

/**
 * SPEC §3.13 changed-since rule: not in the baseline → include; a directory that was a directory →
 * skip; a file → include when size or mtime (ns) differs. Ours also includes an entry whose type
 * changed (file ↔ directory ↔ symlink) and a symlink whose target changed.
 */
export const changedSince = (baseline: Manifest | ManifestIndex, entry: ManifestEntry): boolean => {
  const previous = asIndex(baseline).get(entry.p);
  if (previous === undefined) return true;
  const wasDir = previous.d === true;
  const isDir = entry.d === true;
  if (wasDir !== isDir) return true;
  if (isDir) return false;
  if ((previous.l !== undefined) !== (entry.l !== undefined)) return true;
  if (entry.l !== undefined && previous.l !== entry.l) return true;
  return previous.s !== entry.s || previous.m !== entry.m;
};

/** Compares strings by their UTF-8 bytes (the order Go's `sort.Strings` gives). */
export const compareUtf8 = (a: string, b: string): number => {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
};

/** Baseline paths not seen during the walk, sorted ascending (SPEC §3.13). */
export const deletedPaths = (baseline: Manifest | ManifestIndex, seen: ReadonlySet<string>): string[] => {
  const deleted: string[] = [];
  for (const path of asIndex(baseline).keys()) if (!seen.has(path)) deleted.push(path);
  return deleted.sort(compareUtf8);
};
