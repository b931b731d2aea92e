/**
 * Content-defined chunking of the repository format v1 (SPEC §3.14): a normalised FastCDC-style
 * cut-point search over a Gear hash. The constants are part of the on-disk format: changing any
 * of them changes every chunk boundary, so nothing already stored would be reused.
 *
 * The reference keeps a 64-bit hash. Only its low 21 bits are ever tested, and the low k bits of
 * `(h << 1) + g` depend only on the low k bits of `h` and `g`, so a 32-bit hash over the low
 * halves of the Gear table finds exactly the same cut points (chunker.test.ts proves it against a
 * BigInt implementation) while staying in V8's small-integer arithmetic.
 */

export const CHUNK_MIN_BYTES = 512 * 1024;
export const CHUNK_AVG_BYTES = 1024 * 1024;
export const CHUNK_MAX_BYTES = 4 * 1024 * 1024;
/** Mask below the average size (harder to hit) and above it (easier), per normalised chunking. */
export const CHUNK_MASK_SMALL = 2 ** 21 - 1;
export const CHUNK_MASK_LARGE = 2 ** 19 - 1;
export const GEAR_SEED = 0x6a09e667f3bcc909n;

const MASK64 = (1n << 64n) - 1n;

/** The 256 Gear values: SplitMix64 from GEAR_SEED, as 64-bit BigInts (the reference's table). */
export const gearTable64 = (): bigint[] => {
  const table: bigint[] = [];
  let state = GEAR_SEED;
  for (let index = 0; index < 256; index += 1) {
    state = (state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    table.push(z ^ (z >> 31n));
  }
  return table;
};

/** The low 32 bits of each Gear value, as the 32-bit search uses them. */
const GEAR32 = Int32Array.from(gearTable64(), (value) => Number(BigInt.asIntN(32, value)));

/**
 * Length of the next chunk at the start of `data[0, length)`, or -1 when more bytes are needed to
 * decide. With `eof`, the rest is always emitted (a final chunk may be shorter than the minimum).
 * Callers hand it at least CHUNK_MAX_BYTES bytes unless at the end of the input, so a search never
 * has to be redone.
 */
export const findCutPoint = (data: Uint8Array, length: number, eof: boolean): number => {
  if (length < CHUNK_MIN_BYTES) return eof ? length : -1;
  const gear = GEAR32;
  let hash = 0;
  let index = CHUNK_MIN_BYTES;
  const avgEnd = Math.min(length, CHUNK_AVG_BYTES);
  for (; index < avgEnd; index += 1) {
    hash = ((hash << 1) + (gear[data[index] as number] as number)) | 0;
    if ((hash & CHUNK_MASK_SMALL) === 0) return index + 1;
  }
  const maxEnd = Math.min(length, CHUNK_MAX_BYTES);
  for (; index < maxEnd; index += 1) {
    hash = ((hash << 1) + (gear[data[index] as number] as number)) | 0;
    if ((hash & CHUNK_MASK_LARGE) === 0) return index + 1;
  }
  if (length >= CHUNK_MAX_BYTES) return CHUNK_MAX_BYTES;
  return eof ? length : -1;
};
