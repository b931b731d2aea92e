import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  verifyDatabaseArtifact,
  verifyMysqlDump,
  verifyPostgresDump,
  verifySaphanaTar,
  verifySqliteArtifact,
} from './database-verifiers.ts';

const tarOf = async (entries: { name: string; body: string }[]): Promise<Buffer> => {
  const pack = tar.pack();
  for (const entry of entries) pack.entry({ name: entry.name }, entry.body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(pack)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

describe('database verifiers', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bx-verify-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds MySQL/MariaDB dump markers in the first 4096 bytes only', async () => {
    expect(await verifyMysqlDump(Readable.from(['-- MariaDB dump 10.19  Distrib 10.11\n']))).toMatchObject({
      ok: true,
    });
    expect(await verifyMysqlDump(Readable.from(['-- MySQL dump 10.13\n']))).toMatchObject({ ok: true });
    expect(await verifyMysqlDump(Readable.from(['/* x */\n-- Server version\t8.0\n']))).toMatchObject({
      ok: true,
    });
    expect(await verifyMysqlDump(Readable.from(['x'.repeat(4096), '-- MySQL dump']))).toMatchObject({
      ok: false,
    });
    expect(await verifyMysqlDump(Readable.from(['SELECT 1;']))).toMatchObject({ ok: false });
  });

  it('finds PostgreSQL dump markers', async () => {
    expect(await verifyPostgresDump(Readable.from(['--\n-- PostgreSQL database dump\n--\n']))).toMatchObject({
      ok: true,
    });
    expect(await verifyPostgresDump(Readable.from(['SET statement_timeout = 0;\n']))).toMatchObject({
      ok: true,
    });
    expect(await verifyPostgresDump(Readable.from(['-- MySQL dump']))).toMatchObject({ ok: false });
    const file = path.join(dir, 'd.sql');
    await writeFile(file, '-- Dumped from database version 15.8\n');
    expect(await verifyPostgresDump(file)).toMatchObject({ ok: true });
  });

  it('checks the SQLite magic and integrity', async () => {
    const db = path.join(dir, 'a.db');
    const conn = new DatabaseSync(db);
    conn.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    conn.close();
    expect(await verifySqliteArtifact(db)).toMatchObject({
      ok: true,
      summary: 'SQLite header ok, integrity_check ok',
    });
    await writeFile(path.join(dir, 'b.db'), 'SQLite format 2\0garbage');
    expect(await verifySqliteArtifact(path.join(dir, 'b.db'))).toMatchObject({ ok: false });
    expect(await verifyDatabaseArtifact('sqlite', path.join(dir, 'b.db'))).toMatchObject({ ok: false });
  });

  it('accepts a HANA tar, rejects a truncated one and one without HANA files', async () => {
    const good = await tarOf([{ name: 'hana_hxe_20260421_020000_databackup_0_1', body: 'x'.repeat(3000) }]);
    expect(await verifySaphanaTar(Readable.from([good]))).toMatchObject({ ok: true });
    expect(await verifySaphanaTar(Readable.from([good.subarray(0, 1500)]))).toMatchObject({ ok: false });
    const logs = await tarOf([{ name: 'chan_0/log_backup_LOGBACKUP_1', body: 'x' }]);
    expect(await verifySaphanaTar(Readable.from([logs]))).toMatchObject({ ok: true });
    const other = await tarOf([{ name: 'readme.txt', body: 'x' }]);
    expect(await verifySaphanaTar(Readable.from([other]))).toMatchObject({ ok: false });
  });

  it('mongodb is unsupported', async () => {
    expect(await verifyDatabaseArtifact('mongodb', Readable.from(['x']))).toEqual({
      ok: false,
      summary: 'unsupported task type: mongodb',
    });
  });
});
