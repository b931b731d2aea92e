import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { createPostgresDatabase } from '@backupx/testkit';
import { dialects, startTestMaster, TEST_PASSWORD, type TestMaster } from '../test-support/harness.ts';
import { migrateToLatest, migrationsFor } from './database.ts';
import { declaredColumns } from './tables.ts';

const migrationTables = ['kysely_migration', 'kysely_migration_lock'];

/** Columns of every table in the migrated database, as the database reports them. */
const actualColumns = async (master: TestMaster): Promise<Record<string, string[]>> => {
  const db = master.container.database.db.withoutPlugins() as Kysely<unknown>;
  const result: Record<string, string[]> = {};
  if (master.dialect === 'sqlite') {
    const tables = await sql<{
      name: string;
    }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(
      db,
    );
    for (const { name } of tables.rows) {
      const columns = await sql<{
        name: string;
      }>`select name from pragma_table_info(${name}) order by cid`.execute(db);
      result[name] = columns.rows.map((column) => column.name);
    }
  } else {
    const columns = await sql<{ table_name: string; column_name: string }>`
      select table_name, column_name from information_schema.columns
      where table_schema = current_schema() order by table_name, ordinal_position`.execute(db);
    for (const row of columns.rows) (result[row.table_name] ??= []).push(row.column_name);
  }
  return result;
};

const withoutMigrationTables = (columns: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(columns).filter(([table]) => !migrationTables.includes(table)));

describe.each(dialects)('database schema on %s', (dialect) => {
  let master: TestMaster;
  let parent: string;

  beforeAll(async () => {
    // A data directory that does not exist yet, so the master creates it (and chooses its mode).
    parent = mkdtempSync(path.join(tmpdir(), 'bx-schema-'));
    master = await startTestMaster(dialect, { reuse: { dataDir: path.join(parent, 'nested', 'data') } });
  });
  afterAll(async () => {
    await master.destroy();
    rmSync(parent, { recursive: true, force: true });
  });

  it('has exactly the columns declared in tables.ts', async () => {
    const columns = await actualColumns(master);
    expect(
      Object.keys(columns)
        .filter((table) => migrationTables.includes(table))
        .sort(),
    ).toEqual(migrationTables);
    expect(withoutMigrationTables(columns)).toEqual(
      Object.fromEntries(Object.entries(declaredColumns).map(([table, list]) => [table, [...list]])),
    );
  });

  it('treats a second migration run as a no-op', async () => {
    const before = await actualColumns(master);
    const db = master.container.database.db.withoutPlugins() as Kysely<unknown>;
    const applied = async () =>
      (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows.map(
        (row) => row.name,
      );
    expect(await applied()).toEqual(Object.keys(migrationsFor(dialect)));

    const migrator = new Migrator({
      db,
      provider: { getMigrations: () => Promise.resolve(migrationsFor(dialect)) },
    });
    const { error, results } = await migrator.migrateToLatest();
    expect(error).toBeUndefined();
    expect(results).toEqual([]);
    await migrateToLatest(master.container.database);
    expect(await applied()).toEqual(Object.keys(migrationsFor(dialect)));
    expect(await actualColumns(master)).toEqual(before);
    // The master still works on the same schema.
    await master.setupAdmin();
    await master.login('admin', TEST_PASSWORD);
  });

  if (dialect === 'sqlite') {
    it('runs SQLite in WAL mode with a 5 s busy timeout and foreign keys on', async () => {
      const db = master.container.database.db.withoutPlugins() as Kysely<unknown>;
      const journal = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
      expect(journal.rows[0]?.journal_mode).toBe('wal');
      const busy = await sql<Record<string, number>>`pragma busy_timeout`.execute(db);
      expect(Object.values(busy.rows[0] ?? {})).toEqual([5000]);
      const foreignKeys = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
      expect(foreignKeys.rows[0]?.foreign_keys).toBe(1);
    });

    it('keeps the data directory private (0700) and the database file 0600', () => {
      expect(statSync(master.dataDir).mode & 0o777).toBe(0o700);
      expect(statSync(path.join(master.dataDir, 'backupx.db')).mode & 0o777).toBe(0o600);
      expect(statSync(path.join(master.dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);
    });
  } else {
    it('keeps the directory of the generated secrets private (0700)', () => {
      expect(statSync(master.dataDir).mode & 0o777).toBe(0o700);
      expect(statSync(path.join(master.dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);
    });
  }
});

describe('two masters starting together on one fresh PostgreSQL database', () => {
  it('both migrate (serialised by the migration lock) and share the data', async () => {
    const postgres = await createPostgresDatabase();
    const dirs = [mkdtempSync(path.join(tmpdir(), 'bx-pg-a-')), mkdtempSync(path.join(tmpdir(), 'bx-pg-b-'))];
    // Masters sharing a database share their secrets (as documented for multi-master setups).
    const security = {
      jwt_secret: 'shared-jwt-secret-for-two-masters-0123456789',
      encryption_key: 'shared-encryption-key-for-two-masters-0123',
    };
    const masters: TestMaster[] = [];
    try {
      const started = await Promise.allSettled(
        dirs.map((dataDir) =>
          startTestMaster('postgres', { reuse: { dataDir, postgres }, config: { security } }),
        ),
      );
      for (const result of started) if (result.status === 'fulfilled') masters.push(result.value);
      expect(started.map((result) => (result.status === 'rejected' ? String(result.reason) : 'ok'))).toEqual([
        'ok',
        'ok',
      ]);
      const [a, b] = masters as [TestMaster, TestMaster];

      const token = await a.setupAdmin();
      const status = await b.api.get<{ data: { initialized: boolean } }>('/api/auth/setup/status');
      expect(status.body.data.initialized).toBe(true);
      // A session issued by one master is valid on the other.
      expect((await b.api.get('/api/auth/profile', { token })).status).toBe(200);
      const created = await b.api.post(
        '/api/users',
        { username: 'shared', password: TEST_PASSWORD, displayName: 'Shared', role: 'viewer' },
        { token },
      );
      expect(created.status).toBe(200);
      const users = await a.api.get<{ data: { username: string }[] }>('/api/users', { token });
      expect(users.body.data.map((user) => user.username)).toEqual(['admin', 'shared']);

      const db = a.container.database.db.withoutPlugins() as Kysely<unknown>;
      const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
      expect(applied.rows.map((row) => row.name)).toEqual(Object.keys(migrationsFor('postgres')));
      const checks = await a.container.database.db
        .selectFrom('systemConfigs')
        .select('key')
        .where('key', 'like', 'security.%')
        .execute();
      expect(checks).toHaveLength(2);
    } finally {
      for (const master of masters) await master.stop();
      await postgres.drop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
});
