/**
 * The repository format v1 on a storage target (SPEC §3.14): keys, chunk ids, chunk encoding,
 * index segments and snapshot envelopes, and the strict validation of everything read back.
 * Anything that does not validate is an EngineError `REPOSITORY_CORRUPT` naming the object.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { EngineError } from '../errors.ts';
import type { Compression } from '../pipeline/compression.ts';
import { CHUNK_MAX_BYTES } from './chunker.ts';

export const REPOSITORY_ROOT = '.backupx/repository/v1';
export const INDEXES_PREFIX = `${REPOSITORY_ROOT}/indexes/`;
export const PACKS_PREFIX = `${REPOSITORY_ROOT}/packs/`;
export const SNAPSHOTS_PREFIX = `${REPOSITORY_ROOT}/snapshots/`;
export const PACK_TARGET_BYTES = 32 * 1024 * 1024;
/** Largest encoded chunk a location may name: a max chunk that grew under compression, plus GCM. */
export const MAX_ENCODED_CHUNK_BYTES = CHUNK_MAX_BYTES + 256 * 1024;
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;
export const MAX_INDEX_BYTES = 64 * 1024 * 1024;
export const SNAPSHOT_AAD = 'backupx-repository-snapshot-v1';
export const FORMAT_METADATA = {
  pack: 'backupx-pack-v1',
  index: 'backupx-index-v1',
  snapshot: 'backupx-repository-v1',
} as const;

const HEX64 = /^[0-9a-f]{64}$/;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export class RepositoryCorruptError extends EngineError {
  constructor(object: string, why: string) {
    super('REPOSITORY_CORRUPT', 'verify', `repository object ${object} is invalid: ${why}`);
  }
}

export const packKeyOf = (packSha256: string): string =>
  `${PACKS_PREFIX}${packSha256.slice(0, 2)}/${packSha256}.pack`;
export const indexKeyOf = (packSha256: string): string => `${INDEXES_PREFIX}${packSha256}.json`;

/** `<YYYYMMDDTHHMMSS>.<nanoseconds>Z` in UTC, the sortable time in snapshot names. */
const snapshotTime = (at: Date): string => {
  const iso = at.toISOString(); // 2026-11-21T20:44:45.123Z
  const compact = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  return `${compact}.${iso.slice(20, 23)}000000Z`;
};

export const snapshotKeyOf = (taskId: number, recordId: number, createdAt: Date): string =>
  `${SNAPSHOTS_PREFIX}${String(taskId)}/${snapshotTime(createdAt)}-${String(recordId)}.bxrs`;

export const isSnapshotKey = (key: string): boolean =>
  key.startsWith(SNAPSHOTS_PREFIX) && key.endsWith('.bxrs') && !key.includes('..');

const normalCompression = (compression: string): Compression =>
  compression === 'gzip' || compression === 'none' ? compression : 'zstd';

/** What a chunk id hashes before the chunk (SPEC §3.14): the compression is part of the domain. */
export const chunkIdDomain = (compression: string, encrypted: boolean): string =>
  `backupx-repository-v1/${normalCompression(compression)}/${encrypted ? 'encrypted' : 'plain'}\0`;

/** Chunk id: `p-SHA-256(domain ‖ chunk)`, or `e-HMAC-SHA-256(key, domain ‖ chunk)` when encrypted. */
export const chunkIdOf = (chunk: Uint8Array, compression: Compression, key?: Buffer): string => {
  const domain = chunkIdDomain(compression, key !== undefined);
  if (key === undefined) return `p-${createHash('sha256').update(domain).update(chunk).digest('hex')}`;
  return `e-${createHmac('sha256', key).update(domain).update(chunk).digest('hex')}`;
};

const zstdDecompress = promisify(zlib.zstdDecompress);
const gunzip = promisify(zlib.gunzip);

const decompress = async (data: Buffer, compression: Compression, maxBytes: number): Promise<Buffer> => {
  switch (compression) {
    case 'none':
      return data;
    case 'gzip':
      return gunzip(data, { maxOutputLength: maxBytes });
    case 'zstd':
      return zstdDecompress(data, { maxOutputLength: maxBytes });
  }
};

