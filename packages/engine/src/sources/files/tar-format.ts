/**
 * Encodes tar entry headers (POSIX ustar with pax extended records) without a stream around them,
 * so the file walker can write headers and data straight into its own output buffers.
 *
 * The layout is the one tar-stream writes, which GNU tar, BSD tar and Go's archive/tar (BackupX)
 * read: a pax `x` record carries what ustar cannot hold (non-ASCII or long names and link
 * targets, sub-second mtimes); numbers too large for their octal field use GNU base-256.
 */

export const TAR_BLOCK = 512;

export type TarEntryType = 'file' | 'directory' | 'symlink';

export interface TarEntryHeader {
  name: string;
  type: TarEntryType;
  /** Permission and special bits (the file-type bits are ignored). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Whole seconds since the epoch; the exact time goes in `pax.mtime`. */
  mtimeSeconds: number;
  linkname?: string;
  /** Extra pax records, e.g. `{ mtime: '1700000000.123456789' }`. */
  pax?: Record<string, string>;
}

const TYPE_FLAG: Record<TarEntryType | 'pax', number> = {
  file: 0x30, // '0'
  directory: 0x35, // '5'
  symlink: 0x32, // '2'
  pax: 0x78, // 'x'
};
const PERMISSION_MASK = 0o7777;
const NAME_BYTES = 100;
const PREFIX_BYTES = 155;

const isAscii = (value: string): boolean => {
  for (let index = 0; index < value.length; index += 1) if (value.charCodeAt(index) > 0x7f) return false;
  return true;
};

