import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * A deterministic pseudo-random byte stream of `sizeBytes` (xorshift; fast, no memory growth).
 * `delayEveryBytes` + `delayMs` slow it down for abort tests.
 */
export const patternStream = (
  sizeBytes: number,
  options: {
    seed?: number;
    chunkBytes?: number;
    delayEveryBytes?: number;
    delayMs?: number;
    failAfterBytes?: number;
  } = {},
): Readable => {
  const chunkBytes = options.chunkBytes ?? 1024 * 1024;
  let state = (options.seed ?? 0x9e3779b9) >>> 0 || 1;
  let produced = 0;
  let sinceDelay = 0;
  const nextChunk = (length: number): Buffer => {
    const chunk = Buffer.allocUnsafe(length);
    let offset = 0;
    for (; offset + 4 <= length; offset += 4) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      chunk.writeUInt32LE(state >>> 0, offset);
    }
    for (; offset < length; offset += 1) chunk[offset] = offset & 0xff;
    return chunk;
  };
  return new Readable({
    highWaterMark: chunkBytes,
    read() {
      if (options.failAfterBytes !== undefined && produced >= options.failAfterBytes) {
        this.destroy(new Error('source failed on purpose'));
        return;
      }
      if (produced >= sizeBytes) {
        this.push(null);
        return;
      }
      const length = Math.min(chunkBytes, sizeBytes - produced);
      produced += length;
      sinceDelay += length;
      const chunk = nextChunk(length);
      if (options.delayEveryBytes !== undefined && sinceDelay >= options.delayEveryBytes) {
        sinceDelay = 0;
        setTimeout(() => this.push(chunk), options.delayMs ?? 50);
      } else {
        this.push(chunk);
      }
    },
  });
};

/** SHA-256 (hex) and length of everything a stream yields. */
export const digestStream = async (
  stream: NodeJS.ReadableStream,
): Promise<{ sha256: string; sizeBytes: number }> => {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    sizeBytes += buffer.length;
  }
  return { sha256: hash.digest('hex'), sizeBytes };
};

export const bufferStream = (data: Buffer | string): Readable => Readable.from([Buffer.from(data)]);

export const readAll = async (stream: NodeJS.ReadableStream): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
