/**
 * A synchronous, incremental tar reader for the restore thread: fed chunks of any size, it calls
 * its handler for each entry, that entry's data (views of the input, valid during the call) and
 * the entry's end. It reads what tar-stream reads (ustar and GNU headers, pax `x`/`g` records,
 * GNU long names and link targets, base-256 numbers) with the same integrity rules as
 * readTarEntries: a bad header checksum, an unknown format, data cut short or a missing
 * end-of-archive marker (at least 1024 zero bytes after the last entry) is a TarIntegrityError.
 */
import { TarIntegrityError } from '../../verify/tar-verifier.ts';

const BLOCK = 512;
const END_MARKER_BYTES = 2 * BLOCK;
/** pax records and GNU long names are buffered; a larger one is not a real archive. */
const MAX_META_BYTES = 1024 * 1024;

export interface ParsedTarHeader {
  name: string;
  /** tar-stream's type names; `null` for a type flag it does not know. */
  type: string | null;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, with the pax fraction when there is one. */
  mtimeSeconds: number;
  linkname: string | null;
  pax: Record<string, string> | null;
}

export interface TarParserHandler {
  entry: (header: ParsedTarHeader) => void;
  data: (chunk: Buffer) => void;
  entryEnd: () => void;
}

const TYPES: Record<number, string> = {
  0: 'file',
  1: 'link',
  2: 'symlink',
  3: 'character-device',
  4: 'block-device',
  5: 'directory',
  6: 'fifo',
  7: 'contiguous-file',
  72: 'pax-header',
  55: 'pax-global-header',
  27: 'gnu-long-link-path',
  28: 'gnu-long-path',
  30: 'gnu-long-path',
};

const decodeString = (block: Buffer, offset: number, length: number): string => {
  let end = offset;
  while (end < offset + length && block[end] !== 0) end += 1;
  return block.toString('utf8', offset, end);
};

