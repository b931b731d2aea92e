import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { createScratchRewrite, validateScratchPrefix, type DumpDialect } from './database-drill.ts';

/** Feeds `text` through the rewriter in chunks of `chunkSize` bytes; returns the output or the error. */
const rewriteText = async (
  dialect: DumpDialect,
  text: string | Buffer,
  chunkSize = 7,
): Promise<{ out: string; error?: EngineError; databases: { original: string; scratch: string }[] }> => {
  const input = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunkSize) chunks.push(input.subarray(i, i + chunkSize));
  const rewrite = createScratchRewrite(dialect, 'bx_drill_7');
  const out: Buffer[] = [];
  rewrite.stream.on('data', (chunk: Buffer) => out.push(chunk));
  const finished = new Promise<EngineError | undefined>((resolve) => {
    rewrite.stream.on('end', () => resolve(undefined));
    rewrite.stream.on('error', (error) => {
      if (!(error instanceof EngineError)) throw error;
      resolve(error);
    });
  });
  Readable.from(chunks).pipe(rewrite.stream);
  const error = await finished;
  return {
    out: Buffer.concat(out).toString('utf8'),
    ...(error === undefined ? {} : { error }),
    databases: rewrite.databases(),
  };
};

/** Non-comment lines (what the server gets to execute). */
const statements = (text: string): string[] =>
  text.split('\n').filter((line) => line.trim() !== '' && !line.trimStart().startsWith('--'));

const PG_DUMP = (name: string, quoted: string, key: string): string =>
  [
    '--',
    '-- PostgreSQL database dump',
    '--',
    '',
    `\\restrict ${key}`,
    '',
    'SET statement_timeout = 0;',
    "SELECT pg_catalog.set_config('search_path', '', false);",
    '',
    `ALTER DATABASE ${quoted} IS_TEMPLATE = false;`,
    `DROP DATABASE IF EXISTS ${quoted};`,
    `-- Name: ${name}; Type: DATABASE; Schema: -; Owner: postgres`,
    `CREATE DATABASE ${quoted} WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE = 'C.UTF-8';`,
    `ALTER DATABASE ${quoted} OWNER TO postgres;`,
    `\\unrestrict ${key}`,
    /^[a-z0-9_]+$/.test(name)
      ? `\\connect ${name}`
      : `\\connect -reuse-previous=on "dbname='${name.replaceAll("'", "\\'").replaceAll('"', '""')}'"`,
    `\\restrict ${key}`,
    'SET statement_timeout = 0;',
    `COMMENT ON DATABASE ${quoted} IS 'about it';`,
    `ALTER DATABASE ${quoted} SET work_mem TO '8MB';`,
    `ALTER ROLE postgres IN DATABASE ${quoted} SET search_path TO 'public';`,
    `REVOKE CONNECT,TEMPORARY ON DATABASE ${quoted} FROM PUBLIC;`,
    `GRANT ALL ON DATABASE ${quoted} TO postgres;`,
    'CREATE TABLE public.t (id integer, note text);',
    'COPY public.t (id, note) FROM stdin;',
    `1\tDROP DATABASE ${quoted};`,
    '2\t\\N',
    `3\tUSE \`${name}\`;`,
    '\\.',
    '',
    `\\unrestrict ${key}`,
  ].join('\n');