const seal = (plain: Buffer, key: Buffer, aad: string): Buffer => {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad));
  const body = cipher.update(plain);
  const final = cipher.final();
  return Buffer.concat([nonce, body, final, cipher.getAuthTag()]);
};

const open = (sealed: Buffer, key: Buffer, aad: string, what: string): Buffer => {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new RepositoryCorruptError(what, 'ciphertext too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new RepositoryCorruptError(what, 'authentication failed (wrong key or tampered data)');
  }
};

export interface ChunkLocation {
  pack: string;
  offset: number;
  length: number;
  plainSize: number;
  compression: Compression;
  encrypted: boolean;
}

/** Decodes one stored chunk and proves it is the chunk its id names. */
export const decodeChunk = async (
  stored: Buffer,
  id: string,
  location: ChunkLocation,
  key: Buffer | undefined,
): Promise<Buffer> => {
  const what = `chunk ${id} in ${location.pack}`;
  if (location.encrypted !== (key !== undefined))
    throw new RepositoryCorruptError(what, location.encrypted ? 'encrypted but no key' : 'not encrypted');
  if (stored.length !== location.length) throw new RepositoryCorruptError(what, 'short read');
  const compressed = key === undefined ? stored : open(stored, key, id, what);
  let plain: Buffer;
  try {
    plain = await decompress(compressed, location.compression, CHUNK_MAX_BYTES);
  } catch {
    throw new RepositoryCorruptError(what, `cannot be decompressed (${location.compression})`);
  }
  if (plain.length !== location.plainSize)
    throw new RepositoryCorruptError(what, `size ${String(plain.length)} ≠ ${String(location.plainSize)}`);
  if (chunkIdOf(plain, location.compression, key) !== id)
    throw new RepositoryCorruptError(what, 'content does not match its id');
  return plain;
};

// ---------- index segments ----------

export interface IndexSegment {
  version: 1;
  createdAt: string;
  pack: string;
  chunks: Record<string, ChunkLocation>;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isInt = (value: unknown): value is number => Number.isSafeInteger(value);

const parseJson = (bytes: Buffer, what: string): unknown => {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RepositoryCorruptError(what, 'not valid JSON');
  }
};

export const isChunkId = (id: unknown, encrypted: boolean): id is string =>
  typeof id === 'string' &&
  id.length === 66 &&
  id.startsWith(encrypted ? 'e-' : 'p-') &&
  HEX64.test(id.slice(2));

/** Parses and validates an index segment read from `key` (SPEC §3.14 "Reading"). */
export const parseIndexSegment = (key: string, bytes: Buffer): IndexSegment => {
  const match = /^\.backupx\/repository\/v1\/indexes\/([0-9a-f]{64})\.json$/.exec(key);
  if (match === null) throw new RepositoryCorruptError(key, 'not an index segment key');
  if (bytes.length > MAX_INDEX_BYTES) throw new RepositoryCorruptError(key, 'larger than 64 MiB');
  const value = parseJson(bytes, key);
  if (!isRecord(value) || value.version !== 1) throw new RepositoryCorruptError(key, 'version is not 1');
  const pack = packKeyOf(match[1] ?? '');
  if (value.pack !== pack)
    throw new RepositoryCorruptError(key, `names pack ${String(value.pack)}, expected ${pack}`);
  if (!isRecord(value.chunks)) throw new RepositoryCorruptError(key, 'has no chunks');
  const entries = Object.entries(value.chunks);
  if (entries.length === 0) throw new RepositoryCorruptError(key, 'has no chunks');
  const locations: [string, ChunkLocation][] = [];
  let packLimit = PACK_TARGET_BYTES;
  for (const [id, raw] of entries) {
    if (!isRecord(raw)) throw new RepositoryCorruptError(key, `location of ${id} is not an object`);
    const { offset, length, plainSize, compression, encrypted } = raw;
    if (typeof encrypted !== 'boolean' || !isChunkId(id, encrypted))
      throw new RepositoryCorruptError(
        key,
        `chunk id ${id} is malformed or does not match its encryption flag`,
      );
    if (compression !== 'none' && compression !== 'gzip' && compression !== 'zstd')
      throw new RepositoryCorruptError(key, `chunk ${id} has unknown compression ${String(compression)}`);
    if (raw.pack !== undefined && raw.pack !== pack)
      throw new RepositoryCorruptError(key, `chunk ${id} names another pack`);
    if (!isInt(offset) || !isInt(length) || !isInt(plainSize) || offset < 0)
      throw new RepositoryCorruptError(key, `chunk ${id} has an invalid offset or length`);
    if (length <= 0 || length > MAX_ENCODED_CHUNK_BYTES)
      throw new RepositoryCorruptError(key, `chunk ${id} length ${String(length)} is out of range`);
    if (plainSize <= 0 || plainSize > CHUNK_MAX_BYTES)
      throw new RepositoryCorruptError(key, `chunk ${id} plain size ${String(plainSize)} is out of range`);
    packLimit = Math.max(packLimit, length);
    locations.push([id, { pack, offset, length, plainSize, compression, encrypted }]);
  }
  for (const [id, location] of locations)
    if (location.length > packLimit || location.offset > packLimit - location.length)
      throw new RepositoryCorruptError(key, `chunk ${id} lies outside the pack`);
  return {
    version: 1,
    createdAt: typeof value.createdAt === 'string' ? value.createdAt : '',
    pack,
    chunks: Object.fromEntries(locations),
  };
};

