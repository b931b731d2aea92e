import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_AVG_BYTES,
  CHUNK_MASK_LARGE,
  CHUNK_MASK_SMALL,
  CHUNK_MAX_BYTES,
  CHUNK_MIN_BYTES,
  findCutPoint,
  gearTable64,
} from './chunker.ts';

const MASK64 = (1n << 64n) - 1n;
const GEAR64 = gearTable64();

/** The reference's search, literally: 64-bit hash, 64-bit masks. */
const referenceCut = (data: Uint8Array, length: number, eof: boolean): number => {
  if (length < CHUNK_MIN_BYTES) return eof ? length : -1;
  let hash = 0n;
  const end = Math.min(length, CHUNK_MAX_BYTES);
  for (let index = CHUNK_MIN_BYTES; index < end; index += 1) {
    hash = ((hash << 1n) + (GEAR64[data[index] as number] as bigint)) & MASK64;
    const mask = BigInt(index < CHUNK_AVG_BYTES ? CHUNK_MASK_SMALL : CHUNK_MASK_LARGE);
    if ((hash & mask) === 0n) return index + 1;
  }
  if (length >= CHUNK_MAX_BYTES) return CHUNK_MAX_BYTES;
  return eof ? length : -1;
};

const split = (data: Buffer, cut: typeof findCutPoint): Buffer[] => {
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    const rest = data.subarray(offset);
    const length = cut(rest, rest.length, true);
    chunks.push(rest.subarray(0, length));
    offset += length;
  }
  return chunks;
};

describe('content-defined chunker', () => {
  it('has the reference Gear table (SplitMix64 from the format seed)', () => {
    expect(GEAR64).toHaveLength(256);
    // First SplitMix64 output for this seed, computed independently of the table code.
    const state = (0x6a09e667f3bcc909n + 0x9e3779b97f4a7c15n) & MASK64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    expect(GEAR64[0]).toBe(z ^ (z >> 31n));
    expect(new Set(GEAR64).size).toBe(256);
  });

  it('cuts exactly where the 64-bit reference does', () => {
    const data = randomBytes(24 * 1024 * 1024);
    const ours = split(data, findCutPoint).map((c) => c.length);
    const reference = split(data, referenceCut).map((c) => c.length);
    expect(ours).toEqual(reference);
    expect(ours.length).toBeGreaterThan(8);
    for (const length of ours.slice(0, -1)) {
      expect(length).toBeGreaterThanOrEqual(CHUNK_MIN_BYTES);
      expect(length).toBeLessThanOrEqual(CHUNK_MAX_BYTES);
    }
  });

  it('asks for more bytes instead of cutting early, and emits the rest at the end', () => {
    const data = randomBytes(CHUNK_MIN_BYTES - 1);
    expect(findCutPoint(data, data.length, false)).toBe(-1);
    expect(findCutPoint(data, data.length, true)).toBe(data.length);
    expect(findCutPoint(data, 0, true)).toBe(0);
    // Zeros never hit a cut (gear[0] sums never clear the mask for long): max-size chunks.
    const zeros = Buffer.alloc(CHUNK_MAX_BYTES + 10);
    expect(findCutPoint(zeros, zeros.length, false)).toBe(referenceCut(zeros, zeros.length, false));
  });

  it('resynchronises after an insertion: at least half of the chunks are shared', () => {
    const original = randomBytes(8 * 1024 * 1024);
    const edited = Buffer.concat([
      original.subarray(0, 3 * 1024 * 1024),
      randomBytes(4096),
      original.subarray(3 * 1024 * 1024),
    ]);
    const key = (chunk: Buffer) => chunk.toString('base64');
    const before = new Set(split(original, findCutPoint).map(key));
    const after = split(edited, findCutPoint).map(key);
    const shared = after.filter((chunk) => before.has(chunk)).length;
    expect(shared * 2).toBeGreaterThanOrEqual(before.size);
  });
});
