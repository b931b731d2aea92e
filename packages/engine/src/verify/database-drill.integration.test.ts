import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { backupMysql } from '../sources/mysql.ts';
import { backupPostgresql } from '../sources/postgresql.ts';
import { createTestContext, type TestContext } from '../sources/test-context.ts';
import type { DatabaseConnection } from '../sources/types.ts';
import { drillMysqlDump, drillPostgresDump, sqliteTableCounts } from './database-drill.ts';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const suffix = randomBytes(4).toString('hex');
/** Unique per run, so parallel runs and leftovers of crashed runs never collide. */
const prefix = (label: string): string => `bx_drill_${suffix}_${label}`;

const mysql = async (statement: string, database?: string): Promise<string> => {
  const args = [
    '--host',
    HOST,
    '--port',
    '3306',
    '--user',
    'root',
    '--default-character-set=utf8mb4',
    '-N',
    '-B',
  ];
  if (database !== undefined) args.push(database);
  const { stdout } = await run('mysql', [...args, '-e', statement]);
  return stdout;
};

const psql = async (statement: string, database = 'postgres'): Promise<string> => {
  const { stdout } = await run('psql', [
    '-X',
    '-h',
    HOST,
    '-p',
    '5432',
    '-U',
    'postgres',
    '-d',
    database,
    '-v',
    'ON_ERROR_STOP=1',
    '-At',
    '-c',
    statement,
  ]);
  return stdout;
};

const myConn = (databases: string[]): DatabaseConnection => ({
  host: HOST,
  port: 3306,
  user: 'root',
  password: '',
  databases,
});
const pgConn = (databases: string[]): DatabaseConnection => ({
  host: HOST,
  port: 5432,
  user: 'postgres',
  password: '',
  databases,
});

const myCreated = new Set<string>();
const pgCreated = new Set<string>();

const leftoverMysql = async (): Promise<string[]> =>
  (await mysql(String.raw`SHOW DATABASES LIKE 'bx\_drill%'`)).split('\n').filter((n) => n.includes(suffix));
const leftoverPostgres = async (): Promise<string[]> =>
  (await psql(String.raw`SELECT datname FROM pg_database WHERE datname LIKE 'bx\_drill%'`))
    .split('\n')
    .filter((n) => n.includes(suffix));

