/**
 * The SAP HANA Backint protocol (SPEC §3.21): functions, the request grammar of each function's
 * input file, the response lines, and EBIDs.
 */
import { randomBytes } from 'node:crypto';

export type BackintFunction = 'backup' | 'restore' | 'inquire' | 'delete';

export interface BackupRequest {
  isPipe: boolean;
  path: string;
}
export interface RestoreRequest {
  isPipe: boolean;
  ebid: string;
  path: string;
}
export interface InquireRequest {
  all: boolean;
  ebid: string;
}
export interface DeleteRequest {
  ebid: string;
}

export class BackintParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackintParseError';
  }
}

/** `-f` value, case-insensitive. */
export const parseFunction = (value: string): BackintFunction => {
  const normalized = value.trim().toLowerCase();
  if (
    normalized === 'backup' ||
    normalized === 'restore' ||
    normalized === 'inquire' ||
    normalized === 'delete'
  )
    return normalized;
  throw new BackintParseError(`unsupported backint function: ${value}`);
};

/** Strips one pair of surrounding double quotes. */
export const trimQuotes = (value: string): string => {
  const text = value.trim();
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
};

/** Splits off the first field (quoted or blank-delimited) and returns it with the trimmed rest. */
export const splitFirstField = (line: string): [first: string, rest: string] => {
  const text = line.trim();
  if (text === '') return ['', ''];
  if (text.startsWith('"')) {
    const close = text.indexOf('"', 1);
    if (close < 0) return [text, ''];
    return [text.slice(1, close), text.slice(close + 1).trim()];
  }
  const match = /[ \t]/.exec(text);
  if (match === null) return [text, ''];
  return [text.slice(0, match.index), text.slice(match.index + 1).trim()];
};

const lines = (input: string): string[] =>
  input
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');

const stripKeyword = (line: string, keyword: string): string | null =>
  line.startsWith(keyword) ? line.slice(keyword.length).trim() : null;

/** `#PIPE <path>` or `"<path>"` / `<path>`. */
export const parseBackupRequests = (input: string): BackupRequest[] =>
  lines(input).map((line) => {
    const pipe = stripKeyword(line, '#PIPE');
    if (pipe !== null) {
      if (pipe === '') throw new BackintParseError(`invalid #PIPE line: ${JSON.stringify(line)}`);
      return { isPipe: true, path: trimQuotes(pipe) };
    }
    return { isPipe: false, path: trimQuotes(line) };
  });

/** `[#PIPE ][#EBID ]<ebid> "<path>"`. */
export const parseRestoreRequests = (input: string): RestoreRequest[] =>
  lines(input).map((original) => {
    let line = original;
    const pipe = stripKeyword(line, '#PIPE');
    if (pipe !== null) line = pipe;
    line = stripKeyword(line, '#EBID') ?? line;
    const [ebid, rest] = splitFirstField(line);
    if (ebid === '' || rest === '')
      throw new BackintParseError(`invalid restore line: ${JSON.stringify(original)}`);
    return { isPipe: pipe !== null, ebid: trimQuotes(ebid), path: trimQuotes(rest) };
  });

/** `#NULL` (everything) or `[#EBID ]"<ebid>"`. */
export const parseInquireRequests = (input: string): InquireRequest[] =>
  lines(input).map((line) => {
    if (line === '#NULL') return { all: true, ebid: '' };
    const ebid = trimQuotes(stripKeyword(line, '#EBID') ?? line);
    if (ebid === '') throw new BackintParseError(`invalid inquire line: ${JSON.stringify(line)}`);
    return { all: false, ebid };
  });

/** `[#EBID ]<ebid>`. */
export const parseDeleteRequests = (input: string): DeleteRequest[] =>
  lines(input).map((line) => {
    const ebid = trimQuotes(stripKeyword(line, '#EBID') ?? line);
    if (ebid === '') throw new BackintParseError(`invalid delete line: ${JSON.stringify(line)}`);
    return { ebid };
  });

/** `"value"` with inner quotes escaped as `\"`. */
export const quote = (value: string): string => `"${value.replaceAll('"', '\\"')}"`;

export const savedLine = (ebid: string, path: string): string => `#SAVED ${ebid} ${quote(path)}\n`;
export const restoredLine = (ebid: string, path: string): string =>
  `#RESTORED ${quote(ebid)} ${quote(path)}\n`;
export const backupLine = (ebid: string): string => `#BACKUP ${quote(ebid)}\n`;
export const notFoundLine = (identifier: string): string => `#NOTFOUND ${quote(identifier)}\n`;
export const deletedLine = (ebid: string): string => `#DELETED ${quote(ebid)}\n`;
export const errorLine = (identifier: string): string => `#ERROR ${quote(identifier)}\n`;

/** `backupx-<unix seconds>-<16 hex>` */
export const newEbid = (now: Date, random: () => string = () => randomBytes(8).toString('hex')): string =>
  `backupx-${String(Math.floor(now.getTime() / 1000))}-${random()}`;

export const isValidEbid = (ebid: string): boolean => ebid.length > 0 && ebid.length <= 128;

/** `[KEY_PREFIX/]<ebid>.bin` (+ `.gz` when compressing). */
export const objectKeyFor = (keyPrefix: string, ebid: string, compress: boolean): string =>
  `${keyPrefix === '' ? '' : `${keyPrefix}/`}${ebid}.bin${compress ? '.gz' : ''}`;