describe('scratch rewrite: PostgreSQL', () => {
  it('points every database-level line at scratch names and never passes the originals on', async () => {
    const dump = `${PG_DUMP('shop', 'shop', 'abc')}\n\n${PG_DUMP('Big Shop\'s "DB"', '"Big Shop\'s ""DB"""', 'def')}\n`;
    const { out, error, databases } = await rewriteText('postgres', dump);
    expect(error).toBeUndefined();
    expect(databases).toEqual([
      { original: 'shop', scratch: 'bx_drill_7_1' },
      { original: 'Big Shop\'s "DB"', scratch: 'bx_drill_7_2' },
    ]);
    expect(out).not.toMatch(/^DROP DATABASE/m);
    expect(out).not.toContain('IS_TEMPLATE');
    const executed = statements(out).filter((line) => !/^\d\t/.test(line)); // COPY data is data
    for (const line of executed) {
      expect(line).not.toMatch(/\bshop\b/);
      expect(line).not.toContain('Big Shop');
    }
    expect(out).toContain(
      "CREATE DATABASE \"bx_drill_7_1\" WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE = 'C.UTF-8';",
    );
    expect(out).toContain('\\connect "bx_drill_7_1"');
    expect(out).toContain('\\connect "bx_drill_7_2"');
    expect(out).toContain('ALTER DATABASE "bx_drill_7_2" OWNER TO postgres;');
    expect(out).toContain('COMMENT ON DATABASE "bx_drill_7_2" IS \'about it\';');
    expect(out).toContain('ALTER ROLE postgres IN DATABASE "bx_drill_7_1" SET search_path');
    expect(out).toContain('REVOKE CONNECT,TEMPORARY ON DATABASE "bx_drill_7_1" FROM PUBLIC;');
    expect(out).toContain('GRANT ALL ON DATABASE "bx_drill_7_2" TO postgres;');
    // COPY data passes unchanged, even when it looks like a statement.
    expect(out).toContain('1\tDROP DATABASE shop;\n2\t\\N\n');
    expect(out).toContain('\\restrict abc\n');
  });

  it('is the same whatever the chunk size', async () => {
    const dump = `${PG_DUMP('shop', 'shop', 'abc')}\n`;
    const one = await rewriteText('postgres', dump, 1);
    const big = await rewriteText('postgres', dump, 1 << 20);
    expect(one.out).toBe(big.out);
  });

  it.each([
    ['a \\connect to a database the dump did not create', '\\connect postgres\n'],
    ['a USE-like \\c of another database', 'CREATE DATABASE a;\n\\c b\n'],
    ['an unknown \\connect form', "CREATE DATABASE a;\n\\connect 'a'\n"],
    ['a shell escape', '\\! rm -rf /\n'],
    ['ALTER DATABASE of a database not created', 'ALTER DATABASE other OWNER TO x;\n'],
    ['an unreadable identifier', 'CREATE DATABASE "unterminated;\n'],
    ['a statement in the maintenance database', 'CREATE TABLE t (id int);\n'],
    ['a rename of a database', 'CREATE DATABASE a;\n\\connect a\nALTER DATABASE a RENAME TO other;\n'],
    [
      'a statement on several databases',
      'CREATE DATABASE a;\n\\connect a\nGRANT CREATE ON DATABASE a, other TO x;\n',
    ],
    [
      'an unknown database-level statement',
      'CREATE DATABASE a;\n\\connect a\nALTER DATABASE TEMPLATE other;\n',
    ],
    [
      'a write to pg_database',
      "CREATE DATABASE a;\n\\connect a\nUPDATE pg_catalog.pg_database SET datistemplate = true WHERE datname = 'other';\n",
    ],
    ['a multi-line DROP DATABASE', 'CREATE DATABASE a;\n\\connect a\nDROP DATABASE\n  other;\n'],
  ])('refuses %s before the line reaches the server', async (_label, dump) => {
    const { out, error } = await rewriteText('postgres', dump);
    expect(error).toBeInstanceOf(EngineError);
    expect(error?.code).toBe('DRILL_DUMP_UNSUPPORTED');
    expect(error?.stage).toBe('restore');
    const bad = dump.trimEnd().split('\n').at(-1) ?? '';
    if (!bad.startsWith('  ')) expect(out).not.toContain(bad);
    expect(out).not.toContain('\\!');
    expect(out).not.toContain('other');
  });

  it('refuses a dump that ends inside COPY data', async () => {
    const { error } = await rewriteText(
      'postgres',
      'CREATE DATABASE a;\n\\connect a\nCOPY t (id) FROM stdin;\n1\n',
    );
    expect(error?.code).toBe('DRILL_DUMP_UNSUPPORTED');
  });

  it('passes very long data lines through without holding them', async () => {
    const long = 'x'.repeat(300_000);
    const dump = `CREATE DATABASE a;\n\\connect a\nCOPY t (v) FROM stdin;\n${long}\n\\.\nINSERT INTO t VALUES ('${long}');\n`;
    const { out, error } = await rewriteText('postgres', dump, 65_536);
    expect(error).toBeUndefined();
    expect(out).toBe(
      dump
        .replace('CREATE DATABASE a;', 'CREATE DATABASE "bx_drill_7_1";')
        .replace('\\connect a', '\\connect "bx_drill_7_1"'),
    );
  });
});

const MYSQL_DUMP = [
  '/*M!999999\\- enable the sandbox mode */ ',
  '-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB',
  '-- Host: 127.0.0.1    Database: shop',
  '/*!40101 SET NAMES utf8mb4 */;',
  '/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;',
  '',
  '--',
  '-- Current Database: `shop`',
  '--',
  '',
  '/*!40000 DROP DATABASE IF EXISTS `shop`*/;',
  'DROP DATABASE IF EXISTS shop;',
  '',
  'CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;',
  '',
  'USE `shop`;',
  'DROP TABLE IF EXISTS `t`;',
  'CREATE TABLE `t` (`id` int) ENGINE=InnoDB;',
  "INSERT INTO `t` VALUES (1,'DROP DATABASE shop'),",
  "(2,'x\\nUSE `shop`;');",
  'ALTER DATABASE `shop` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;',
  "/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`%`*/ /*!50106 EVENT `ev` ON SCHEDULE EVERY 1 HOUR STARTS '2026-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE DO DELETE FROM t */ ;;",
  "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-5,",
  "b:1-3';",
  'CREATE DATABASE /*!32312 IF NOT EXISTS*/ `we``ird db` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;',
  'USE `we``ird db`;',
  '-- Current Database: `shop`',
  'USE `shop`;',
  '',
].join('\n');

