import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { verifyPostgresDump } from '../verify/database-verifiers.ts';
import { discoverDatabases } from './database-discovery.ts';
import { PG_DUMP_SEPARATOR, backupPostgresql, restorePostgresql } from './postgresql.ts';
import { createTestContext, type TestContext } from './test-context.ts';
import type { DatabaseConnection } from './types.ts';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const PORT = 5432;

const sql = async (statement: string, database = 'postgres'): Promise<string> => {
  const { stdout } = await run(
    'psql',
    [
      '-h',
      HOST,
      '-p',
      String(PORT),
      '-U',
      'postgres',
      '-d',
      database,
      '-v',
      'ON_ERROR_STOP=1',
      '-t',
      '-A',
      '-c',
      statement,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
};

const created = new Set<string>();
const createDatabase = async (rows: number): Promise<string> => {
  const name = `bx_pg_${randomBytes(5).toString('hex')}`;
  created.add(name);
  await sql(`CREATE DATABASE "${name}" ENCODING 'UTF8' TEMPLATE template0`);
  await sql(
    `CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, note text NULL, photo bytea NULL, score numeric(10,2) NULL);
     CREATE TABLE events (id serial PRIMARY KEY, person_id int NOT NULL REFERENCES people(id), happened_at timestamptz NOT NULL, payload jsonb NULL);
     INSERT INTO people SELECT g, 'Zoë 世界 🎉 ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE E'note ''quoted'' \\\\ \\t' || g END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE decode(md5(g::text) || md5((g+1)::text), 'hex') END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE g / 3.0 END FROM generate_series(1, ${String(rows)}) g;
     INSERT INTO events (person_id, happened_at, payload) SELECT g, timestamptz '2026-01-01' + g * interval '1 minute',
       CASE WHEN g % 4 = 0 THEN NULL ELSE jsonb_build_object('k', g, 'ü', 'ß') END FROM generate_series(1, ${String(rows)}) g;
     CREATE VIEW v_people AS SELECT id, name FROM people WHERE note IS NULL;`,
    name,
  );
  return name;
};

const fingerprint = async (database: string): Promise<string> =>
  sql(
    `SELECT (SELECT count(*) FROM people), (SELECT count(*) FROM events), (SELECT count(*) FROM v_people),
       (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM people t),
       (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM events t),
       (SELECT nextval('events_id_seq'))`,
    database,
  );

const connection = (databases: string[], password = ''): DatabaseConnection => ({
  host: HOST,
  port: PORT,
  user: 'postgres',
  password,
  databases,
});

describe('PostgreSQL source against the real PostgreSQL', () => {
  let ctx: TestContext;
  beforeEach(async () => {
    ctx = await createTestContext({ PATH: process.env.PATH });
  });
  afterEach(async () => {
    await ctx.cleanup();
  });
  afterAll(async () => {
    for (const name of created) await sql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  it('appends the dumps of several databases, restores them after a drop, and they match', async () => {
    const first = await createDatabase(3000);
    const second = await createDatabase(400);
    const before = [await fingerprint(first), await fingerprint(second)];
    // fingerprint consumed one sequence value; the dump carries the sequence state.
    const artifact = await backupPostgresql(ctx, connection([first, second]), 'Orders.DB prod');
    expect(artifact.fileName).toBe('orders_db_prod_20260421T020000.sql');
    const file = path.join(ctx.workDir, artifact.fileName);
    await pipeline(artifact.stream, createWriteStream(file));
    await expect(artifact.completion).resolves.toMatchObject({ backupKind: 'full' });

    const text = await readFile(file, 'utf8');
    const firstAt = text.indexOf(`CREATE DATABASE ${first}`);
    const secondAt = text.indexOf(`CREATE DATABASE ${second}`);
    expect(firstAt).toBeGreaterThan(0);
    expect(secondAt).toBeGreaterThan(firstAt);
    const secondHeader = text.indexOf(
      '-- PostgreSQL database dump\n',
      text.indexOf('-- PostgreSQL database dump complete'),
    );
    expect(text.slice(secondHeader - 20, secondHeader)).toContain(`${PG_DUMP_SEPARATOR}--\n`);
    expect(await verifyPostgresDump(file)).toMatchObject({ ok: true });

    await sql(`DROP DATABASE "${first}" WITH (FORCE)`);
    await sql(`DROP DATABASE "${second}" WITH (FORCE)`);
    await restorePostgresql(ctx, connection([first, second]), createReadStream(file));
    const after = [await fingerprint(first), await fingerprint(second)];
    const strip = (value: string): string => value.split('|').slice(0, 5).join('|');
    expect(after.map(strip)).toEqual(before.map(strip));
    // the sequence continues where it stood at dump time
    expect(Number(after[0]!.trim().split('|')[5])).toBe(Number(before[0]!.trim().split('|')[5]) + 1);
  });

  it('a failing database stops the dump with the pg_dump error and never logs the password', async () => {
    const good = await createDatabase(5);
    const missing = `bx_missing_${randomBytes(4).toString('hex')}`;
    const secret = `S3cret-${randomBytes(6).toString('hex')}`;
    const artifact = await backupPostgresql(ctx, connection([good, missing], secret), 'x');
    artifact.stream.resume();
    const error = await artifact.completion.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).message).toMatch(/pg_dump exited with code 1: .*does not exist/);
    expect(JSON.stringify(ctx.lines)).not.toContain(secret);
    expect(ctx.lines.some((line) => line.message.startsWith('[pg_dump] '))).toBe(true);
  });

  it('a restore error stops psql (ON_ERROR_STOP) and fails', async () => {
    const { Readable } = await import('node:stream');
    const bad = Readable.from(['SELECT 1;\nTHIS IS NOT SQL;\nSELECT 2;\n']);
    await expect(restorePostgresql(ctx, connection(['x']), bad)).rejects.toThrow(
      /psql exited with code 3: .*syntax error/,
    );
  });

  it('an unknown role fails with a clear error', async () => {
    const artifact = await backupPostgresql(
      ctx,
      { ...connection(['postgres']), user: 'bx_no_such_role' },
      'x',
    );
    artifact.stream.resume();
    await expect(artifact.completion).rejects.toThrow(/role "bx_no_such_role" does not exist/);
  });

  it('discovers user databases and hides postgres and templates', async () => {
    const name = await createDatabase(1);
    const names = await discoverDatabases(ctx, 'postgresql', {
      host: HOST,
      port: PORT,
      user: 'postgres',
      password: '',
    });
    expect(names).toContain(name);
    expect(names).not.toContain('postgres');
    expect(names.some((n) => n.startsWith('template'))).toBe(false);
    const failure = await discoverDatabases(ctx, 'postgresql', {
      host: HOST,
      port: 1,
      user: 'postgres',
      password: '',
    }).catch((e: unknown) => e);
    expect((failure as EngineError).code).toBe('DATABASE_DISCOVER_FAILED');
  });
});
