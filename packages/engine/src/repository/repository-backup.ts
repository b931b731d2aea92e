/**
 * A backup into the repository of every target (SPEC §3.14), in one pass over the sources:
 * walk → content-defined chunks → chunk ids → chunks a target lacks are compressed and encrypted
 * once, then appended to that target's pack.
 *
 * Who does what: this thread walks the directories (one readdir each; regular files are not
 * stat'ed here) and packs; chunk workers (chunk-pool.ts, chunk.worker.ts, one per core up to
 * four) share the files batch by batch, stat them, skip the unchanged ones, read the others with
 * synchronous calls, chunk, hash and compress (one reused zstd context each). Compressed chunks
 * come back in recycled buffers, a bounded window per worker, and are sealed (AES-GCM) straight
 * into the pack buffer, two per target (one filling, one uploading), so memory stays bounded
 * whatever the size of the sources. Snapshot entries keep walk order whichever worker answers.
 *
 * Write order, per target: a pack (≤ 32 MiB, named by its SHA-256) is uploaded, then its index
 * segment, and only when every pack and index is stored, the snapshot. A run that dies at any
 * point leaves no snapshot naming missing data and no index naming a missing pack (an index that
 * fails to upload takes its pack with it); the next run lists the indexes and reuses every chunk
 * already stored, and prune removes what no snapshot references.
 *
 * Beyond the reference: a file whose path, size, mtime and mode are those of the previous
 * snapshot, and whose chunks every target still holds, is not read again (restic's parent
 * snapshot rule), so an unchanged re-run costs a walk and a snapshot upload.
 *
 * Single writer per repository: the caller holds the target's lease (the master's
 * `repository_leases`) for the whole call.
 */