describe('scratch rewrite: MySQL', () => {
  it('points CREATE/USE/ALTER DATABASE at scratch names and drops DROP DATABASE', async () => {
    const { out, error, databases } = await rewriteText('mysql', MYSQL_DUMP);
    expect(error).toBeUndefined();
    expect(databases).toEqual([
      { original: 'shop', scratch: 'bx_drill_7_1' },
      { original: 'we`ird db', scratch: 'bx_drill_7_2' },
    ]);
    expect(out).not.toMatch(/DROP DATABASE IF EXISTS/);
    for (const line of statements(out).filter((l) => !/^(INSERT|\(2)/.test(l))) {
      expect(line).not.toMatch(/`shop`|\bshop\b/);
      expect(line).not.toContain('ird db');
    }
    expect(out).toContain('CREATE DATABASE `bx_drill_7_1` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;');
    expect(out).toContain('USE `bx_drill_7_1`;');
    expect(out).toContain('USE `bx_drill_7_2`;');
    expect(out).toContain('ALTER DATABASE `bx_drill_7_1` CHARACTER SET latin1');
    expect(out).toContain('ON COMPLETION NOT PRESERVE DISABLE DO DELETE FROM t');
    expect(out).toContain("SET @bx_drill_ignored_GTID_PURGED =/*!80000 '+'*/ 'a:1-5,\nb:1-3';");
    expect(out).not.toContain('@@GLOBAL');
    // Table data is not touched.
    expect(out).toContain("INSERT INTO `t` VALUES (1,'DROP DATABASE shop'),\n(2,'x\\nUSE `shop`;');");
  });

  it('keeps binary bytes of data lines intact', async () => {
    const data = Buffer.concat([
      Buffer.from("CREATE DATABASE `a`;\nUSE `a`;\nINSERT INTO t VALUES (_binary '"),
      Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3]),
      Buffer.from("');\n"),
    ]);
    const rewrite = createScratchRewrite('mysql', 'bx_drill_7');
    const out: Buffer[] = [];
    rewrite.stream.on('data', (chunk: Buffer) => out.push(chunk));
    const ended = new Promise((resolve) => rewrite.stream.on('end', resolve));
    rewrite.stream.end(data);
    await ended;
    expect(Buffer.concat(out).subarray(-12)).toEqual(data.subarray(-12));
  });

  it.each([
    ['USE of a database the dump did not create', 'CREATE DATABASE `a`;\nUSE `mysql`;\n'],
    ['a client command', 'CREATE DATABASE `a`;\nUSE `a`;\n\\! id\n'],
    ['an unterminated identifier', 'CREATE DATABASE `a;\n'],
    ['a statement before the first USE', 'CREATE TABLE `t` (id int);\n'],
    ['a multi-line DROP DATABASE', 'CREATE DATABASE `a`;\nUSE `a`;\nDROP DATABASE\n`other`;\n'],
    ['SET GLOBAL', 'CREATE DATABASE `a`;\nUSE `a`;\nSET GLOBAL event_scheduler = ON;\n'],
    [
      'ALTER DATABASE of another database',
      'CREATE DATABASE `a`;\nUSE `a`;\nALTER DATABASE `other` CHARACTER SET latin1;\n',
    ],
  ])('refuses %s before the line reaches the server', async (_label, dump) => {
    const { out, error } = await rewriteText('mysql', dump);
    expect(error?.code).toBe('DRILL_DUMP_UNSUPPORTED');
    expect(out).not.toContain('other');
    expect(out).not.toContain('mysql');
    expect(out).not.toContain('\\!');
    expect(out).not.toContain('GLOBAL');
    expect(out).not.toContain('CREATE TABLE');
  });
});

describe('scratch prefix', () => {
  it.each(['bx_drill_42', 'a', 'x'.repeat(41)])('accepts %s', (prefix) => {
    expect(() => validateScratchPrefix(prefix)).not.toThrow();
  });
  it.each(['', 'Bx', '1bx', 'bx-drill', 'bx drill', 'x'.repeat(42), 'bx`;drop'])('rejects %j', (prefix) => {
    expect(() => validateScratchPrefix(prefix)).toThrow(EngineError);
  });
});
