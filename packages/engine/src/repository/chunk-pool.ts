/**
 * The chunk workers of a repository backup (chunk-protocol.ts, chunk.worker.ts), seen from the
 * parent: files are submitted in walk order, batched, and shared by the workers; their results
 * (chunk records with compressed bytes, then file results) are handed to the caller one message at a
 * time, in each worker's order, and the next message waits until the previous one is handled.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { EngineError, describeError } from '../errors.ts';
import type { Compression } from '../pipeline/compression.ts';
import {
  BATCH_FILES,
  CANCELLED,
  MAX_BACKLOG,
  CLAIM_SLOTS,
  claimStart,
  controlSlots,
  outstandingSlot,
  type ChunkRecord,
  type FileJob,
  type FileResult,
  type FromWorker,
  type KnownTable,
  type ToWorker,
  type WorkerConfig,
} from './chunk-protocol.ts';

const WORKER_URL = new URL('./chunk.worker.ts', import.meta.url);
/** Batches sent and not yet wholly answered (well below CLAIM_SLOTS). */
const OPEN_BATCHES = 8;

export interface ChunkPoolHandlers {
  /** One chunk of a file, in file order; `compressed` is null when every target held it at the start. */
  chunk: (record: ChunkRecord, compressed: Buffer | null) => Promise<void> | void;
}

interface Batch {
  files: FileJob[];
  done: ((result: FileResult) => void)[];
  remaining: number;
}

/** Chunk ids as the workers' lookup table (chunk-protocol.ts KnownTable); null when empty. */
export const buildKnownTable = (ids: Iterable<string>, count: number, prefix: string): KnownTable | null => {
  if (count === 0) return null;
  let capacity = 16;
  while (capacity < count * 2) capacity *= 2;
  const buffer = new SharedArrayBuffer(capacity * 33);
  const digests = Buffer.from(buffer, 0, capacity * 32);
  const occupied = new Uint8Array(buffer, capacity * 32, capacity);
  const mask = capacity - 1;
  for (const id of ids) {
    if (!id.startsWith(prefix)) continue;
    const digest = Buffer.from(id.slice(2), 'hex');
    if (digest.length !== 32) continue;
    let slot = digest.readUInt32LE(0) & mask;
    while (occupied[slot] === 1) slot = (slot + 1) & mask;
    digest.copy(digests, slot * 32);
    occupied[slot] = 1;
  }
  return { buffer, capacity };
};

