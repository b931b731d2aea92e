import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { verifyMysqlDump } from '../verify/database-verifiers.ts';
import { discoverDatabases } from './database-discovery.ts';
import { backupMysql, restoreMysql } from './mysql.ts';
import { createTestContext, type TestContext } from './test-context.ts';
import type { DatabaseConnection } from './types.ts';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const PORT = 3306;

const sql = async (statement: string, database?: string): Promise<string> => {
  const args = [
    '--host',
    HOST,
    '--port',
    String(PORT),
    '--user',
    'root',
    '--default-character-set=utf8mb4',
    '--batch',
    '--skip-column-names',
  ];
  if (database !== undefined) args.push(database);
  const { stdout } = await run('mysql', [...args, '-e', statement], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
};

const created = new Set<string>();
const createDatabase = async (rows: number): Promise<string> => {
  const name = `bx_my_${randomBytes(5).toString('hex')}`;
  created.add(name);
  await sql(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await sql(
    `CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(200) NOT NULL, note TEXT NULL, photo BLOB NULL, score DECIMAL(10,2) NULL) ENGINE=InnoDB;
     CREATE TABLE events (id INT PRIMARY KEY AUTO_INCREMENT, person_id INT NOT NULL, happened_at DATETIME NOT NULL, payload JSON NULL) ENGINE=InnoDB;
     INSERT INTO people SELECT seq, CONCAT('Zoë 世界 🎉 ', seq), IF(seq % 7 = 0, NULL, CONCAT('note ''quoted'' \\\\ ', seq)), IF(seq % 5 = 0, NULL, UNHEX(SHA2(seq, 256))), IF(seq % 3 = 0, NULL, seq / 3) FROM seq_1_to_${String(rows)};
     INSERT INTO events (person_id, happened_at, payload) SELECT seq, '2026-01-01 00:00:00' + INTERVAL seq MINUTE, IF(seq % 4 = 0, NULL, JSON_OBJECT('k', seq, 'ü', 'ß')) FROM seq_1_to_${String(rows)};
     CREATE VIEW v_people AS SELECT id, name FROM people WHERE note IS NULL;`,
    name,
  );
  return name;
};

const fingerprint = async (database: string): Promise<string> => {
  const counts = await sql(
    'SELECT (SELECT COUNT(*) FROM people), (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM people WHERE note IS NULL), (SELECT COUNT(*) FROM v_people)',
    database,
  );
  const checksums = await sql('CHECKSUM TABLE people, events EXTENDED', database);
  return `${counts.trim()}\n${checksums.replaceAll(`${database}.`, '').trim()}`;
};

const connection = (databases: string[], password = ''): DatabaseConnection => ({
  host: HOST,
  port: PORT,
  user: 'root',
  password,
  databases,
});

describe('MySQL/MariaDB source against the real MariaDB', () => {
  let ctx: TestContext;
  beforeEach(async () => {
    ctx = await createTestContext({ PATH: process.env.PATH });
  });
  afterEach(async () => {
    await ctx.cleanup();
  });
  afterAll(async () => {
    for (const name of created) await sql(`DROP DATABASE IF EXISTS \`${name}\``);
  });

  it('backs up several databases, restores them after a drop, and they match', async () => {
    const first = await createDatabase(3000);
    const second = await createDatabase(500);
    const before = [await fingerprint(first), await fingerprint(second)];

    const artifact = await backupMysql(ctx, connection([first, second]), 'My Shop DB');
    expect(artifact.fileName).toBe('my-shop-db_20260421_020000.sql');
    const file = path.join(ctx.workDir, artifact.fileName);
    await pipeline(artifact.stream, createWriteStream(file));
    await expect(artifact.completion).resolves.toMatchObject({ backupKind: 'full' });

    const text = await readFile(file, 'utf8');
    expect(text).toContain(`CREATE DATABASE /*!32312 IF NOT EXISTS*/ \`${first}\``);
    expect(text).toContain(`USE \`${second}\``);
    expect(await verifyMysqlDump(file)).toMatchObject({ ok: true });

    await sql(`DROP DATABASE \`${first}\`; DROP DATABASE \`${second}\``);
    await restoreMysql(ctx, connection([first, second]), createReadStream(file));
    expect([await fingerprint(first), await fingerprint(second)]).toEqual(before);
  });

  it('fails with a clear error on a wrong password and never logs it', async () => {
    const name = await createDatabase(10);
    const secret = `Wr0ng-${randomBytes(6).toString('hex')}`;
    const artifact = await backupMysql(ctx, connection([name], secret), 'bad');
    const file = path.join(ctx.workDir, artifact.fileName);
    await pipeline(artifact.stream, createWriteStream(file));
    const error = await artifact.completion.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('SOURCE_TOOL_FAILED');
    expect((error as EngineError).message).toMatch(/mysqldump exited with code \d+: .*Access denied/);
    expect((error as EngineError).message).not.toContain(secret);
    expect(ctx.lines.some((line) => line.message.startsWith('[mysqldump] '))).toBe(true);
    expect(JSON.stringify(ctx.lines)).not.toContain(secret);

    const restoreError = await restoreMysql(ctx, connection([name], secret), createReadStream(file)).catch(
      (e: unknown) => e,
    );
    expect((restoreError as EngineError).message).toMatch(/Access denied/);
    expect(JSON.stringify(ctx.lines)).not.toContain(secret);
  });

  it('a missing database fails the dump', async () => {
    const artifact = await backupMysql(
      ctx,
      connection([`bx_missing_${randomBytes(4).toString('hex')}`]),
      'x',
    );
    artifact.stream.resume();
    await expect(artifact.completion).rejects.toThrow(/Unknown database|Got error: 1049/);
  });

  it('discovers user databases and hides system ones', async () => {
    const name = await createDatabase(1);
    const names = await discoverDatabases(ctx, 'mysql', {
      host: HOST,
      port: PORT,
      user: 'root',
      password: '',
    });
    expect(names).toContain(name);
    expect(names).not.toContain('mysql');
    expect(names).not.toContain('information_schema');
    const secret = `Wr0ng-${randomBytes(6).toString('hex')}`;
    const failure = await discoverDatabases(ctx, 'mysql', {
      host: HOST,
      port: PORT,
      user: 'root',
      password: secret,
    }).catch((e: unknown) => e);
    expect((failure as EngineError).code).toBe('DATABASE_DISCOVER_FAILED');
    expect((failure as EngineError).message.length).toBeLessThanOrEqual(255);
    expect((failure as EngineError).message).not.toContain(secret);
  });
});