const decodeNumber = (block: Buffer, offset: number, length: number): number => {
  const first = block[offset] ?? 0;
  if ((first & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement, high bit of the first byte as the marker.
    const negative = first === 0xff;
    let value = 0n;
    for (let index = offset + 1; index < offset + length; index += 1) {
      const byte = block[index] ?? 0;
      value = (value << 8n) | BigInt(negative ? 0xff - byte : byte);
    }
    return negative ? -Number(value + 1n) : Number(value);
  }
  let start = offset;
  const end = offset + length;
  while (start < end && (block[start] === 0x20 || block[start] === 0)) start += 1;
  let stop = start;
  while (stop < end && (block[stop] ?? 0) >= 0x30 && (block[stop] ?? 0) <= 0x37) stop += 1;
  if (stop === start) return 0;
  return Number.parseInt(block.toString('latin1', start, stop), 8);
};

const checksumOf = (block: Buffer): number => {
  let sum = 8 * 0x20;
  for (let index = 0; index < 148; index += 1) sum += block[index] ?? 0;
  for (let index = 156; index < BLOCK; index += 1) sum += block[index] ?? 0;
  return sum;
};

const isZero = (bytes: Buffer): boolean => {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
};

const decodePax = (bytes: Buffer): Record<string, string> => {
  const records: Record<string, string> = {};
  let at = 0;
  while (at < bytes.length) {
    let space = at;
    while (space < bytes.length && bytes[space] !== 0x20) space += 1;
    const length = Number.parseInt(bytes.toString('latin1', at, space), 10);
    if (!Number.isFinite(length) || length <= 0 || at + length > bytes.length) break;
    const record = bytes.toString('utf8', space + 1, at + length - 1);
    const equals = record.indexOf('=');
    if (equals === -1) break;
    records[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return records;
};

type State =
  | { kind: 'header' }
  | { kind: 'data'; remaining: number; padding: number }
  | { kind: 'meta'; type: string; remaining: number; padding: number; parts: Buffer[] }
  | { kind: 'padding'; remaining: number };

export class TarParser {
  readonly #handler: TarParserHandler;
  #state: State = { kind: 'header' };
  /** A header block split across chunks. */
  #partial = Buffer.alloc(BLOCK);
  #partialBytes = 0;
  #pax: Record<string, string> | null = null;
  #globalPax: Record<string, string> | null = null;
  #longName: string | null = null;
  #longLink: string | null = null;
  #entries = 0;
  #currentName = '';
  /** Bytes after the end of the last entry, and whether all of them are zero. */
  #trailing = 0;
  #trailingZero = true;
  #total = 0;

  constructor(handler: TarParserHandler) {
    this.#handler = handler;
  }

  get entries(): number {
    return this.#entries;
  }

  push(chunk: Buffer): void {
    this.#total += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      const state = this.#state;
      switch (state.kind) {
        case 'header': {
          const take = Math.min(BLOCK - this.#partialBytes, chunk.length - at);
          let block: Buffer;
          if (this.#partialBytes === 0 && take === BLOCK) {
            block = chunk.subarray(at, at + BLOCK);
          } else {
            chunk.copy(this.#partial, this.#partialBytes, at, at + take);
            this.#partialBytes += take;
            if (this.#partialBytes < BLOCK) {
              this.#noteTrailing(chunk.subarray(at, at + take));
              at += take;
              continue;
            }
            block = this.#partial;
          }
          at += take;
          const partialBefore = this.#partialBytes;
          this.#partialBytes = 0;
          if (isZero(block)) {
            // Count only the bytes not already counted as a partial block.
            this.#noteTrailing(block.subarray(partialBefore === 0 ? 0 : partialBefore - take));
            continue;
          }
          this.#header(block);
          break;
        }
        case 'data': {
          const take = Math.min(state.remaining, chunk.length - at);
          if (take > 0) this.#handler.data(chunk.subarray(at, at + take));
          state.remaining -= take;
          at += take;
          if (state.remaining === 0) {
            this.#handler.entryEnd();
            this.#state =
              state.padding > 0 ? { kind: 'padding', remaining: state.padding } : { kind: 'header' };
          }
          break;
        }
        case 'meta': {
          const take = Math.min(state.remaining, chunk.length - at);
          state.parts.push(Buffer.from(chunk.subarray(at, at + take)));
          state.remaining -= take;
          at += take;
          if (state.remaining === 0) {
            this.#meta(state.type, Buffer.concat(state.parts));
            this.#state =
              state.padding > 0 ? { kind: 'padding', remaining: state.padding } : { kind: 'header' };
          }
          break;
        }
        case 'padding': {
          const take = Math.min(state.remaining, chunk.length - at);
          state.remaining -= take;
          at += take;
          if (state.remaining === 0) this.#state = { kind: 'header' };
          break;
        }
      }
    }
  }

  /** Call after the last chunk: throws unless the archive ended with its end-of-archive marker. */
  finish(): void {
    const state = this.#state;
    if (state.kind === 'data' || state.kind === 'meta')
      throw new TarIntegrityError(
        `tar unreadable after ${this.#entries} entries: entry "${this.#currentName}" is cut short by ${state.remaining} bytes`,
      );
    if (state.kind === 'padding')
      throw new TarIntegrityError(
        `tar truncated after ${this.#entries} entries: no end-of-archive marker after the last entry`,
      );
    if (this.#total === 0) throw new TarIntegrityError('tar is empty (0 bytes)');
    if (this.#trailing < END_MARKER_BYTES || !this.#trailingZero)
      throw new TarIntegrityError(
        `tar truncated after ${this.#entries} entries: no end-of-archive marker after the last entry`,
      );
  }

  #noteTrailing(bytes: Buffer): void {
    this.#trailing += bytes.length;
    if (this.#trailingZero && !isZero(bytes)) this.#trailingZero = false;
  }

  #header(block: Buffer): void {
    const stored = decodeNumber(block, 148, 8);
    if (stored !== checksumOf(block))
      throw new TarIntegrityError(
        `tar unreadable after ${this.#entries} entries: Invalid tar header. Maybe the tar is corrupted or it needs to be gunzipped?`,
      );
    const magic = block.toString('latin1', 257, 263);
    const ustar = magic === 'ustar\u0000';
    const gnu = magic === 'ustar ' && block.toString('latin1', 263, 265) === ' \u0000';
    if (!ustar && !gnu)
      throw new TarIntegrityError(
        `tar unreadable after ${this.#entries} entries: Invalid tar header: unknown format.`,
      );
    // A new header: whatever came before it was padding between entries, not the end marker.
    this.#trailing = 0;
    this.#trailingZero = true;
    const flag = block[156] === 0 ? 0 : (block[156] ?? 0) - 0x30;
    let name = decodeString(block, 0, 100);
    if (ustar) {
      const prefix = decodeString(block, 345, 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    let type = TYPES[flag] ?? null;
    if (flag === 0 && name.endsWith('/')) type = 'directory';
    let size = decodeNumber(block, 124, 12);
    if (
      type === 'pax-header' ||
      type === 'pax-global-header' ||
      type === 'gnu-long-path' ||
      type === 'gnu-long-link-path'
    ) {
      if (size > MAX_META_BYTES)
        throw new TarIntegrityError(
          `tar unreadable after ${this.#entries} entries: ${type} of ${size} bytes`,
        );
      this.#currentName = name;
      this.#state = {
        kind: 'meta',
        type,
        remaining: size,
        padding: (BLOCK - (size % BLOCK)) % BLOCK,
        parts: [],
      };
      if (size === 0) {
        this.#meta(type, Buffer.alloc(0));
        this.#state = { kind: 'header' };
      }
      return;
    }
    const pax = this.#globalPax === null ? this.#pax : { ...this.#globalPax, ...(this.#pax ?? {}) };
    this.#pax = null;
    let linkname: string | null = block[157] === 0 ? null : decodeString(block, 157, 100);
    if (this.#longName !== null) name = this.#longName;
    if (this.#longLink !== null) linkname = this.#longLink;
    this.#longName = null;
    this.#longLink = null;
    if (pax?.path !== undefined) name = pax.path;
    if (pax?.linkpath !== undefined) linkname = pax.linkpath;
    if (pax?.size !== undefined) size = Number.parseInt(pax.size, 10);
    if (!Number.isSafeInteger(size) || size < 0)
      throw new TarIntegrityError(
        `tar unreadable after ${this.#entries} entries: entry "${name}" has an invalid size`,
      );
    let mtimeSeconds = decodeNumber(block, 136, 12);
    if (pax?.mtime !== undefined) {
      const precise = Number.parseFloat(pax.mtime);
      if (Number.isFinite(precise)) mtimeSeconds = precise;
    }
    if (type === 'directory') size = 0;
    this.#entries += 1;
    this.#currentName = name;
    this.#handler.entry({
      name,
      type,
      size,
      mode: decodeNumber(block, 100, 8),
      uid: decodeNumber(block, 108, 8),
      gid: decodeNumber(block, 116, 8),
      mtimeSeconds,
      linkname,
      pax,
    });
    if (size === 0) {
      this.#handler.entryEnd();
      return;
    }
    this.#state = { kind: 'data', remaining: size, padding: (BLOCK - (size % BLOCK)) % BLOCK };
  }

  #meta(type: string, bytes: Buffer): void {
    switch (type) {
      case 'pax-header':
        this.#pax = decodePax(bytes);
        return;
      case 'pax-global-header':
        this.#globalPax = { ...(this.#globalPax ?? {}), ...decodePax(bytes) };
        return;
      case 'gnu-long-path':
        this.#longName = decodeString(bytes, 0, bytes.length);
        return;
      case 'gnu-long-link-path':
        this.#longLink = decodeString(bytes, 0, bytes.length);
    }
  }
}