describe('database drills against the real servers', () => {
  let ctx: TestContext;
  beforeEach(async () => {
    ctx = await createTestContext({ PATH: process.env.PATH });
  });
  afterEach(async () => {
    await ctx.cleanup();
  });
  afterAll(async () => {
    for (const name of myCreated) await mysql(`DROP DATABASE IF EXISTS \`${name}\``);
    for (const name of pgCreated) await psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    for (const name of await leftoverMysql()) await mysql(`DROP DATABASE IF EXISTS \`${name}\``);
    for (const name of await leftoverPostgres()) await psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  const createMysqlSources = async (): Promise<[string, string]> => {
    const first = `bx_dr_${suffix}_a`;
    const second = `bx_dr_${suffix}_b`;
    myCreated.add(first);
    myCreated.add(second);
    await mysql(
      `CREATE DATABASE \`${first}\` CHARACTER SET utf8mb4; CREATE DATABASE \`${second}\` CHARACTER SET latin1`,
    );
    await mysql(
      `CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(100));
       CREATE TABLE empty_one (id INT);
       CREATE TABLE \`we ird\` (id INT);
       INSERT INTO people SELECT seq, CONCAT('Zoë ', seq) FROM seq_1_to_1234;
       INSERT INTO \`we ird\` VALUES (1),(2),(3);
       CREATE VIEW v_people AS SELECT id FROM people WHERE id < 10;
       CREATE TRIGGER tr BEFORE INSERT ON people FOR EACH ROW SET NEW.name = UPPER(NEW.name);
       CREATE PROCEDURE p() SELECT COUNT(*) FROM people;
       CREATE EVENT ev ON SCHEDULE EVERY 1 HOUR DO DELETE FROM people;`,
      first,
    );
    await mysql(
      `CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, payload BLOB);
       INSERT INTO orders (payload) SELECT UNHEX(SHA2(seq, 256)) FROM seq_1_to_77;`,
      second,
    );
    return [first, second];
  };

  const mysqlFingerprint = async (first: string, second: string): Promise<string> =>
    mysql(
      `SELECT (SELECT COUNT(*) FROM \`${first}\`.people), (SELECT COUNT(*) FROM \`${first}\`.\`we ird\`), (SELECT COUNT(*) FROM \`${second}\`.orders), (SELECT status FROM information_schema.events WHERE event_schema = '${first}')`,
    );

  it('MariaDB: restores into scratch copies, counts exactly, leaves the sources alone and nothing behind', async () => {
    const [first, second] = await createMysqlSources();
    const before = await mysqlFingerprint(first, second);

    const artifact = await backupMysql(ctx, myConn([first, second]), 'drill');
    const file = path.join(ctx.workDir, artifact.fileName);
    await pipeline(artifact.stream, createWriteStream(file));
    await artifact.completion;
    expect(await readFile(file, 'utf8')).toContain(`USE \`${first}\``);

    const result = await drillMysqlDump(ctx, myConn(['ignored']), createReadStream(file), {
      scratchPrefix: prefix('my'),
    });
    expect(result.databases).toEqual([
      { original: first, scratch: `${prefix('my')}_1` },
      { original: second, scratch: `${prefix('my')}_2` },
    ]);
    expect(result.tables).toEqual([
      { database: first, table: 'empty_one', rows: 0 },
      { database: first, table: 'people', rows: 1234 },
      { database: first, table: 'we ird', rows: 3 },
      { database: second, table: 'orders', rows: 77 },
    ]);
    expect(result.summary).toBe('restored 2 database(s) into scratch copies: 4 tables, 1314 rows');
    expect(await mysqlFingerprint(first, second)).toBe(before);
    expect(await leftoverMysql()).toEqual([]);
    expect(ctx.lines.some((l) => l.message.includes(`dropped scratch database ${prefix('my')}_2`))).toBe(
      true,
    );
  });

  it('MariaDB: a corrupt dump fails clearly and leaves no scratch database', async () => {
    const [first] = await createMysqlSources().catch(() => [`bx_dr_${suffix}_a`]);
    const artifact = await backupMysql(ctx, myConn([first]), 'drill');
    const text = (await new Response(Readable.toWeb(artifact.stream) as ReadableStream).text()).split('\n');
    await artifact.completion;
    const useAt = text.findIndex((line) => line.startsWith('USE '));
    const corrupt = [
      ...text.slice(0, useAt + 1),
      'CREATE TABLE ok (id INT);',
      'THIS IS NOT SQL (((;',
      '',
    ].join('\n');

    const error = await drillMysqlDump(ctx, myConn([]), Readable.from([corrupt]), {
      scratchPrefix: prefix('myc'),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).message).toMatch(/mysql exited with code \d+: .*syntax/i);
    expect(await leftoverMysql()).toEqual([]);
    expect(ctx.lines.some((l) => l.message.includes(`dropped scratch database ${prefix('myc')}_1`))).toBe(
      true,
    );

    // Refused before the server sees it: USE of a database the dump did not create.
    const refused = await drillMysqlDump(
      ctx,
      myConn([]),
      Readable.from([`CREATE DATABASE \`x\`;\nUSE \`${first}\`;\nDROP TABLE people;\n`]),
      { scratchPrefix: prefix('myr') },
    ).catch((e: unknown) => e);
    expect((refused as EngineError).code).toBe('DRILL_DUMP_UNSUPPORTED');
    expect(await mysql(`SELECT COUNT(*) FROM \`${first}\`.people`)).toBe('1234\n');
    expect(await leftoverMysql()).toEqual([]);
  });

  it('MariaDB: refuses to start when a scratch name already exists', async () => {
    const taken = `${prefix('myx')}_1`;
    myCreated.add(taken);
    await mysql(`CREATE DATABASE \`${taken}\``);
    const error = await drillMysqlDump(ctx, myConn([]), Readable.from(['CREATE DATABASE `a`;\n']), {
      scratchPrefix: prefix('myx'),
    }).catch((e: unknown) => e);
    expect((error as EngineError).code).toBe('DRILL_SCRATCH_EXISTS');
    // Not ours to drop.
    expect(await mysql(`SHOW DATABASES LIKE '${taken}'`)).toBe(`${taken}\n`);
  });

  const createPgSources = async (): Promise<[string, string]> => {
    const first = `bx_dr_${suffix}_a`;
    const second = `Bx Dr ${suffix} B`;
    pgCreated.add(first);
    pgCreated.add(second);
    await psql(`CREATE DATABASE "${first}"`);
    await psql(`CREATE DATABASE "${second}"`);
    await psql(
      `CREATE TABLE people (id int PRIMARY KEY, name text);
       CREATE TABLE empty_one (id int);
       CREATE SCHEMA sales;
       CREATE TABLE sales."Orders Big" (id int REFERENCES people(id), note text);
       INSERT INTO people SELECT g, 'Zoë ' || g FROM generate_series(1, 321) g;
       INSERT INTO sales."Orders Big" SELECT g, E'tab\\tDROP DATABASE x' FROM generate_series(1, 45) g;
       CREATE VIEW v_people AS SELECT id FROM people;
       CREATE FUNCTION up() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := upper(NEW.name); RETURN NEW; END $$;
       CREATE TRIGGER tr BEFORE INSERT ON people FOR EACH ROW EXECUTE FUNCTION up();
       COMMENT ON DATABASE "${first}" IS 'source';`,
      first,
    );
    await psql(
      `CREATE TABLE "MixedCase" (id int); INSERT INTO "MixedCase" SELECT generate_series(1, 9);`,
      second,
    );
    await psql(`ALTER DATABASE "${second}" SET work_mem TO '8MB'`);
    return [first, second];
  };

  const pgFingerprint = async (first: string, second: string): Promise<string> =>
    `${await psql('SELECT (SELECT count(*) FROM people), (SELECT count(*) FROM sales."Orders Big"), (SELECT shobj_description(oid, \'pg_database\') FROM pg_database WHERE datname = current_database())', first)}${await psql('SELECT count(*) FROM "MixedCase"', second)}`;

  it('PostgreSQL: restores into scratch copies, counts exactly, the sources survive the dump’s DROP DATABASE', async () => {
    const [first, second] = await createPgSources();
    const before = await pgFingerprint(first, second);

    const artifact = await backupPostgresql(ctx, pgConn([first, second]), 'drill');
    const file = path.join(ctx.workDir, artifact.fileName);
    await pipeline(artifact.stream, createWriteStream(file));
    await artifact.completion;
    const text = await readFile(file, 'utf8');
    expect(text).toContain(`DROP DATABASE IF EXISTS ${first};`);
    expect(text).toContain(`DROP DATABASE IF EXISTS "${second}";`);

    const result = await drillPostgresDump(ctx, pgConn([]), createReadStream(file), {
      scratchPrefix: prefix('pg'),
    });
    expect(result.databases).toEqual([
      { original: first, scratch: `${prefix('pg')}_1` },
      { original: second, scratch: `${prefix('pg')}_2` },
    ]);
    expect(result.tables).toEqual([
      { database: first, table: 'empty_one', rows: 0 },
      { database: first, table: 'people', rows: 321 },
      { database: first, table: 'sales.Orders Big', rows: 45 },
      { database: second, table: 'MixedCase', rows: 9 },
    ]);
    expect(result.summary).toBe('restored 2 database(s) into scratch copies: 4 tables, 375 rows');
    expect(await pgFingerprint(first, second)).toBe(before);
    expect(await leftoverPostgres()).toEqual([]);
  });

  it('PostgreSQL: a corrupt dump fails clearly and leaves no scratch database', async () => {
    const first = `bx_dr_${suffix}_c`;
    pgCreated.add(first);
    await psql(`CREATE DATABASE "${first}"`);
    await psql('CREATE TABLE keep (id int); INSERT INTO keep VALUES (1), (2);', first);
    const artifact = await backupPostgresql(ctx, pgConn([first]), 'drill');
    const text = await new Response(Readable.toWeb(artifact.stream) as ReadableStream).text();
    await artifact.completion;
    const cut = text.indexOf('CREATE TABLE');
    const corrupt = `${text.slice(0, cut)}CREATE TABLE public.ok (id int);\nTHIS IS NOT SQL (((;\n`;

    const error = await drillPostgresDump(ctx, pgConn([]), Readable.from([corrupt]), {
      scratchPrefix: prefix('pgc'),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).message).toMatch(/psql exited with code \d+: .*syntax error/);
    expect(await leftoverPostgres()).toEqual([]);
    expect(await psql('SELECT count(*) FROM keep', first)).toBe('2\n');

    const refused = await drillPostgresDump(
      ctx,
      pgConn([]),
      Readable.from([`CREATE DATABASE a;\n\\connect ${first}\nDROP TABLE keep;\n`]),
      { scratchPrefix: prefix('pgr') },
    ).catch((e: unknown) => e);
    expect((refused as EngineError).code).toBe('DRILL_DUMP_UNSUPPORTED');
    expect(await psql('SELECT count(*) FROM keep', first)).toBe('2\n');
    expect(await leftoverPostgres()).toEqual([]);
  });

  it('sqliteTableCounts counts every table of a real SQLite file', async () => {
    const file = path.join(ctx.workDir, 'app.sqlite');
    await writeFile(file, '');
    const db = new DatabaseSync(file);
    db.exec(`CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
             CREATE TABLE "odd ""name""" (x);
             CREATE TABLE empty (x);
             CREATE VIEW va AS SELECT * FROM a;
             WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 500) INSERT INTO a (v) SELECT n FROM s;
             INSERT INTO "odd ""name""" VALUES (1), (2);`);
    db.close();
    expect(sqliteTableCounts(file)).toEqual([
      { database: 'main', table: 'a', rows: 500 },
      { database: 'main', table: 'empty', rows: 0 },
      { database: 'main', table: 'odd "name"', rows: 2 },
    ]);
  });
});
