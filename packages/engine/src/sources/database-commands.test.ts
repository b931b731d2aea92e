import { describe, expect, it } from 'vitest';
import { mysqlDiscoveryArgs, parseDiscoveryOutput, postgresDiscoveryArgs } from './database-discovery.ts';
import { mongoArtifactName, mongodumpArgs, mongorestoreArgs } from './mongodb.ts';
import {
  mysqlArtifactName,
  mysqlRestoreArgs,
  mysqlSecretEnv,
  mysqldumpArgs,
  requireDatabases,
} from './mysql.ts';
import { pgDumpArgs, pgSecretEnv, postgresArtifactName, psqlRestoreArgs } from './postgresql.ts';
import { sqliteArtifactName } from './sqlite.ts';
import type { DatabaseConnection } from './types.ts';

const conn: DatabaseConnection = {
  host: 'db.local',
  port: 3307,
  user: 'backup',
  password: 'pw',
  databases: ['a', 'b'],
};
const at = new Date(Date.UTC(2026, 3, 21, 2, 3, 4));

describe('MySQL command lines', () => {
  it('dumps every database with the pinned flags and no password argument', () => {
    expect(mysqldumpArgs(conn, ['a', 'b'])).toEqual([
      '--host',
      'db.local',
      '--port',
      '3307',
      '--user',
      'backup',
      '--single-transaction',
      '--quick',
      '--routines',
      '--triggers',
      '--events',
      '--no-tablespaces',
      '--net-buffer-length=32768',
      '--databases',
      'a',
      'b',
    ]);
    expect(mysqldumpArgs(conn, ['a']).join(' ')).not.toContain('pw');
    expect(mysqlRestoreArgs(conn)).toEqual(['--host', 'db.local', '--port', '3307', '--user', 'backup']);
  });
  it('passes the password only in MYSQL_PWD, omitted when empty', () => {
    expect(mysqlSecretEnv(conn)).toEqual({ MYSQL_PWD: 'pw' });
    expect(mysqlSecretEnv({ ...conn, password: '' })).toEqual({});
  });
  it('requires a database name and trims the list', () => {
    expect(requireDatabases({ ...conn, databases: [' a ', '', 'b'] }, 'source')).toEqual(['a', 'b']);
    expect(() => requireDatabases({ ...conn, databases: [' '] }, 'source')).toThrow(/at least one database/);
  });
  it('names the artifact with sanitizeB and an underscore timestamp', () => {
    expect(mysqlArtifactName('My Shop / DB', at)).toBe('my-shop---db_20260421_020304.sql');
  });
});

describe('PostgreSQL command lines', () => {
  it('dumps one database per pg_dump call', () => {
    expect(pgDumpArgs(conn, 'a')).toEqual([
      '--clean',
      '--if-exists',
      '--create',
      '--format=plain',
      '-h',
      'db.local',
      '-p',
      '3307',
      '-U',
      'backup',
      '--dbname',
      'a',
    ]);
    expect(psqlRestoreArgs(conn)).toEqual([
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      'db.local',
      '-p',
      '3307',
      '-U',
      'backup',
      '-d',
      'postgres',
      '-f',
      '-',
    ]);
    expect(pgSecretEnv(conn)).toEqual({ PGPASSWORD: 'pw' });
  });
  it('names the artifact with sanitizeA and a compact timestamp', () => {
    expect(postgresArtifactName('Orders.DB prod', at)).toBe('orders_db_prod_20260421T020304.sql');
  });
});

describe('SQLite naming', () => {
  it('keeps the db file extension', () => {
    expect(sqliteArtifactName('App', '/data/app.db', at)).toBe('app_20260421T020304.db');
    expect(sqliteArtifactName('App', '/data/app.sqlite3', at)).toBe('app_20260421T020304.sqlite3');
  });
  it('gives `.sqlite` to a file without extension (fixing the original `..sqlite`)', () => {
    expect(sqliteArtifactName('App', '/data/appdb', at)).toBe('app_20260421T020304.sqlite');
    expect(sqliteArtifactName('App', '/data/.hidden', at)).toBe('app_20260421T020304.sqlite');
  });
});

describe('MongoDB command lines', () => {
  const mongo: DatabaseConnection = {
    host: 'mongo',
    port: 27017,
    user: 'root',
    password: 'pw',
    databases: ['shop'],
  };
  it('dumps exactly one database with --db, archive to stdout', () => {
    expect(mongodumpArgs(mongo)).toEqual([
      '--host',
      'mongo',
      '--port',
      '27017',
      '--username',
      'root',
      '--authenticationDatabase',
      'admin',
      '--password',
      'pw',
      '--db',
      'shop',
      '--archive',
    ]);
  });
  it('dumps all databases when no name or several names are given', () => {
    expect(mongodumpArgs({ ...mongo, databases: [] })).not.toContain('--db');
    expect(mongodumpArgs({ ...mongo, databases: ['a', 'b'] })).not.toContain('--db');
  });
  it('omits unset connection parts', () => {
    expect(mongodumpArgs({ host: '', port: 0, user: '', password: '', databases: [] })).toEqual([
      '--archive',
    ]);
  });
  it('restores with --drop --archive', () => {
    expect(mongorestoreArgs(mongo)).toEqual([
      '--host',
      'mongo',
      '--port',
      '27017',
      '--username',
      'root',
      '--authenticationDatabase',
      'admin',
      '--password',
      'pw',
      '--drop',
      '--archive',
    ]);
    expect(mongoArtifactName('Mongo Main', at)).toBe('mongo-main_20260421_020304.archive');
  });
});

describe('database discovery', () => {
  it('builds the MySQL and PostgreSQL listing commands', () => {
    const c = { host: 'h', port: 1, user: 'u', password: 'p' };
    expect(mysqlDiscoveryArgs(c)).toEqual([
      '--host=h',
      '--port=1',
      '--user=u',
      '-e',
      'SHOW DATABASES',
      '--skip-column-names',
    ]);
    expect(postgresDiscoveryArgs(c)).toEqual([
      '-h',
      'h',
      '-p',
      '1',
      '-U',
      'u',
      '-d',
      'postgres',
      '-t',
      '-A',
      '-c',
      'SELECT datname FROM pg_database WHERE datistemplate = false ORDER BY datname',
    ]);
  });
  it('drops system databases', () => {
    expect(
      parseDiscoveryOutput('mysql', 'information_schema\nshop\nmysql\nperformance_schema\nsys\nblog\n'),
    ).toEqual(['shop', 'blog']);
    expect(parseDiscoveryOutput('postgresql', 'app\npostgres\ntemplate_x\n\n')).toEqual(['app']);
  });
});
