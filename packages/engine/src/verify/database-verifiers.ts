/**
 * Structural checks of database artifacts for verification drills (SPEC §8.3): SQLite magic plus
 * `PRAGMA integrity_check` on a copy, dump markers in the first 4096 bytes of MySQL/PostgreSQL
 * dumps, and a readable tar with HANA backup entries for SAP HANA.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { SQLITE_MAGIC, hasSqliteMagic, sqliteIntegrityProblems } from '../sources/sqlite.ts';

export interface VerifyResult {
  ok: boolean;
  summary: string;
}

export type ArtifactInput = string | Readable;

const HEAD_BYTES = 4096;

export const MYSQL_DUMP_MARKERS = ['-- MySQL dump', '-- Server version', '-- MariaDB dump'] as const;
export const POSTGRES_DUMP_MARKERS = [
  '-- PostgreSQL database dump',
  '-- Dumped from database version',
  'SET statement_timeout',
] as const;

const toStream = (input: ArtifactInput): Readable =>
  typeof input === 'string' ? createReadStream(input) : input;

/** Reads up to `limit` bytes from the start of the input, then stops reading. */
export const readHead = async (input: ArtifactInput, limit = HEAD_BYTES): Promise<Buffer> => {
  const stream = toStream(input);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      chunks.push(buffer);
      size += buffer.length;
      if (size >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit);
};

const checkMarkers = async (
  input: ArtifactInput,
  markers: readonly string[],
  kind: string,
): Promise<VerifyResult> => {
  try {
    const head = (await readHead(input)).toString('utf8');
    const found = markers.find((marker) => head.includes(marker));
    return found === undefined
      ? { ok: false, summary: `${kind} dump marker not found in the first ${String(HEAD_BYTES)} bytes` }
      : { ok: true, summary: `${kind} dump header found (${found.replace(/^-- /, '')})` };
  } catch (error) {
    return { ok: false, summary: `${kind} dump unreadable: ${String(error)}` };
  }
};

export const verifyMysqlDump = (input: ArtifactInput): Promise<VerifyResult> =>
  checkMarkers(input, MYSQL_DUMP_MARKERS, 'MySQL');

export const verifyPostgresDump = (input: ArtifactInput): Promise<VerifyResult> =>
  checkMarkers(input, POSTGRES_DUMP_MARKERS, 'PostgreSQL');

/**
 * SQLite: the magic header, then `PRAGMA integrity_check` on a private copy (a stream is first
 * written to a file in `tempDir`). `tempDir` defaults to the file's own directory.
 */
export const verifySqliteArtifact = async (
  input: ArtifactInput,
  options: { tempDir?: string } = {},
): Promise<VerifyResult> => {
  const base = options.tempDir ?? (typeof input === 'string' ? path.dirname(input) : undefined);
  if (base === undefined) throw new TypeError('verifySqliteArtifact needs tempDir for a stream input');
  const dir = await mkdtemp(path.join(base, 'sqlite-verify-'));
  const copy = path.join(dir, `copy-${randomBytes(4).toString('hex')}.db`);
  try {
    if (typeof input === 'string') await copyFile(input, copy);
    else await pipeline(input, createWriteStream(copy));
    if (!(await hasSqliteMagic(copy)))
      return {
        ok: false,
        summary: `SQLite header (${JSON.stringify(SQLITE_MAGIC.toString('latin1'))}) missing`,
      };
    const problems = sqliteIntegrityProblems(copy);
    return problems.length === 0
      ? { ok: true, summary: 'SQLite header ok, integrity_check ok' }
      : {
          ok: false,
          summary: `SQLite integrity_check failed: ${problems.slice(0, 5).join('; ')}`.slice(0, 500),
        };
  } catch (error) {
    return { ok: false, summary: `SQLite artifact unreadable: ${String(error)}`.slice(0, 500) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/** True for an entry name that looks like a HANA backup piece. */
export const isHanaBackupEntryName = (name: string): boolean => {
  const lower = name.toLowerCase();
  const base = lower.split('/').pop() ?? lower;
  return (
    lower.includes('databackup') ||
    lower.includes('logbackup') ||
    base.startsWith('hana_') ||
    lower.startsWith('hana_')
  );
};

/** SAP HANA: the whole tar must read cleanly and some entry must be a HANA backup piece. */
export const verifySaphanaTar = async (input: ArtifactInput): Promise<VerifyResult> => {
  const extract = tar.extract();
  let entries = 0;
  let bytes = 0;
  let hanaEntries = 0;
  extract.on('entry', (header, stream, next) => {
    entries += 1;
    if (isHanaBackupEntryName(header.name)) hanaEntries += 1;
    stream.on('data', (chunk: unknown) => {
      bytes += (chunk as Buffer).length;
    });
    stream.once('end', () => next());
    stream.once('error', (error) => next(error));
  });
  try {
    await pipeline(toStream(input), extract);
  } catch (error) {
    return { ok: false, summary: `tar unreadable: ${String(error)}`.slice(0, 500) };
  }
  if (entries === 0) return { ok: false, summary: 'tar contains no entries' };
  if (hanaEntries === 0)
    return { ok: false, summary: `tar (${String(entries)} entries) contains no SAP HANA backup file` };
  return {
    ok: true,
    summary: `SAP HANA tar intact (${String(entries)} entries, ${String(hanaEntries)} backup files, ${String(bytes)} bytes)`,
  };
};

/** Dispatch by task type; mongodb and others are unsupported. */
export const verifyDatabaseArtifact = async (
  taskType: string,
  input: ArtifactInput,
  options: { tempDir?: string } = {},
): Promise<VerifyResult> => {
  switch (taskType) {
    case 'sqlite':
      return verifySqliteArtifact(input, options);
    case 'mysql':
      return verifyMysqlDump(input);
    case 'postgresql':
    case 'pgsql':
      return verifyPostgresDump(input);
    case 'saphana':
      return verifySaphanaTar(input);
    default:
      if (typeof input !== 'string') input.destroy();
      return { ok: false, summary: `unsupported task type: ${taskType}` };
  }
};
