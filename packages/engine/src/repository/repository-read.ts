/**
 * Reading a repository (SPEC §3.14 "Reading", restore, export, verify): snapshots and index
 * segments are validated before use, every chunk is decoded and its id recomputed.
 */
import { createHash } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EngineError, throwIfAborted } from '../errors.ts';
import { restoreFiles, type FileRestoreResult } from '../sources/files/file-restore.ts';
import { isSelected } from '../sources/files/restore-stager.ts';
import {
  planTarHeader,
  tarPaddingBytes,
  TAR_BLOCK,
  TAR_END_BYTES,
  writeTarHeader,
} from '../sources/files/tar-format.ts';
import type { RunLogger } from '../sources/types.ts';
import type { StorageBackend } from '../storage/types.ts';
import type { RepositoryReadOptions } from './api.ts';
import {
  decodeChunk,
  decodeSnapshotEnvelope,
  INDEXES_PREFIX,
  MAX_INDEX_BYTES,
  MAX_SNAPSHOT_BYTES,
  parseIndexSegment,
  RepositoryCorruptError,
  type ChunkLocation,
  type Snapshot,
  type SnapshotEntry,
} from './format.ts';

const PREFETCH_CHUNKS = 4;
const INDEX_READ_CONCURRENCY = 8;

/** Reads a whole object, refusing more than `maxBytes`. */
export const readObject = async (
  backend: StorageBackend,
  key: string,
  maxBytes: number,
  options: { offset?: number; length?: number; signal?: AbortSignal } = {},
): Promise<Buffer> => {
  const stream = await backend.get(key, options);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of stream as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > maxBytes) {
      stream.destroy();
      throw new RepositoryCorruptError(key, `larger than ${String(maxBytes)} bytes`);
    }
    parts.push(part);
  }
  return Buffer.concat(parts, size);
};

export interface LoadedSnapshot {
  snapshot: Snapshot;
  sha256: string;
  sizeBytes: number;
}

/** Downloads, checks (checksum when given) and decodes a snapshot. */
export const loadSnapshot = async (
  backend: StorageBackend,
  key: string,
  options: { checksum?: string; encryptionKey?: Buffer; signal?: AbortSignal },
): Promise<LoadedSnapshot> => {
  const bytes = await readObject(backend, key, MAX_SNAPSHOT_BYTES, { signal: options.signal });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (options.checksum !== undefined && options.checksum !== '' && options.checksum !== sha256)
    throw new EngineError(
      'REPOSITORY_CHECKSUM_MISMATCH',
      'verify',
      `snapshot ${key} does not match its recorded checksum (expected ${options.checksum}, got ${sha256})`,
    );
  return {
    snapshot: decodeSnapshotEnvelope(bytes, key, options.encryptionKey),
    sha256,
    sizeBytes: bytes.length,
  };
};

/** Decodes a snapshot whatever its encryption (prune reads every task's snapshots). */
export const loadAnySnapshot = async (
  backend: StorageBackend,
  key: string,
  encryptionKey: Buffer | undefined,
  signal?: AbortSignal,
): Promise<Snapshot> => {
  const bytes = await readObject(backend, key, MAX_SNAPSHOT_BYTES, { signal });
  let encrypted = false;
  try {
    encrypted = (JSON.parse(bytes.toString('utf8')) as { encrypted?: unknown }).encrypted === true;
  } catch {
    throw new RepositoryCorruptError(key, 'not valid JSON');
  }
  if (encrypted && encryptionKey === undefined)
    throw new RepositoryCorruptError(key, 'encrypted, and no key to read it');
  return decodeSnapshotEnvelope(bytes, key, encrypted ? encryptionKey : undefined);
};

export interface LoadedIndex {
  /** Chunk id → where it is stored (the first segment, by key order, that names it). */
  chunks: Map<string, ChunkLocation>;
  /** Every segment: key → its pack and chunk ids. */
  segments: Map<string, { pack: string; chunkIds: string[] }>;
}

/** Runs `work` over `items` with at most `limit` at a time, in order of start. */
export const mapLimit = async <T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> => {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
};

/**
 * Loads every index segment (sorted by key; the first occurrence of a chunk wins). `onInvalid`
 * decides what an invalid segment does: readers fail (the default), a writer skips it and
 * uploads those chunks again.
 */
