/**
 * Messages and shared memory between the repository backup (chunk-pool.ts) and its chunk workers
 * (chunk.worker.ts).
 *
 * - Files go out in batches, each batch to every worker not too far behind (MAX_BACKLOG); a worker
 *   claims the next file of a batch with a compare-and-swap on the batch's claim slot, so the
 *   workers share the files of a batch one by one (a few big files do not land on one worker).
 * - Results come back per worker, in order: chunk records (with the compressed bytes of the chunks a
 *   target may lack), then the file results that name them.
 * - Flow control: each worker counts the compressed bytes it has posted and the parent has not yet
 *   packed (its control slot); it waits while that is above WORKER_WINDOW_BYTES.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Compression } from '../pipeline/compression.ts';

/** Int32 control slot: non-zero once the parent wants the work stopped. */
export const CANCELLED = 0;
/** Int32 control slot of worker `index`: compressed bytes posted and not yet packed. */
export const outstandingSlot = (index: number): number => 1 + index;
export const controlSlots = (workers: number): number => 1 + workers;
/** Compressed bytes a worker may have posted ahead of the packer. */
export const WORKER_WINDOW_BYTES = 2 * 1024 * 1024;
/**
 * A worker's output buffer: a post carries one, filled to at least POST_BYTES (or to the end of a
 * batch); the parent hands it back through the worker's recycling port once packed.
 */
export const OUTPUT_BYTES = 4 * 1024 * 1024 + 512 * 1024;
export const POST_BYTES = 1024 * 1024;

/** Claim slots (Uint32): a batch uses slot `batch % CLAIM_SLOTS`; fewer batches are ever open. */
export const CLAIM_SLOTS = 64;
/**
 * Batch messages a worker may have queued: one busy with a huge file gets no more (the others
 * claim those files), so its queue stays short.
 */
export const MAX_BACKLOG = 4;
/** Files per batch (< CLAIM_INDEX_LIMIT). */
export const BATCH_FILES = 64;
const CLAIM_INDEX_LIMIT = 4096;
/** The claim slot value of a batch before any file is claimed: its generation, index 0. */
export const claimStart = (batch: number): number => (batch & 0xfffff) * CLAIM_INDEX_LIMIT;

/** Claims the next file of `batch` (of `count` files); -1 when none is left (or the batch is gone). */
export const claimNext = (claims: Uint32Array, batch: number, count: number): number => {
  const slot = batch % CLAIM_SLOTS;
  const generation = batch & 0xfffff;
  for (;;) {
    const value = Atomics.load(claims, slot);
    if (Math.floor(value / CLAIM_INDEX_LIMIT) !== generation) return -1;
    const index = value % CLAIM_INDEX_LIMIT;
    if (index >= count) return -1;
    if (Atomics.compareExchange(claims, slot, value, value + 1) === value) return index;
  }
};

export interface WorkerConfig {
  index: number;
  compression: Compression;
  zstdLevel: number;
  /** Encryption key; absent = unencrypted ids and chunks. */
  key: Uint8Array | null;
  control: SharedArrayBuffer;
  claims: SharedArrayBuffer;
  /** Output buffers the parent is done with come back here. */
  recycled: MessagePort;
}

/**
 * Chunk ids every target held when the run started, as an open-addressing table: `capacity`
 * 32-byte digests, then `capacity` occupancy bytes; the slot is the digest's first four bytes
 * (little-endian) masked.
 */
export interface KnownTable {
  buffer: SharedArrayBuffer;
  capacity: number;
}

export interface FileJob {
  path: string;
  /** stat (the source root, which the user named) instead of lstat. */
  follow: boolean;
  /** The previous snapshot's entry: when size, mtime and mode still match, the file is not read. */
  previous?: { size: number; modTime: number; mode: number };
}

export type ToWorker =
  { type: 'known'; table: KnownTable | null } | { type: 'batch'; batch: number; files: FileJob[] };

export interface ChunkRecord {
  id: string;
  plainSize: number;
  /** Where the compressed chunk lies in the message's buffer; length 0 when not compressed (every target held it). */
  offset: number;
  length: number;
}

export type FileResult = { batch: number; index: number } & (
  | { status: 'read'; size: number; modTime: number; mode: number; chunks: string[] }
  | { status: 'unchanged'; size: number; modTime: number; mode: number }
  | { status: 'failed'; error: string }
);

export interface FromWorker {
  type: 'results';
  chunks: ChunkRecord[];
  /** OUTPUT_BYTES long; null when no chunk was compressed. */
  buffer: ArrayBuffer | null;
  files: FileResult[];
  /** Compressed bytes in this message (added to the worker's outstanding count). */
  bytes: number;
  /** Batch messages this worker is done with since its last post. */
  finishedBatches: number;
}