export class ChunkPool {
  readonly #workers: Worker[] = [];
  /** Per worker: batch messages sent and not yet finished. */
  readonly #backlog: number[] = [];
  /** Per worker: where its output buffers go back once packed. */
  readonly #recycle: MessagePort[] = [];
  readonly #control: Int32Array;
  readonly #claims: Uint32Array;
  readonly #handlers: ChunkPoolHandlers;
  readonly #batches = new Map<number, Batch>();
  #nextBatch = 0;
  #filling: Batch = { files: [], done: [], remaining: 0 };
  #inbox: { worker: number; message: FromWorker }[] = [];
  #pumping = false;
  #error: Error | null = null;
  #closed = false;
  #waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(
    options: { compression: Compression; zstdLevel: number; key?: Buffer },
    handlers: ChunkPoolHandlers,
  ) {
    this.#handlers = handlers;
    const count = Math.max(1, Math.min(availableParallelism(), 4));
    const control = new SharedArrayBuffer(controlSlots(count) * Int32Array.BYTES_PER_ELEMENT);
    const claims = new SharedArrayBuffer(CLAIM_SLOTS * Uint32Array.BYTES_PER_ELEMENT);
    this.#control = new Int32Array(control);
    this.#claims = new Uint32Array(claims);
    for (let index = 0; index < count; index += 1) {
      const recycling = new MessageChannel();
      this.#recycle.push(recycling.port1);
      const config: WorkerConfig = {
        index,
        recycled: recycling.port2,
        compression: options.compression,
        zstdLevel: options.zstdLevel,
        key: options.key === undefined ? null : new Uint8Array(options.key),
        control,
        claims,
      };
      const worker = new Worker(WORKER_URL, { workerData: config, transferList: [recycling.port2] });
      worker.on('message', (message: FromWorker) => {
        // Its queue is shorter now, whenever the results get packed.
        this.#backlog[index] = (this.#backlog[index] ?? 0) - message.finishedBatches;
        this.#inbox.push({ worker: index, message });
        this.#pump();
      });
      worker.on('error', (error) => {
        this.fail(
          new EngineError(
            'SOURCE_READ_FAILED',
            'source',
            `repository backup failed: ${describeError(error)}`,
            {
              cause: error,
            },
          ),
        );
      });
      worker.on('exit', () => {
        if (!this.#closed)
          this.fail(
            new EngineError(
              'SOURCE_READ_FAILED',
              'source',
              'repository backup failed: a chunk worker stopped',
            ),
          );
      });
      this.#workers.push(worker);
    }
  }

  /** Chunk ids every target holds: the workers do not encode those. */
  setKnown(table: KnownTable | null): void {
    this.#send({ type: 'known', table });
  }

  /** Queues a file; waits while the workers have enough to do. `done` gets its result. */
  async submit(job: FileJob, done: (result: FileResult) => void): Promise<void> {
    this.#check();
    this.#filling.files.push(job);
    this.#filling.done.push(done);
    if (this.#filling.files.length >= BATCH_FILES || this.#batches.size === 0) await this.#dispatch();
  }

  /** Sends what is queued and waits for every result to be handled. */
  async drain(): Promise<void> {
    if (this.#filling.files.length > 0) await this.#dispatch();
    while (this.#batches.size > 0) await this.#wait();
    this.#check();
  }

  /** Stops the workers and fails what waits (an abort, a failure of the caller). */
  fail(error: Error): void {
    this.#error ??= error;
    Atomics.store(this.#control, CANCELLED, 1);
    for (let index = 0; index < this.#workers.length; index += 1)
      Atomics.notify(this.#control, outstandingSlot(index));
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(this.#error);
    void this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    Atomics.store(this.#control, CANCELLED, 1);
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
    for (const port of this.#recycle) port.close();
  }

  #failed(): boolean {
    return this.#error !== null;
  }

  #check(): void {
    if (this.#error !== null) throw this.#error;
  }

  #send(message: ToWorker): void {
    for (const worker of this.#workers) worker.postMessage(message);
  }

  #sendTo(index: number, message: ToWorker): void {
    this.#backlog[index] = (this.#backlog[index] ?? 0) + 1;
    this.#workers[index]?.postMessage(message);
  }

  #wait(): Promise<void> {
    this.#check();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  async #dispatch(): Promise<void> {
    while (this.#batches.size >= OPEN_BATCHES) await this.#wait();
    this.#check();
    const batch = this.#filling;
    this.#filling = { files: [], done: [], remaining: 0 };
    batch.remaining = batch.files.length;
    const id = this.#nextBatch;
    this.#nextBatch += 1;
    this.#batches.set(id, batch);
    Atomics.store(this.#claims, id % CLAIM_SLOTS, claimStart(id));
    // To every worker not too far behind, and at least to the one least behind.
    const message: ToWorker = { type: 'batch', batch: id, files: batch.files };
    let least = 0;
    let sent = false;
    for (let index = 0; index < this.#workers.length; index += 1) {
      const backlog = this.#backlog[index] ?? 0;
      if (backlog < (this.#backlog[least] ?? 0)) least = index;
      if (backlog >= MAX_BACKLOG) continue;
      this.#sendTo(index, message);
      sent = true;
    }
    if (!sent) this.#sendTo(least, message);
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    void (async () => {
      try {
        for (let next = this.#inbox.shift(); next !== undefined; next = this.#inbox.shift())
          await this.#handle(next.worker, next.message);
      } catch (error) {
        this.fail(error instanceof Error ? error : new Error(String(error)));
      } finally {
        this.#pumping = false;
      }
    })();
  }

  async #handle(worker: number, message: FromWorker): Promise<void> {
    if (this.#error !== null) return;
    const { buffer } = message;
    for (const record of message.chunks) {
      const encoded =
        buffer === null || record.length === 0 ? null : Buffer.from(buffer, record.offset, record.length);
      await this.#handlers.chunk(record, encoded);
      if (this.#failed()) return;
    }
    // Packed (copied) by now: the worker fills it again.
    if (buffer !== null && !this.#closed) this.#recycle[worker]?.postMessage(buffer, [buffer]);
    Atomics.sub(this.#control, outstandingSlot(worker), message.bytes);
    Atomics.notify(this.#control, outstandingSlot(worker));
    for (const result of message.files) {
      const batch = this.#batches.get(result.batch);
      if (batch === undefined) continue;
      batch.done[result.index]?.(result);
      batch.remaining -= 1;
      if (batch.remaining === 0) {
        this.#batches.delete(result.batch);
        this.#wake();
      }
    }
  }
}