import {
  createCipheriv,
  createHash,
  createSecretKey,
  randomFillSync,
  type Hash,
  type KeyObject,
} from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { lstat, opendir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { EngineError, describeError, throwIfAborted } from '../errors.ts';
import { ZSTD_LEVEL, type Compression } from '../pipeline/compression.ts';
import { compileExcludes, isExcluded, type ExcludePattern } from '../sources/files/glob.ts';
import type { ManifestEntry } from '../sources/types.ts';
import type {
  RepositoryBackupOptions,
  RepositoryBackupResult,
  RepositoryTarget,
  RepositoryTargetResult,
} from './api.ts';
import { buildKnownTable, ChunkPool } from './chunk-pool.ts';
import type { FileJob, KnownTable } from './chunk-protocol.ts';
import {
  encodeSnapshotEnvelope,
  FORMAT_METADATA,
  indexKeyOf,
  PACK_TARGET_BYTES,
  packKeyOf,
  snapshotKeyOf,
  type ChunkLocation,
  type Snapshot,
  type SnapshotEntry,
} from './format.ts';
import { loadIndex, loadSnapshot } from './repository-read.ts';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SEAL_OVERHEAD_BYTES = NONCE_BYTES + TAG_BYTES;
/**
 * Pack uploads in flight per target (each holds a 32 MiB buffer). Two measured no faster on a
 * local disk than one, whose index segment upload already overlaps the next pack.
 */
const PACK_UPLOADS = 1;
/** Per-chunk allowance of the quota estimate (SPEC step 2): GCM, index entry. */
const CHUNK_OVERHEAD_BYTES = 256;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

interface PendingPack {
  /** The pack's bytes, [0, bytes); one of the writer's two pack buffers. */
  data: Buffer;
  bytes: number;
  plainBytes: number;
  chunks: Map<string, Omit<ChunkLocation, 'pack'>>;
  /** SHA-256 of [0, bytes), the pack's name. */
  hash: Hash;
}

/** One target's side of the run: what it holds, its pack being filled, its upload in flight. */
class TargetWriter {
  readonly target: RepositoryTarget;
  readonly known: Set<string>;
  error: string | null = null;
  uploadedBytes = 0;
  reusedBytes = 0;
  newChunks = 0;
  /** The pack being filled (its buffer is taken when the first chunk comes). */
  #pack: PendingPack | null = null;
  /** Buffers of uploaded packs, for the next packs (at most PACK_UPLOADS + 1 buffers in all). */
  #spares: Buffer[] = [];
  /** Pack uploads in flight (a pack's buffer is free when its upload settles). */
  readonly #uploads = new Set<Promise<void>>();
  /** The index segments of uploaded packs, stored one after another. */
  #indexes: Promise<void> = Promise.resolve();
  readonly #compression: Compression;
  readonly #signal: AbortSignal;
  readonly #onUploaded: (bytes: number) => void;

  constructor(
    target: RepositoryTarget,
    known: Set<string>,
    compression: Compression,
    signal: AbortSignal,
    onUploaded: (bytes: number) => void,
  ) {
    this.target = target;
    this.known = known;
    this.#compression = compression;
    this.#signal = signal;
    this.#onUploaded = onUploaded;
  }

  get ok(): boolean {
    return this.error === null;
  }

  fail(message: string): void {
    this.error ??= message;
    this.#pack = null;
    this.#spares = [];
  }

  /**
   * Room for an encoded chunk of `length` bytes at the end of the pack (a full pack is handed to
   * the uploader first); null once this target has failed. `commit` records what was written.
   */
  async reserve(length: number): Promise<Buffer | null> {
    if (!this.ok) return null;
    if (this.#pack !== null && this.#pack.bytes + length > PACK_TARGET_BYTES) await this.flush();
    if (this.error !== null) return null;
    if (this.#pack === null) {
      let data = this.#spares.pop();
      if (data === undefined || data.length < length)
        data = Buffer.allocUnsafeSlow(Math.max(PACK_TARGET_BYTES, length));
      this.#pack = { data, bytes: 0, plainBytes: 0, chunks: new Map(), hash: createHash('sha256') };
    }
    return this.#pack.data.subarray(this.#pack.bytes, this.#pack.bytes + length);
  }

  commit(id: string, length: number, plainSize: number, encrypted: boolean): void {
    const pack = this.#pack;
    if (pack === null) return;
    pack.chunks.set(id, {
      offset: pack.bytes,
      length,
      plainSize,
      compression: this.#compression,
      encrypted,
    });
    // Hashed as it fills: the pack's name is ready when it is full.
    pack.hash.update(pack.data.subarray(pack.bytes, pack.bytes + length));
    pack.bytes += length;
    pack.plainBytes += plainSize;
    this.newChunks += 1;
  }

  /** Copies an encoded chunk into the pack. */
  async append(id: string, encoded: Uint8Array, plainSize: number, encrypted: boolean): Promise<void> {
    const room = await this.reserve(encoded.length);
    if (room === null) return;
    room.set(encoded);
    this.commit(id, encoded.length, plainSize, encrypted);
  }

  /**
   * Hands the filled pack to the uploader; waits while PACK_UPLOADS packs are being uploaded.
   * Index segments follow their packs one after another, in pack order.
   */
  async flush(): Promise<void> {
    while (this.#uploads.size >= PACK_UPLOADS) await Promise.race(this.#uploads);
    const pack = this.#pack;
    if (!this.ok || pack === null) return;
    this.#pack = null;
    const refusal = this.target.checkQuota?.(
      this.uploadedBytes + pack.plainBytes + pack.chunks.size * CHUNK_OVERHEAD_BYTES,
    );
    if (refusal !== null && refusal !== undefined) {
      this.fail(refusal);
      return;
    }
    const stored = this.#storePack(pack);
    const upload: Promise<void> = stored.then(
      () => {
        this.#uploads.delete(upload);
        if (this.ok) this.#spares.push(pack.data);
      },
      (error: unknown) => {
        this.#uploads.delete(upload);
        this.fail(describeError(error));
      },
    );
    this.#uploads.add(upload);
    const previousIndexes = this.#indexes;
    this.#indexes = (async () => {
      await previousIndexes;
      let digest: string;
      try {
        digest = await stored;
      } catch {
        return; // this target has failed already
      }
      if (!this.ok) return;
      await this.#storeIndex(pack, digest);
    })().catch((error: unknown) => {
      this.fail(describeError(error));
    });
  }

  /** Uploads the pack; its SHA-256 (hex) once stored. */
  async #storePack(pack: PendingPack): Promise<string> {
    const digest = pack.hash.digest('hex');
    const packKey = packKeyOf(digest);
    await this.target.backend.put(packKey, Readable.from([pack.data.subarray(0, pack.bytes)]), {
      sizeBytes: pack.bytes,
      metadata: { format: FORMAT_METADATA.pack },
      signal: this.#signal,
    });
    this.uploadedBytes += pack.bytes;
    this.#onUploaded(pack.bytes);
    return digest;
  }

  async #storeIndex(pack: PendingPack, digest: string): Promise<void> {
    const packKey = packKeyOf(digest);
    const segment = {
      version: 1,
      createdAt: new Date().toISOString(),
      pack: packKey,
      chunks: Object.fromEntries(
        [...pack.chunks].map(([id, location]) => [id, { pack: packKey, ...location }]),
      ),
    };
    const index = Buffer.from(JSON.stringify(segment));
    const { backend } = this.target;
    try {
      await backend.put(indexKeyOf(digest), Readable.from([index]), {
        sizeBytes: index.length,
        metadata: { format: FORMAT_METADATA.index },
        signal: this.#signal,
      });
    } catch (error) {
      // A pack without its index is unreachable: remove it now rather than wait for prune.
      await backend.delete(packKey).catch(() => undefined);
      throw error;
    }
    this.uploadedBytes += index.length;
    this.#onUploaded(index.length);
  }

  async drain(): Promise<void> {
    await this.flush();
    await Promise.all(this.#uploads);
    await this.#indexes;
    this.#spares = [];
  }
}

