import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { CamelCasePlugin, Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Migrator, type Migration } from 'kysely/migration';
import pg from 'pg';
import type { DialectName } from './dialect.ts';
import { foundationMigration } from './migrations/0001-foundation.ts';
import { backupsMigration } from './migrations/0002-backups.ts';
import { clusterMigration } from './migrations/0003-cluster.ts';
import { slaMigration } from './migrations/0004-sla.ts';
import { templatesMigration } from './migrations/0005-templates.ts';
import { replicationMigration } from './migrations/0006-replication.ts';
import { verificationMigration } from './migrations/0007-verification.ts';
import { repositoryMigration } from './migrations/0008-repository.ts';
import type { Database } from './tables.ts';

// PostgreSQL returns BIGINT (ids, counts) as strings; every id here is ≤ 2^32, so numbers are exact.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface DatabaseTarget {
  dialect: DialectName;
  /** SQLite file path, or a postgres:// URL. */
  location: string;
}

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: DialectName;
  /** Human-readable location without credentials. */
  displayLocation: string;
  close(): Promise<void>;
}

const redactUrl = (url: string): string => {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.username = '';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable)';
  }
};

/** Opens the control-plane database. SQLite gets WAL and a 5 s busy timeout. */
export const openDatabase = (
  target: DatabaseTarget,
  onConnectionError: (error: Error) => void = () => undefined,
): OpenedDatabase => {
  if (target.dialect === 'postgres') {
    const pool = new pg.Pool({ connectionString: target.location, max: 10 });
    // An idle pooled connection dropped by the server (restart, failover) emits 'error'; unhandled,
    // that would end the process. The pool replaces the connection on next use, so log and go on.
    pool.on('error', onConnectionError);
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      plugins: [new CamelCasePlugin()],
    });
    return {
      db,
      dialect: 'postgres',
      displayLocation: redactUrl(target.location),
      close: () => db.destroy(),
    };
  }
  // The database holds password hashes and audit data: keep it private to the service user.
  mkdirSync(path.dirname(path.resolve(target.location)), { recursive: true, mode: 0o700 });
  const sqlite = new SqliteDatabase(target.location);
  chmodSync(target.location, 0o600);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: sqlite }),
    plugins: [new CamelCasePlugin()],
  });
  return { db, dialect: 'sqlite', displayLocation: path.resolve(target.location), close: () => db.destroy() };
};

/** All migrations in order. Names are permanent: never rename or edit a released migration. */
export const migrationsFor = (dialect: DialectName): Record<string, Migration> => ({
  '0001-foundation': foundationMigration(dialect),
  '0002-backups': backupsMigration(dialect),
  '0003-cluster': clusterMigration(dialect),
  '0004-sla': slaMigration(dialect),
  '0005-templates': templatesMigration(dialect),
  '0006-replication': replicationMigration(dialect),
  '0007-verification': verificationMigration(dialect),
  '0008-repository': repositoryMigration(dialect),
});

/** Brings the schema up to date; on PostgreSQL concurrent masters serialise on Kysely's migration lock. */
export const migrateToLatest = async (opened: OpenedDatabase): Promise<void> => {
  const migrations = migrationsFor(opened.dialect);
  const migrator = new Migrator({
    db: opened.db.withoutPlugins() as Kysely<unknown>,
    provider: { getMigrations: () => Promise.resolve(migrations) },
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error !== undefined || failed !== undefined) {
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, {
      cause: error,
    });
  }
};

/** Cheap round trip used by /ready. */
export const pingDatabase = async (db: Kysely<Database>): Promise<void> => {
  await sql`select 1`.execute(db);
};