export const loadIndex = async (
  backend: StorageBackend,
  options: { signal?: AbortSignal; onInvalid?: (key: string, error: unknown) => void } = {},
): Promise<LoadedIndex> => {
  const keys = (await backend.list(INDEXES_PREFIX, options.signal))
    .map((object) => object.key)
    .filter((key) => key.endsWith('.json'))
    .sort();
  const parsed = await mapLimit(keys, INDEX_READ_CONCURRENCY, async (key) => {
    try {
      return parseIndexSegment(
        key,
        await readObject(backend, key, MAX_INDEX_BYTES, { signal: options.signal }),
      );
    } catch (error) {
      if (options.onInvalid === undefined) throw error;
      options.onInvalid(key, error);
      return null;
    }
  });
  const chunks = new Map<string, ChunkLocation>();
  const segments = new Map<string, { pack: string; chunkIds: string[] }>();
  for (const [position, segment] of parsed.entries()) {
    if (segment === null) continue;
    const ids = Object.keys(segment.chunks);
    segments.set(keys[position] as string, { pack: segment.pack, chunkIds: ids });
    for (const id of ids) if (!chunks.has(id)) chunks.set(id, segment.chunks[id] as ChunkLocation);
  }
  return { chunks, segments };
};

/** Reads one chunk (a ranged read of its pack) and proves its content. */
export const readChunk = async (
  backend: StorageBackend,
  id: string,
  location: ChunkLocation,
  key: Buffer | undefined,
  signal?: AbortSignal,
): Promise<Buffer> => {
  const stored = await readObject(backend, location.pack, location.length, {
    offset: location.offset,
    length: location.length,
    signal,
  }).catch((error: unknown) => {
    if (error instanceof RepositoryCorruptError) throw error;
    throw new EngineError(
      'REPOSITORY_READ_FAILED',
      'download',
      `cannot read chunk ${id} from ${location.pack}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  });
  return decodeChunk(stored, id, location, key);
};

const locate = (index: LoadedIndex, id: string, entry: SnapshotEntry): ChunkLocation => {
  const location = index.chunks.get(id);
  if (location === undefined)
    throw new RepositoryCorruptError(entry.path, `chunk ${id} is in no index segment (missing data)`);
  return location;
};

/** `seconds.nanoseconds` of a Unix-nanosecond time, without float noise in the fraction. */
const paxTime = (modTimeNs: number): string => {
  const seconds = Math.floor(modTimeNs / 1e9);
  const nanos = Math.min(999_999_999, Math.max(0, Math.round(modTimeNs - seconds * 1e9)));
  return `${String(seconds)}.${String(nanos).padStart(9, '0')}`;
};

const tarHeaderOf = (entry: SnapshotEntry) =>
  planTarHeader({
    name: entry.kind === 'directory' ? `${entry.path}/` : entry.path,
    type: entry.kind,
    mode: entry.mode,
    uid: 0,
    gid: 0,
    size: entry.kind === 'file' ? entry.size : 0,
    mtimeSeconds: Math.floor(entry.modTime / 1e9),
    ...(entry.linkTarget === undefined ? {} : { linkname: entry.linkTarget }),
    pax: { mtime: paxTime(entry.modTime) },
  });

/** Exact size of the tar snapshotTarStream produces (a download's Content-Length). */
export const snapshotTarBytes = (snapshot: Snapshot, selectedPaths: readonly string[] = []): number => {
  let bytes = TAR_END_BYTES;
  for (const entry of keptEntries(snapshot, selectedPaths)) {
    bytes += tarHeaderOf(entry).bytes;
    if (entry.kind === 'file') bytes += entry.size + tarPaddingBytes(entry.size);
  }
  return bytes;
};

const keptEntries = (snapshot: Snapshot, selectedPaths: readonly string[]): SnapshotEntry[] =>
  snapshot.entries.filter((entry) => isSelected(entry.path, selectedPaths));

/**
 * The snapshot as a plain tar (`dir/` entries, symlinks, files), chunks read a few ahead. Sizes
 * are checked as the chunks arrive: a file whose chunks do not add up to its size fails the stream.
 */
export const snapshotTarStream = (
  backend: StorageBackend,
  snapshot: Snapshot,
  index: LoadedIndex,
  options: { encryptionKey?: Buffer; selectedPaths?: readonly string[]; signal?: AbortSignal },
): Readable => {
  const entries = keptEntries(snapshot, options.selectedPaths ?? []);
  const key = options.encryptionKey;
  async function* generate(): AsyncGenerator<Buffer> {
    // Every chunk id in tar order, each fetched PREFETCH_CHUNKS ahead of the writer.
    const plan: { entry: SnapshotEntry; id: string }[] = [];
    for (const entry of entries) for (const id of entry.chunks ?? []) plan.push({ entry, id });
    const pending: Promise<Buffer>[] = [];
    let planned = 0;
    const fill = () => {
      while (pending.length < PREFETCH_CHUNKS && planned < plan.length) {
        const { entry, id } = plan[planned] as { entry: SnapshotEntry; id: string };
        const promise = readChunk(backend, id, locate(index, id, entry), key, options.signal);
        promise.catch(() => undefined);
        pending.push(promise);
        planned += 1;
      }
    };
    for (const entry of entries) {
      throwIfAborted(options.signal, 'download');
      const header = tarHeaderOf(entry);
      const block = Buffer.alloc(header.bytes);
      writeTarHeader(block, 0, header);
      yield block;
      if (entry.kind !== 'file') continue;
      let written = 0;
      for (let n = 0; n < (entry.chunks ?? []).length; n += 1) {
        fill();
        const chunk = await (pending.shift() as Promise<Buffer>);
        written += chunk.length;
        if (written > entry.size)
          throw new RepositoryCorruptError(entry.path, 'chunks are larger than the file size');
        yield chunk;
      }
      if (written !== entry.size)
        throw new RepositoryCorruptError(
          entry.path,
          `chunks hold ${String(written)} bytes, the file has ${String(entry.size)}`,
        );
      const padding = tarPaddingBytes(entry.size);
      if (padding > 0) yield Buffer.alloc(padding);
    }
    yield Buffer.alloc(TAR_END_BYTES);
  }
  return Readable.from(generate(), { objectMode: false, highWaterMark: 4 * TAR_BLOCK });
};

/** Streams a snapshot as a plain tar into `output` (the download of a repository record). */
export const exportRepositoryTar = async (
  options: RepositoryReadOptions & { selectedPaths?: readonly string[] },
  output: Writable,
): Promise<{ entries: number }> => {
  const { snapshot } = await loadSnapshot(options.backend, options.snapshotKey, options);
  const index = await loadIndex(options.backend, { signal: options.signal });
  await pipeline(snapshotTarStream(options.backend, snapshot, index, options), output);
  return { entries: snapshot.entries.length };
};

/**
 * Restores a snapshot through the hardened file restore (staging, confinement to the root,
 * selected paths, no writing through symlinks, modes and mtimes): the snapshot is read as a tar.
 */
export const restoreFromRepository = async (
  options: RepositoryReadOptions & {
    signal: AbortSignal;
    log: RunLogger;
    sourcePaths: readonly string[];
    targetPath?: string;
    selectedPaths?: readonly string[];
    /** The snapshot, when the caller already loaded (and checked) it. */
    snapshot?: Snapshot;
  },
): Promise<FileRestoreResult> => {
  const snapshot =
    options.snapshot ?? (await loadSnapshot(options.backend, options.snapshotKey, options)).snapshot;
  const index = await loadIndex(options.backend, { signal: options.signal });
  // Missing data is found before anything is written.
  for (const entry of keptEntries(snapshot, options.selectedPaths ?? []))
    for (const id of entry.chunks ?? []) locate(index, id, entry);
  options.log(
    'info',
    `[RESTORE] repository snapshot: ${String(snapshot.entries.length)} entries, ${String(index.chunks.size)} chunks indexed`,
  );
  const stream = snapshotTarStream(options.backend, snapshot, index, options);
  return restoreFiles({ signal: options.signal, log: options.log }, [stream], {
    sourcePaths: options.sourcePaths.length > 0 ? options.sourcePaths : snapshot.sourcePaths,
    ...(options.targetPath === undefined ? {} : { targetPath: options.targetPath }),
    ...(options.selectedPaths === undefined ? {} : { selectedPaths: options.selectedPaths }),
  });
};

export interface RepositoryVerifyResult {
  entries: number;
  chunks: number;
  bytes: number;
}

/** Loads the snapshot and the index and reads every referenced chunk once (SPEC §3.14 "Verify"). */
export const verifyRepository = async (options: RepositoryReadOptions): Promise<RepositoryVerifyResult> => {
  const { snapshot } = await loadSnapshot(options.backend, options.snapshotKey, options);
  const index = await loadIndex(options.backend, { signal: options.signal });
  const unique = new Map<string, SnapshotEntry>();
  for (const entry of snapshot.entries)
    for (const id of entry.chunks ?? []) if (!unique.has(id)) unique.set(id, entry);
  const located = [...unique].map(([id, entry]) => ({ id, location: locate(index, id, entry) }));
  let bytes = 0;
  await mapLimit(located, PREFETCH_CHUNKS, async ({ id, location }) => {
    throwIfAborted(options.signal, 'verify');
    const chunk = await readChunk(options.backend, id, location, options.encryptionKey, options.signal);
    bytes += chunk.length;
  });
  return { entries: snapshot.entries.length, chunks: unique.size, bytes };
};