/**
 * The chunk encryption of the format (SPEC §3.14), straight into a pack: a random nonce, AES-256-GCM of the
 * compressed chunk with its id as AAD, the tag.
 */
class ChunkSealer {
  readonly #key: KeyObject;
  /** Nonces are drawn a page at a time. */
  readonly #nonces = Buffer.allocUnsafeSlow(NONCE_BYTES * 512);
  #nextNonce = this.#nonces.length;

  constructor(key: Buffer) {
    this.#key = createSecretKey(key);
  }

  /** Writes the sealed chunk (SEAL_OVERHEAD_BYTES longer than `compressed`) to `out`. */
  sealInto(compressed: Buffer, id: string, out: Buffer): void {
    if (this.#nextNonce === this.#nonces.length) {
      randomFillSync(this.#nonces);
      this.#nextNonce = 0;
    }
    this.#nonces.copy(out, 0, this.#nextNonce, this.#nextNonce + NONCE_BYTES);
    this.#nextNonce += NONCE_BYTES;
    const cipher = createCipheriv('aes-256-gcm', this.#key, out.subarray(0, NONCE_BYTES));
    cipher.setAAD(Buffer.from(id));
    let length = NONCE_BYTES;
    length += cipher.update(compressed).copy(out, length);
    length += cipher.final().copy(out, length);
    length += cipher.getAuthTag().copy(out, length);
    if (length !== compressed.length + SEAL_OVERHEAD_BYTES)
      throw new Error(`chunk ${id} sealed to an unexpected size`);
  }
}

interface SourceRoot {
  absolute: string;
  /** Entry name of the source root: its base name. */
  name: string;
  /** Directory every entry path is relative to (the source's parent). */
  base: string;
}

const slashPath = (relative: string): string => relative.split(path.sep).join('/');

const fileTime = (st: BigIntStats): number => Number(st.mtimeNs);

/**
 * A symlink target as the format allows it: relative, and inside the backup. An absolute target
 * inside the source's parent is made relative; anything else cannot be stored (a restore would
 * point outside its root) and is skipped with a warning.
 */
const storableLinkTarget = (entryPath: string, target: string, base: string): string | null => {
  let relativeTarget = target;
  if (path.isAbsolute(target)) {
    const fromBase = path.relative(base, target);
    if (fromBase.startsWith('..') || path.isAbsolute(fromBase)) return null;
    relativeTarget = path.posix.relative(path.posix.dirname(entryPath), slashPath(fromBase)) || '.';
  }
  const parts = entryPath.split('/').slice(0, -1);
  for (const segment of relativeTarget.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(segment);
  }
  return relativeTarget;
};

/** Streams a backup of the sources into the repository of every target; see the module comment. */
export const backupToRepository = async (
  options: RepositoryBackupOptions,
): Promise<RepositoryBackupResult> => {
  const { signal, log, compression } = options;
  const key = options.encryptionKey;
  const encrypted = key !== undefined;
  throwIfAborted(signal, 'source');
  const sources = [...new Set(options.sourcePaths.map((p) => p.trim()).filter((p) => p !== ''))].map(
    (p): SourceRoot => {
      const absolute = path.resolve(p);
      return { absolute, name: path.basename(absolute), base: path.dirname(absolute) };
    },
  );
  if (sources.length === 0)
    throw new EngineError('SOURCE_PATH_INVALID', 'source', 'no source path to back up');
  for (const source of sources) {
    try {
      await stat(source.absolute);
    } catch (error) {
      throw new EngineError(
        'SOURCE_PATH_INVALID',
        'source',
        `cannot read source ${source.absolute}: ${describeError(error)}`,
      );
    }
  }
  const excludes: ExcludePattern[] = compileExcludes(options.excludePatterns ?? []);
  let bytesRead = 0;
  let bytesUploaded = 0;
  const progress = () => options.onProgress?.({ bytesRead, bytesUploaded });

  // 1. What each target already holds (an unreadable segment is skipped: its chunks are sent again).
  const writers: TargetWriter[] = [];
  for (const target of options.targets) {
    let known = new Set<string>();
    let error: string | null = null;
    try {
      const index = await loadIndex(target.backend, {
        signal,
        onInvalid: (segmentKey, problem) =>
          log('warn', `${target.name}: ignoring index segment ${segmentKey}: ${messageOf(problem)}`),
      });
      known = new Set(index.chunks.keys());
      log('info', `${target.name}: repository holds ${String(known.size)} chunks`);
    } catch (problem) {
      error = `cannot read the repository index: ${describeError(problem)}`;
    }
    const writer = new TargetWriter(target, known, compression, signal, (bytes) => {
      bytesUploaded += bytes;
      progress();
    });
    if (error !== null) writer.fail(error);
    writers.push(writer);
  }
  const live = () => writers.filter((writer) => writer.ok);
  if (live().length === 0) return failedResult(options, writers);

  // 2. The previous snapshot, for unchanged files.
  const previous = new Map<string, SnapshotEntry>();
  if (options.previousSnapshot !== undefined) {
    const first = live()[0] as TargetWriter;
    try {
      const loaded = await loadSnapshot(first.target.backend, options.previousSnapshot.key, {
        ...(options.previousSnapshot.checksum === undefined
          ? {}
          : { checksum: options.previousSnapshot.checksum }),
        ...(key === undefined ? {} : { encryptionKey: key }),
        signal,
      });
      if (loaded.snapshot.compression === compression)
        for (const entry of loaded.snapshot.entries)
          if (entry.kind === 'file') previous.set(entry.path, entry);
    } catch (problem) {
      log('warn', `previous snapshot not used, every file is read: ${messageOf(problem)}`);
    }
  }

  // 3. Walk (here), stat, chunk, hash and encode (in the chunk workers), pack (here).
  const slots: ({ entry: SnapshotEntry; manifest: ManifestEntry } | null)[] = [];
  const seenPaths = new Set<string>();
  let logicalBytes = 0;
  let unchangedFiles = 0;
  const unique = new Set<string>();

  const sealer = key === undefined ? null : new ChunkSealer(key);
  const pool = new ChunkPool(
    { compression, zstdLevel: ZSTD_LEVEL, ...(key === undefined ? {} : { key }) },
    {
      chunk: async (record, compressed) => {
        const { id, plainSize } = record;
        unique.add(id);
        bytesRead += plainSize;
        const needing: TargetWriter[] = [];
        for (const writer of live()) {
          if (writer.known.has(id)) writer.reusedBytes += plainSize;
          else needing.push(writer);
        }
        if (needing.length > 0) {
          // Every target held the chunks a worker did not compress, and holds them still.
          if (compressed === null) throw new Error(`chunk ${id} was not compressed`);
          for (const writer of needing) writer.known.add(id);
          if (sealer === null)
            for (const writer of needing) await writer.append(id, compressed, plainSize, encrypted);
          else {
            // Sealed once, into the first pack that has room; the other targets copy it from there.
            const length = compressed.length + SEAL_OVERHEAD_BYTES;
            let sealed: Buffer | null = null;
            for (const writer of needing) {
              if (sealed !== null) {
                await writer.append(id, sealed, plainSize, encrypted);
                continue;
              }
              const room = await writer.reserve(length);
              if (room === null) continue;
              sealer.sealInto(compressed, id, room);
              writer.commit(id, length, plainSize, encrypted);
              sealed = room;
            }
          }
        }
        progress();
      },
    },
  );
  const onAbort = (): void => {
    pool.fail(new EngineError('ENGINE_CANCELLED', 'source', 'cancelled', { cause: signal.reason }));
  };
  signal.addEventListener('abort', onAbort, { once: true });

  const addFile = async (absolute: string, relative: string, follow: boolean): Promise<void> => {
    throwIfAborted(signal, 'source');
    if (seenPaths.has(relative))
      throw new EngineError(
        'SOURCE_PATH_INVALID',
        'source',
        `two sources both contain "${relative}": source paths overlap`,
      );
    seenPaths.add(relative);
    const before = previous.get(relative);
    const reusable =
      before !== undefined &&
      (before.chunks ?? []).every((id) => live().every((writer) => writer.known.has(id)));
    const slot = slots.length;
    slots.push(null);
    const job: FileJob = {
      path: absolute,
      follow,
      ...(reusable ? { previous: { size: before.size, modTime: before.modTime, mode: before.mode } } : {}),
    };
    await pool.submit(job, (result) => {
      if (result.status === 'failed') {
        seenPaths.delete(relative);
        log('warn', `cannot read ${absolute}: ${result.error}`);
        return;
      }
      const { size, modTime, mode } = result;
      let chunks: string[];
      if (result.status === 'unchanged') {
        chunks = before?.chunks ?? [];
        for (const id of chunks) unique.add(id);
        for (const writer of live()) writer.reusedBytes += size;
        bytesRead += size;
        unchangedFiles += 1;
        progress();
      } else chunks = result.chunks;
      slots[slot] = {
        entry: {
          path: relative,
          kind: 'file',
          mode,
          modTime,
          size,
          ...(chunks.length > 0 ? { chunks } : {}),
        },
        manifest: { p: relative, s: size, m: modTime, o: mode },
      };
      logicalBytes += size;
    });
  };

  const addEntry = async (
    absolute: string,
    relative: string,
    st: BigIntStats,
    base: string,
  ): Promise<void> => {
    throwIfAborted(signal, 'source');
    if (st.isFile()) {
      await addFile(absolute, relative, true);
      return;
    }
    if (seenPaths.has(relative))
      throw new EngineError(
        'SOURCE_PATH_INVALID',
        'source',
        `two sources both contain "${relative}": source paths overlap`,
      );
    const mode = Number(st.mode) & 0o777;
    const modTime = fileTime(st);
    if (st.isDirectory()) {
      seenPaths.add(relative);
      slots.push({
        entry: { path: relative, kind: 'directory', mode, modTime, size: 0 },
        manifest: { p: relative, s: 0, m: modTime, o: mode, d: true },
      });
      let children: { name: string; sortKey: Buffer; file: boolean }[];
      try {
        const dir = await opendir(absolute, { bufferSize: 256 });
        children = [];
        for await (const dirent of dir)
          children.push({ name: dirent.name, sortKey: Buffer.from(dirent.name), file: dirent.isFile() });
      } catch (error) {
        log('warn', `cannot read ${absolute}: ${describeError(error)}`);
        return;
      }
      children.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
      for (const { name, file } of children) {
        const childAbsolute = path.join(absolute, name);
        const childRelative = `${relative}/${name}`;
        if (file) {
          // A regular file is stat'ed by the worker that reads it.
          if (!isExcluded(childRelative, name, false, excludes))
            await addFile(childAbsolute, childRelative, false);
          continue;
        }
        let child: BigIntStats;
        try {
          child = await lstat(childAbsolute, { bigint: true });
        } catch (error) {
          log('warn', `cannot read ${childAbsolute}: ${describeError(error)}`);
          continue;
        }
        if (isExcluded(childRelative, name, child.isDirectory(), excludes)) continue;
        if (child.isFile()) await addFile(childAbsolute, childRelative, false);
        else await addEntry(childAbsolute, childRelative, child, base);
      }
      return;
    }
    if (st.isSymbolicLink()) {
      let target: string;
      try {
        target = await readlink(absolute);
      } catch (error) {
        log('warn', `cannot read ${absolute}: ${describeError(error)}`);
        return;
      }
      const storable = storableLinkTarget(relative, target, base);
      if (storable === null) {
        log('warn', `symlink ${absolute} → ${target} not stored: its target is outside the backup`);
        return;
      }
      seenPaths.add(relative);
      slots.push({
        entry: { path: relative, kind: 'symlink', mode, modTime, size: 0, linkTarget: storable },
        manifest: { p: relative, s: 0, m: modTime, o: mode, l: storable },
      });
      return;
    }
    log('warn', `cannot read ${absolute}: not a regular file, directory or symlink (skipped)`);
  };

  try {
    pool.setKnown(knownByAll(live(), encrypted ? 'e-' : 'p-'));
    for (const source of sources) {
      // The user named the source: follow it if it is a symlink.
      const st = await stat(source.absolute, { bigint: true });
      await addEntry(source.absolute, source.name, st, source.base);
      // Every file of this source is settled before the next source is walked (overlaps).
      await pool.drain();
    }
  } catch (error) {
    pool.fail(error instanceof Error ? error : new Error(String(error)));
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    await pool.close();
  }
  for (const writer of writers) await writer.drain();
  throwIfAborted(signal, 'upload');
  const entries: SnapshotEntry[] = [];
  const manifest: ManifestEntry[] = [];
  for (const slot of slots)
    if (slot !== null) {
      entries.push(slot.entry);
      manifest.push(slot.manifest);
    }

  // 4. The snapshot, on every target whose packs and indexes are all stored.
  const createdAt = options.createdAt;
  const snapshotKey = snapshotKeyOf(options.taskId, options.recordId, createdAt);
  const snapshot: Snapshot = {
    version: 1,
    taskId: options.taskId,
    createdAt: createdAt.toISOString(),
    compression,
    encrypted,
    sourcePaths: sources.map((source) => source.absolute),
    entries,
  };
  const results: RepositoryTargetResult[] = [];
  for (const writer of writers) {
    if (writer.ok) {
      try {
        const body = encodeSnapshotEnvelope(snapshot, key);
        const refusal = writer.target.checkQuota?.(writer.uploadedBytes + body.length);
        if (refusal !== null && refusal !== undefined) throw new Error(refusal);
        await writer.target.backend.put(snapshotKey, Readable.from([body]), {
          sizeBytes: body.length,
          metadata: {
            format: FORMAT_METADATA.snapshot,
            taskId: String(options.taskId),
            recordId: String(options.recordId),
          },
          signal,
        });
        writer.uploadedBytes += body.length;
        bytesUploaded += body.length;
        results.push({
          name: writer.target.name,
          status: 'success',
          snapshotSha256: createHash('sha256').update(body).digest('hex'),
          snapshotBytes: body.length,
          uploadedBytes: writer.uploadedBytes,
          reusedBytes: writer.reusedBytes,
          newChunks: writer.newChunks,
        });
        continue;
      } catch (error) {
        writer.fail(describeError(error));
      }
    }
    results.push({ name: writer.target.name, status: 'failed', error: writer.error ?? 'failed' });
  }
  progress();
  return {
    snapshotKey,
    fileName: path.posix.basename(snapshotKey),
    logicalBytes,
    uniqueChunks: unique.size,
    unchangedFiles,
    manifest: { entries: manifest },
    targets: results,
  };
};

/** The chunk ids every live target holds, as the workers look them up. */
const knownByAll = (live: TargetWriter[], prefix: string): KnownTable | null => {
  const [smallest, ...others] = [...live].sort((a, b) => a.known.size - b.known.size);
  if (smallest === undefined || smallest.known.size === 0) return null;
  const ids =
    others.length === 0
      ? smallest.known
      : [...smallest.known].filter((id) => others.every((writer) => writer.known.has(id)));
  return buildKnownTable(ids, others.length === 0 ? smallest.known.size : (ids as string[]).length, prefix);
};

const failedResult = (options: RepositoryBackupOptions, writers: TargetWriter[]): RepositoryBackupResult => {
  const snapshotKey = snapshotKeyOf(options.taskId, options.recordId, options.createdAt);
  return {
    snapshotKey,
    fileName: path.posix.basename(snapshotKey),
    logicalBytes: 0,
    uniqueChunks: 0,
    unchangedFiles: 0,
    manifest: { entries: [] },
    targets: writers.map((writer) => ({
      name: writer.target.name,
      status: 'failed',
      error: writer.error ?? 'failed',
    })),
  };
};