// ---------- snapshots ----------

export type SnapshotEntryKind = 'directory' | 'symlink' | 'file';

export interface SnapshotEntry {
  path: string;
  kind: SnapshotEntryKind;
  mode: number;
  /** mtime in Unix nanoseconds. */
  modTime: number;
  size: number;
  linkTarget?: string;
  chunks?: string[];
}

export interface Snapshot {
  version: 1;
  taskId: number;
  createdAt: string;
  compression: Compression;
  encrypted: boolean;
  sourcePaths: string[];
  entries: SnapshotEntry[];
}

/** `{version:1, encrypted:false, data}` or `{version:1, encrypted:true, ciphertext}` (SPEC step 5). */
export const encodeSnapshotEnvelope = (snapshot: Snapshot, key?: Buffer): Buffer => {
  const json = JSON.stringify(snapshot);
  if (key === undefined) return Buffer.from(`{"version":1,"encrypted":false,"data":${json}}`);
  const ciphertext = seal(Buffer.from(json), key, SNAPSHOT_AAD).toString('base64url');
  return Buffer.from(JSON.stringify({ version: 1, encrypted: true, ciphertext }));
};

const isCleanRelative = (p: string): boolean =>
  p !== '' &&
  p !== '.' &&
  !p.includes('\\') &&
  !p.includes('\0') &&
  !p.startsWith('/') &&
  p.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');

/** Where a relative symlink target leads, from the link's directory; null when it leaves the root. */
const resolveInside = (linkPath: string, target: string): string | null => {
  const parts = linkPath.split('/').slice(0, -1);
  for (const segment of target.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(segment);
  }
  return parts.join('/');
};