/** `digits` octal digits and a NUL; a value that does not fit is written in GNU base-256. */
const writeNumber = (block: Buffer, offset: number, fieldBytes: number, value: number): void => {
  const digits = fieldBytes - 1;
  if (value >= 0 && value < 8 ** digits) {
    block.write(Math.trunc(value).toString(8).padStart(digits, '0'), offset, digits, 'latin1');
    block[offset + digits] = 0;
    return;
  }
  // Base-256: high bit set on the first byte, big-endian two's complement after it.
  let rest = BigInt(Math.trunc(value));
  if (rest < 0n) rest += 1n << BigInt(8 * fieldBytes);
  for (let index = fieldBytes - 1; index > 0; index -= 1) {
    block[offset + index] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  block[offset] = value < 0 ? 0xff : 0x80;
};

const checksum = (block: Buffer): number => {
  let sum = 8 * 0x20; // the checksum field itself counts as spaces
  for (let index = 0; index < 148; index += 1) sum += block[index] ?? 0;
  for (let index = 156; index < TAR_BLOCK; index += 1) sum += block[index] ?? 0;
  return sum;
};

/** Splits an ASCII name into ustar prefix/name at a slash, or null when it cannot fit. */
const splitUstarName = (name: string): { prefix: string; name: string } | null => {
  if (name.length <= NAME_BYTES) return { prefix: '', name };
  let cut = name.indexOf('/');
  while (cut !== -1) {
    const rest = name.slice(cut + 1);
    if (cut <= PREFIX_BYTES && rest.length <= NAME_BYTES && rest.length > 0)
      return { prefix: name.slice(0, cut), name: rest };
    if (cut > PREFIX_BYTES) return null;
    cut = name.indexOf('/', cut + 1);
  }
  return null;
};

const writeUstarBlock = (
  block: Buffer,
  fields: {
    name: string;
    prefix: string;
    typeFlag: number;
    mode: number;
    uid: number;
    gid: number;
    size: number;
    mtimeSeconds: number;
    linkname: string;
  },
): void => {
  block.fill(0, 0, TAR_BLOCK);
  block.write(fields.name, 0, NAME_BYTES, 'utf8');
  writeNumber(block, 100, 8, fields.mode & PERMISSION_MASK);
  writeNumber(block, 108, 8, fields.uid);
  writeNumber(block, 116, 8, fields.gid);
  writeNumber(block, 124, 12, fields.size);
  writeNumber(block, 136, 12, fields.mtimeSeconds);
  block[156] = fields.typeFlag;
  if (fields.linkname !== '') block.write(fields.linkname, 157, NAME_BYTES, 'utf8');
  block.write('ustar\u000000', 257, 8, 'latin1');
  if (fields.prefix !== '') block.write(fields.prefix, 345, PREFIX_BYTES, 'utf8');
  block.write(`${checksum(block).toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
};

/** One `"<len> key=value\n"` record; `len` counts its own digits. */
const paxRecord = (key: string, value: string): string => {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body);
  const digits = String(bodyBytes).length;
  let length = bodyBytes + digits;
  if (String(length).length > digits) length += 1;
  return `${length}${body}`;
};

/** A header with its pax records worked out once: its size is known before it is written. */
export interface PlannedTarHeader {
  header: TarEntryHeader;
  /** The pax records, empty when ustar holds everything. */
  pax: Buffer;
  /** Bytes of the header blocks (a multiple of 512). */
  bytes: number;
}

export const planTarHeader = (header: TarEntryHeader): PlannedTarHeader => {
  const pax = Buffer.from(paxRecordsFor(header));
  const bytes = pax.length === 0 ? TAR_BLOCK : 2 * TAR_BLOCK + Math.ceil(pax.length / TAR_BLOCK) * TAR_BLOCK;
  return { header, pax, bytes };
};

const entryName = (header: TarEntryHeader): string =>
  header.type === 'directory' && !header.name.endsWith('/') ? `${header.name}/` : header.name;

const paxRecordsFor = (header: TarEntryHeader): string => {
  const name = entryName(header);
  let records = '';
  if (!isAscii(name) || splitUstarName(name) === null) records += paxRecord('path', name);
  const linkname = header.linkname ?? '';
  if (linkname !== '' && (!isAscii(linkname) || linkname.length > NAME_BYTES))
    records += paxRecord('linkpath', linkname);
  for (const [key, value] of Object.entries(header.pax ?? {})) records += paxRecord(key, value);
  return records;
};

/**
 * Writes the header block(s) of one entry into `target` at `offset` (pax record first when needed)
 * and returns the bytes written (`planned.bytes`). The entry's data and its padding to 512 bytes
 * are the caller's.
 */
export const writeTarHeader = (target: Buffer, offset: number, planned: PlannedTarHeader): number => {
  const { header, pax: paxBytes } = planned;
  const name = entryName(header);
  const linkname = header.linkname ?? '';
  let at = offset;
  const common = {
    mode: header.mode,
    uid: header.uid,
    gid: header.gid,
    mtimeSeconds: header.mtimeSeconds,
  };
  if (paxBytes.length > 0) {
    writeUstarBlock(target.subarray(at, at + TAR_BLOCK), {
      ...common,
      name: 'PaxHeader',
      prefix: '',
      typeFlag: TYPE_FLAG.pax,
      size: paxBytes.length,
      linkname: '',
    });
    at += TAR_BLOCK;
    const padded = Math.ceil(paxBytes.length / TAR_BLOCK) * TAR_BLOCK;
    paxBytes.copy(target, at);
    target.fill(0, at + paxBytes.length, at + padded);
    at += padded;
  }
  // With a pax record the ustar fields hold an ASCII stand-in; readers take the pax value.
  const split = isAscii(name) ? splitUstarName(name) : null;
  const asciiLink = isAscii(linkname) && linkname.length <= NAME_BYTES ? linkname : 'PaxHeader';
  writeUstarBlock(target.subarray(at, at + TAR_BLOCK), {
    ...common,
    name: split?.name ?? 'PaxHeader',
    prefix: split?.prefix ?? '',
    typeFlag: TYPE_FLAG[header.type],
    size: header.type === 'file' ? header.size : 0,
    linkname: linkname === '' ? '' : asciiLink,
  });
  return at + TAR_BLOCK - offset;
};

/** Zero bytes after `size` bytes of data up to the next 512-byte boundary. */
export const tarPaddingBytes = (size: number): number => (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;

/** The end-of-archive marker: two zero blocks. */
export const TAR_END_BYTES = 2 * TAR_BLOCK;
