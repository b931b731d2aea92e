/**
 * Worker thread of the repository backup (chunk-protocol.ts): stats the files it claims, skips
 * those unchanged since the previous snapshot, reads the others with synchronous calls (this
 * thread does nothing else), cuts them into chunks, computes each chunk id (SPEC §3.14) and
 * compresses every chunk not already held by every target, then posts the results to the parent
 * (which encrypts what it packs: the cipher allocates its output, and garbage is cheaper in one
 * thread than in every worker).
 */
import { closeSync, lstatSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { createHash, createHmac, createSecretKey } from 'node:crypto';
import zlib from 'node:zlib';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import zstdBinding from 'zstd-napi/binding.js';
import { CHUNK_MAX_BYTES, findCutPoint } from './chunker.ts';
import { chunkIdDomain } from './format.ts';
import {
  CANCELLED,
  claimNext,
  OUTPUT_BYTES,
  outstandingSlot,
  POST_BYTES,
  WORKER_WINDOW_BYTES,
  type ChunkRecord,
  type FileJob,
  type FileResult,
  type FromWorker,
  type KnownTable,
  type ToWorker,
  type WorkerConfig,
} from './chunk-protocol.ts';

const config = workerData as WorkerConfig;
const port = parentPort;
if (port === null) throw new Error('chunk.worker.ts must run in a worker thread');
const control = new Int32Array(config.control);
const claims = new Uint32Array(config.claims);
const mySlot = outstandingSlot(config.index);
const secret = config.key === null ? null : createSecretKey(config.key);
const domain = Buffer.from(chunkIdDomain(config.compression, secret !== null));
const idPrefix = secret === null ? 'p-' : 'e-';

/** Twice a maximal chunk: a read tops it up whenever less than one maximal chunk is left. */
const READ_BYTES = 2 * CHUNK_MAX_BYTES;
const buffer = Buffer.allocUnsafeSlow(READ_BYTES);
/** One zstd context for every chunk (its tables are reused, not rebuilt per small file). */
const zstd = config.compression === 'zstd' ? new zstdBinding.CCtx() : null;

let known: { digests: Buffer; occupied: Uint8Array; mask: number } | null = null;
const setKnown = (table: KnownTable | null): void => {
  known =
    table === null
      ? null
      : {
          digests: Buffer.from(table.buffer, 0, table.capacity * 32),
          occupied: new Uint8Array(table.buffer, table.capacity * 32, table.capacity),
          mask: table.capacity - 1,
        };
};
/** Chunks this worker has already encoded in this run (their first copy is on its way). */
const encodedHere = new Set<string>();

const heldByAll = (digest: Buffer): boolean => {
  if (known === null) return false;
  let slot = digest.readUInt32LE(0) & known.mask;
  while (known.occupied[slot] === 1) {
    if (known.digests.compare(digest, 0, 32, slot * 32, slot * 32 + 32) === 0) return true;
    slot = (slot + 1) & known.mask;
  }
  return false;
};

const chunkDigest = (chunk: Buffer): Buffer =>
  (secret === null ? createHash('sha256') : createHmac('sha256', secret))
    .update(domain)
    .update(chunk)
    .digest();

// ---------- results ----------

let output: Buffer | null = null;
let outputUsed = 0;
let pendingChunks: ChunkRecord[] = [];
let pendingFiles: FileResult[] = [];

const cancelled = (): boolean => Atomics.load(control, CANCELLED) !== 0;

const takeOutput = (): Buffer => {
  if (output === null) {
    const returned: { message: ArrayBuffer } | undefined = receiveMessageOnPort(config.recycled);
    output = returned === undefined ? Buffer.allocUnsafeSlow(OUTPUT_BYTES) : Buffer.from(returned.message);
    outputUsed = 0;
  }
  return output;
};

/** Batch messages finished since the last post. */
let finishedBatches = 0;

const post = (): void => {
  if (pendingChunks.length === 0 && pendingFiles.length === 0 && finishedBatches === 0) return;
  // Wait while the packer is more than a window behind.
  for (;;) {
    const outstanding = Atomics.load(control, mySlot);
    if (outstanding <= WORKER_WINDOW_BYTES || cancelled()) break;
    Atomics.wait(control, mySlot, outstanding, 1000);
  }
  const sent = output === null || outputUsed === 0 ? null : (output.buffer as ArrayBuffer);
  Atomics.add(control, mySlot, outputUsed);
  const message: FromWorker = {
    type: 'results',
    chunks: pendingChunks,
    buffer: sent,
    files: pendingFiles,
    bytes: outputUsed,
    finishedBatches,
  };
  port.postMessage(message, sent === null ? [] : [sent]);
  if (sent !== null) {
    output = null;
    outputUsed = 0;
  }
  pendingChunks = [];
  pendingFiles = [];
  finishedBatches = 0;
};

/** Compresses a chunk into the output buffer (the parent encrypts it as it packs it). */
const encode = (chunk: Buffer): { offset: number; length: number } => {
  const bound = zstd === null ? chunk.length + 64 * 1024 : zstdBinding.compressBound(chunk.length);
  if (output !== null && outputUsed + bound > OUTPUT_BYTES) post();
  const out = takeOutput();
  const offset = outputUsed;
  let length: number;
  if (zstd !== null) length = zstd.compress(out.subarray(offset), chunk, config.zstdLevel);
  else {
    const compressed = config.compression === 'gzip' ? zlib.gzipSync(chunk) : chunk;
    if (offset + compressed.length > out.length) throw new Error('compressed chunk too large');
    length = compressed.copy(out, offset);
  }
  outputUsed = offset + length;
  return { offset, length };
};

const addChunk = (chunk: Buffer): string => {
  const digest = chunkDigest(chunk);
  const id = idPrefix + digest.toString('hex');
  if (!heldByAll(digest) && !encodedHere.has(id)) {
    encodedHere.add(id);
    const { offset, length } = encode(chunk);
    pendingChunks.push({ id, plainSize: chunk.length, offset, length });
    if (outputUsed >= POST_BYTES) post();
  } else pendingChunks.push({ id, plainSize: chunk.length, offset: 0, length: 0 });
  return id;
};

/** `CODE: message` for a failed system call, as describeError (errors.ts) words it. */
const describe = (error: unknown): string => {
  const errno = error as NodeJS.ErrnoException;
  if (typeof errno.code === 'string') return `${errno.code}: ${errno.message}`;
  return error instanceof Error ? error.message : String(error);
};

class Cancelled extends Error {}

const readChunks = (fd: number): { size: number; chunks: string[] } => {
  const chunks: string[] = [];
  let size = 0;
  let start = 0;
  let end = 0;
  let eof = false;
  for (;;) {
    while (!eof && end - start < CHUNK_MAX_BYTES) {
      if (end === READ_BYTES) {
        buffer.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      const n = readSync(fd, buffer, end, READ_BYTES - end, null);
      if (n === 0) eof = true;
      else end += n;
    }
    if (end === start) break;
    const length = findCutPoint(buffer.subarray(start, end), end - start, eof);
    chunks.push(addChunk(buffer.subarray(start, start + length)));
    start += length;
    size += length;
    if (cancelled()) throw new Cancelled();
  }
  return { size, chunks };
};

const processFile = (job: FileJob, batch: number, index: number): void => {
  let st: BigIntStats;
  try {
    st = job.follow ? statSync(job.path, { bigint: true }) : lstatSync(job.path, { bigint: true });
  } catch (error) {
    pendingFiles.push({ batch, index, status: 'failed', error: describe(error) });
    return;
  }
  if (!st.isFile()) {
    pendingFiles.push({ batch, index, status: 'failed', error: 'it is no longer a regular file (skipped)' });
    return;
  }
  const mode = Number(st.mode) & 0o777;
  const modTime = Number(st.mtimeNs);
  const { previous } = job;
  if (
    previous !== undefined &&
    previous.size === Number(st.size) &&
    previous.modTime === modTime &&
    previous.mode === mode
  ) {
    pendingFiles.push({ batch, index, status: 'unchanged', size: previous.size, modTime, mode });
    return;
  }
  let fd: number;
  try {
    fd = openSync(job.path, 'r');
  } catch (error) {
    pendingFiles.push({ batch, index, status: 'failed', error: describe(error) });
    return;
  }
  try {
    const { size, chunks } = readChunks(fd);
    pendingFiles.push({ batch, index, status: 'read', size, modTime, mode, chunks });
  } catch (error) {
    if (error instanceof Cancelled) throw error;
    pendingFiles.push({ batch, index, status: 'failed', error: describe(error) });
  } finally {
    closeSync(fd);
  }
};

port.on('message', (message: ToWorker) => {
  if (message.type === 'known') {
    setKnown(message.table);
    return;
  }
  const { batch, files } = message;
  try {
    for (;;) {
      if (cancelled()) return;
      const index = claimNext(claims, batch, files.length);
      if (index < 0) break;
      processFile(files[index] as FileJob, batch, index);
    }
    finishedBatches += 1;
    post();
  } catch (error) {
    if (error instanceof Cancelled) return;
    throw error;
  }
});