const validateSnapshot = (value: unknown, what: string, encrypted: boolean): Snapshot => {
  if (!isRecord(value) || value.version !== 1)
    throw new RepositoryCorruptError(what, 'snapshot version is not 1');
  if (value.encrypted !== encrypted)
    throw new RepositoryCorruptError(what, 'snapshot encryption flag does not match its envelope');
  if (!Array.isArray(value.entries)) throw new RepositoryCorruptError(what, 'snapshot has no entries');
  const compression = value.compression;
  if (compression !== 'none' && compression !== 'gzip' && compression !== 'zstd')
    throw new RepositoryCorruptError(what, `unknown compression ${String(compression)}`);
  const seen = new Set<string>();
  const symlinks = new Set<string>();
  const entries: SnapshotEntry[] = [];
  for (const raw of value.entries as unknown[]) {
    if (!isRecord(raw)) throw new RepositoryCorruptError(what, 'an entry is not an object');
    const { path: entryPath, kind, mode, modTime, size, linkTarget, chunks } = raw;
    if (typeof entryPath !== 'string' || !isCleanRelative(entryPath))
      throw new RepositoryCorruptError(what, `unsafe path ${JSON.stringify(entryPath)}`);
    const bad = (why: string) =>
      new RepositoryCorruptError(what, `entry ${JSON.stringify(entryPath)}: ${why}`);
    if (seen.has(entryPath)) throw bad('path appears twice');
    seen.add(entryPath);
    if (!isInt(mode) || mode < 0 || (mode & ~0o777) !== 0) throw bad('mode has more than permission bits');
    if (!isInt(size) || size < 0) throw bad('negative or invalid size');
    if (typeof modTime !== 'number' || !Number.isFinite(modTime)) throw bad('invalid modTime');
    const entry: SnapshotEntry = { path: entryPath, kind: 'file', mode, modTime, size };
    if (kind === 'directory') {
      if (linkTarget !== undefined && linkTarget !== '') throw bad('a directory with a link target');
      if (Array.isArray(chunks) && chunks.length > 0) throw bad('a directory with chunks');
      entry.kind = 'directory';
    } else if (kind === 'symlink') {
      if (typeof linkTarget !== 'string' || linkTarget === '' || linkTarget.includes('\0'))
        throw bad('a symlink without a target');
      if (linkTarget.startsWith('/') || resolveInside(entryPath, linkTarget) === null)
        throw bad(`symlink target ${JSON.stringify(linkTarget)} leaves the restore root`);
      if (Array.isArray(chunks) && chunks.length > 0) throw bad('a symlink with chunks');
      entry.kind = 'symlink';
      entry.linkTarget = linkTarget;
      symlinks.add(entryPath);
    } else if (kind === 'file') {
      const list = chunks ?? [];
      if (!Array.isArray(list) || !list.every((id) => isChunkId(id, encrypted)))
        throw bad('malformed chunk ids');
      if ((size === 0) !== (list.length === 0)) throw bad('size and chunk list disagree');
      if (list.length * CHUNK_MAX_BYTES < size) throw bad('chunks cannot hold its size');
      entry.chunks = list;
    } else throw bad(`unknown kind ${String(kind)}`);
    entries.push(entry);
  }
  // Nothing may live under a symlink: a restore would write through it.
  for (const entry of entries) {
    let cut = entry.path.lastIndexOf('/');
    while (cut > 0) {
      const ancestor = entry.path.slice(0, cut);
      if (symlinks.has(ancestor))
        throw new RepositoryCorruptError(
          what,
          `entry ${JSON.stringify(entry.path)} lies under symlink ${ancestor}`,
        );
      cut = ancestor.lastIndexOf('/');
    }
  }
  const sourcePaths = Array.isArray(value.sourcePaths)
    ? value.sourcePaths.filter((p): p is string => typeof p === 'string')
    : [];
  return {
    version: 1,
    taskId: isInt(value.taskId) ? value.taskId : 0,
    createdAt: typeof value.createdAt === 'string' ? value.createdAt : '',
    compression,
    encrypted,
    sourcePaths,
    entries,
  };
};

/** Opens and validates a snapshot envelope; its encryption must match whether a key is given. */
export const decodeSnapshotEnvelope = (bytes: Buffer, what: string, key?: Buffer): Snapshot => {
  if (bytes.length > MAX_SNAPSHOT_BYTES) throw new RepositoryCorruptError(what, 'larger than 256 MiB');
  const envelope = parseJson(bytes, what);
  if (!isRecord(envelope) || envelope.version !== 1)
    throw new RepositoryCorruptError(what, 'envelope version is not 1');
  if (typeof envelope.encrypted !== 'boolean')
    throw new RepositoryCorruptError(what, 'envelope has no encryption flag');
  if (envelope.encrypted !== (key !== undefined))
    throw new RepositoryCorruptError(
      what,
      envelope.encrypted
        ? 'the snapshot is encrypted but the task is not'
        : 'the snapshot is not encrypted but the task is',
    );
  if (!envelope.encrypted) return validateSnapshot(envelope.data, what, false);
  if (typeof envelope.ciphertext !== 'string' || key === undefined)
    throw new RepositoryCorruptError(what, 'envelope has no ciphertext');
  const plain = open(Buffer.from(envelope.ciphertext, 'base64url'), key, SNAPSHOT_AAD, what);
  return validateSnapshot(parseJson(plain, what), what, true);
};
