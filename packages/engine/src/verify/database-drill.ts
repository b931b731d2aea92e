/**
 * Deep verification drills for database dumps: restore the dump into throw-away (scratch)
 * databases, count the rows of every table, and drop the scratch databases again.
 *
 * Safety comes first: the original databases named in the dump must never be touched. The dump
 * is streamed through a line rewriter that points every database-level statement (`CREATE
 * DATABASE`, `USE`, `ALTER DATABASE`, `COMMENT ON DATABASE`, `GRANT … ON DATABASE`, `\connect`, …)
 * at `<scratchPrefix>_<n>`, removes every `DROP DATABASE`, and fails the drill *before* feeding
 * a database-level line it cannot read to the server. Memory stays bounded: only the first
 * LINE_HEAD_LIMIT bytes of a line are held; the rest of a longer line is streamed through.
 */
import { performance } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { EngineError } from '../errors.ts';
import { mysqlRestoreArgs, mysqlSecretEnv } from '../sources/mysql.ts';
import { pgSecretEnv, psqlRestoreArgs } from '../sources/postgresql.ts';
import { requireExecutable, runToolCollect, runToolToEnd } from '../sources/process.ts';
import type { DatabaseConnection, SourceContext } from '../sources/types.ts';

export interface TableRowCount {
  /** The ORIGINAL database name from the dump (`main` for SQLite). */
  database: string;
  /** MySQL: the table name; PostgreSQL: `schema.table`, or `table` in `public`. */
  table: string;
  rows: number;
}

export interface DatabaseDrillResult {
  databases: { original: string; scratch: string }[];
  tables: TableRowCount[];
  summary: string;
  /** How long the import took (the restore part of a drill's RTO), ms. */
  importMs: number;
}

export interface DatabaseDrillOptions {
  /** Something like `bx_drill_42`; the scratch databases are `<prefix>_1`, `<prefix>_2`, … */
  scratchPrefix: string;
}

export type DumpDialect = 'mysql' | 'postgres';

const SCRATCH_PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,40}$/;
/** Identifier limit of PostgreSQL (MySQL allows 64). */
const MAX_SCRATCH_NAME = 63;
const MAX_TABLES_PER_DATABASE = 1000;
/** A line is classified from at most this many leading bytes; database-level lines must fit. */
const LINE_HEAD_LIMIT = 64 * 1024;
/** Dropping scratch databases must finish even after the run was cancelled, but not hang. */
const CLEANUP_TIMEOUT_MS = 120_000;
const MYSQL_DEBIAN_PACKAGE = 'default-mysql-client (or mariadb-client)';
const PG_DEBIAN_PACKAGE = 'postgresql-client';
const NEWLINE = Buffer.from('\n');

const unsupported = (message: string): EngineError =>
  new EngineError(
    'DRILL_DUMP_UNSUPPORTED',
    'restore',
    `drill stopped before this line reached the server: ${message}`,
  );

/** Shortens a dump line for an error message (it may be long; it never holds a password). */
const excerpt = (line: string): string => {
  const oneLine = line.trim();
  return oneLine.length > 120 ? `${oneLine.slice(0, 120)}…` : oneLine;
};

export const validateScratchPrefix = (prefix: string): void => {
  if (!SCRATCH_PREFIX_PATTERN.test(prefix))
    throw new EngineError(
      'DRILL_CONFIG_INVALID',
      'restore',
      `scratch prefix "${prefix}" must match ${SCRATCH_PREFIX_PATTERN.source}`,
    );
};

// ---------------------------------------------------------------------------------------------
// Identifier parsing
// ---------------------------------------------------------------------------------------------

interface ParsedIdent {
  name: string;
  /** Index just after the identifier. */
  end: number;
}

/** A quoted identifier at `pos` (the quote doubled inside), or null when it is not closed or empty. */
const parseQuotedIdent = (text: string, pos: number, quote: string): ParsedIdent | null => {
  let name = '';
  let i = pos + 1;
  while (i < text.length) {
    if (text[i] === quote) {
      if (text[i + 1] === quote) {
        name += quote;
        i += 2;
        continue;
      }
      return name === '' ? null : { name, end: i + 1 };
    }
    name += text.charAt(i);
    i += 1;
  }
  return null;
};

/** A MySQL identifier at `pos`: `` `quoted` `` (doubled backticks) or bare. */
const parseMysqlIdent = (text: string, pos: number): ParsedIdent | null => {
  if (text[pos] === '`') return parseQuotedIdent(text, pos, '`');
  const bare = /^[A-Za-z0-9_$\u0080-\uffff]+/u.exec(text.slice(pos));
  return bare === null ? null : { name: bare[0], end: pos + bare[0].length };
};

/** A PostgreSQL identifier at `pos`: `"quoted"` (doubled quotes) or bare (ASCII folded to lower case). */
const parsePgIdent = (text: string, pos: number): ParsedIdent | null => {
  if (text[pos] === '"') return parseQuotedIdent(text, pos, '"');
  const bare = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/u.exec(text.slice(pos));
  return bare === null
    ? null
    : { name: bare[0].replace(/[A-Z]/g, (c) => c.toLowerCase()), end: pos + bare[0].length };
};

/** The value of a libpq `dbname=…` connection-string item: bare or `'quoted'` with `\'`/`\\`. */
const parseConnStrDbname = (connStr: string): string | null => {
  const match = /^dbname=(.*)$/s.exec(connStr);
  if (match === null) return null;
  const value = match[1] ?? '';
  if (!value.startsWith("'")) return /^[^\s'\\]+$/.test(value) ? value : null;
  let name = '';
  let i = 1;
  while (i < value.length) {
    const c = value[i];
    if (c === '\\') {
      const next = value[i + 1];
      if (next === undefined) return null;
      name += next;
      i += 2;
      continue;
    }
    if (c === "'") return i === value.length - 1 && name !== '' ? name : null;
    name += value.charAt(i);
    i += 1;
  }
  return null;
};

const mysqlQuote = (name: string): string => `\`${name.replaceAll('`', '``')}\``;
const pgQuote = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const sqlString = (value: string): string => `'${value.replaceAll("'", "''")}'`;

// ---------------------------------------------------------------------------------------------
// Line rewriters
// ---------------------------------------------------------------------------------------------

/**
 * What a rewriter does with one line: `undefined` keeps the original bytes, `null` drops the
 * line, a string replaces it. Throws DRILL_DUMP_UNSUPPORTED for a line it must not pass on.
 */
interface LineRewriter {
  line: (line: Buffer) => string | null | undefined;
  /** Called with the head of a line longer than LINE_HEAD_LIMIT; the rest is passed through. */
  longLine: (head: string) => void;
  end: () => void;
  databases: () => { original: string; scratch: string }[];
}

/** Scratch names `<prefix>_<n>` in order of appearance, and the current mapping from original names. */
class ScratchNames {
  readonly list: { original: string; scratch: string }[] = [];
  private readonly byOriginal = new Map<string, string>();
  private readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  create(original: string): string {
    const scratch = `${this.prefix}_${String(this.list.length + 1)}`;
    if (scratch.length > MAX_SCRATCH_NAME) throw unsupported(`too many databases for prefix ${this.prefix}`);
    this.list.push({ original, scratch });
    // A name created twice maps to its newest copy, as a real restore would replace it.
    this.byOriginal.set(original, scratch);
    return scratch;
  }

  lookup(original: string, line: string): string {
    const scratch = this.byOriginal.get(original);
    if (scratch === undefined)
      throw unsupported(`the dump refers to database "${original}" that it did not create: ${excerpt(line)}`);
    return scratch;
  }
}

/** First byte after leading spaces/tabs, or -1 for a blank line. */
const firstByte = (line: Buffer): number => {
  for (const byte of line) {
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return byte;
  }
  return -1;
};

const decode = (line: Buffer): string => line.toString('utf8').replace(/\r$/, '');

/** Upper-case ASCII letter of a byte (for the first-byte fast path). */
const upper = (byte: number): number => (byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : byte);

// MySQL ------------------------------------------------------------------------------------

/** An optional leading version comment (`/*!40000 `, `/*M!100616 `) of mysqldump. */
const MY_VERSIONED = String.raw`(\/\*M?!\d*\s*)?`;
const MY_DROP_DB = new RegExp(String.raw`^${MY_VERSIONED}DROP\s+(?:DATABASE|SCHEMA)\b`, 'i');
const MY_CREATE_DB = new RegExp(
  String.raw`^${MY_VERSIONED}CREATE\s+(?:DATABASE|SCHEMA)\s+(?:\/\*!\d*\s*IF\s+NOT\s+EXISTS\s*\*\/\s*|IF\s+NOT\s+EXISTS\s+)?`,
  'i',
);
const MY_ALTER_DB = new RegExp(String.raw`^${MY_VERSIONED}ALTER\s+(?:DATABASE|SCHEMA)\s+`, 'i');
/** `ALTER DATABASE CHARACTER SET …` without a name changes the current (scratch) database. */
const MY_ALTER_DB_NAMELESS = /^(?:CHARACTER|CHARSET|DEFAULT|COLLATE|COMMENT|READ|ENCRYPTION)\b/i;
const MY_USE = /^USE\s+/i;
const MY_CURRENT_DB_COMMENT = /^-- Current Database: /;
const MY_EVENT = /^(?:\/\*!50106 CREATE\*\/.*\/\*!50106 EVENT\b|CREATE\s+(?:DEFINER\s*=\s*\S+\s+)?EVENT\b)/i;
const MY_EVENT_ENABLE = /(\bON\s+COMPLETION\s+(?:NOT\s+)?PRESERVE\s+)ENABLE\b/i;
const MY_EVENT_DISABLED = /\bON\s+COMPLETION\s+(?:NOT\s+)?PRESERVE\s+DISABLE\b/i;
const MY_SET_GLOBAL = /^SET\s+@@GLOBAL\.(\w+)\s*=/i;
const MY_ANY_GLOBAL = /^(?:\/\*!\d*\s*)?SET\s+(?:GLOBAL\b|@@GLOBAL\.)/i;
/** What mysqldump writes before the first `USE` (besides CREATE/DROP DATABASE and comments). */
const MY_PREAMBLE_OK = /^(?:\/\*M?!\d*\s*SET\b|SET\b|\/\*M!999999\\- enable the sandbox mode \*\/)/i;
/** First bytes (upper-cased) of lines that may be database-level: `/ - \ A C D G S U`. */
const MY_INTERESTING = new Set([0x2f, 0x2d, 0x5c, 0x41, 0x43, 0x44, 0x53, 0x55]);

const mysqlRewriter = (prefix: string): LineRewriter => {
  const names = new ScratchNames(prefix);
  let inDatabase = false;

  const handle = (text: string): string | null | undefined => {
    const line = text.trimStart();
    if (line === '') return undefined;
    if (line.startsWith('--')) {
      // Comments are cosmetic, but they should not name the original either.
      if (MY_CURRENT_DB_COMMENT.test(line)) return '-- Current Database: (scratch copy)';
      return undefined;
    }
    if (line.startsWith('\\')) throw unsupported(`mysql client command in the dump: ${excerpt(line)}`);

    if (MY_DROP_DB.test(line)) {
      // Never executed: the scratch databases are fresh. Only a complete one-line statement can
      // be removed safely; anything else is refused.
      if (!/;\s*$/.test(line)) throw unsupported(`multi-line DROP DATABASE: ${excerpt(line)}`);
      return null;
    }
    const create = MY_CREATE_DB.exec(line);
    if (create !== null) {
      const ident = parseMysqlIdent(line, create[0].length);
      if (ident === null) throw unsupported(`unreadable database name: ${excerpt(line)}`);
      // IF NOT EXISTS is left out on purpose: an existing scratch database fails the import
      // instead of receiving the dump.
      const scratch = names.create(ident.name);
      return `${create[1] ?? ''}CREATE DATABASE ${mysqlQuote(scratch)}${line.slice(ident.end)}`;
    }
    const alter = MY_ALTER_DB.exec(line);
    if (alter !== null) {
      const rest = line.slice(alter[0].length);
      if (MY_ALTER_DB_NAMELESS.test(rest)) {
        if (!inDatabase) throw unsupported(`ALTER DATABASE before any USE: ${excerpt(line)}`);
        return undefined;
      }
      const ident = parseMysqlIdent(line, alter[0].length);
      if (ident === null) throw unsupported(`unreadable database name: ${excerpt(line)}`);
      const scratch = names.lookup(ident.name, line);
      return `${alter[0]}${mysqlQuote(scratch)}${line.slice(ident.end)}`;
    }
    const use = MY_USE.exec(line);
    if (use !== null) {
      const ident = parseMysqlIdent(line, use[0].length);
      if (ident === null || !/^\s*;?\s*$/.test(line.slice(ident.end)))
        throw unsupported(`unreadable USE statement: ${excerpt(line)}`);
      const scratch = names.lookup(ident.name, line);
      inDatabase = true;
      return `USE ${mysqlQuote(scratch)};`;
    }
    if (MY_EVENT.test(line)) {
      // Events run on the server's scheduler: a scratch copy must not act while it exists.
      if (MY_EVENT_ENABLE.test(line)) return line.replace(MY_EVENT_ENABLE, '$1DISABLE');
      if (MY_EVENT_DISABLED.test(line)) return undefined;
      throw unsupported(`event definition whose state cannot be read: ${excerpt(line)}`);
    }
    const setGlobal = MY_SET_GLOBAL.exec(line);
    if (setGlobal !== null) {
      // e.g. MySQL 8's `SET @@GLOBAL.GTID_PURGED=…`, possibly over several lines: a drill changes
      // no server-wide state, so the value goes into a user variable and the statement stays valid.
      return `SET @bx_drill_ignored_${setGlobal[1] ?? 'global'} =${line.slice(setGlobal[0].length)}`;
    }
    if (MY_ANY_GLOBAL.test(line)) throw unsupported(`server-wide SET in the dump: ${excerpt(line)}`);
    if (!inDatabase && !MY_PREAMBLE_OK.test(line))
      throw unsupported(`statement before the first USE of a restored database: ${excerpt(line)}`);
    return undefined;
  };

  return {
    line: (bytes) => {
      const first = firstByte(bytes);
      if (first === -1) return undefined;
      // Fast path: data lines (`INSERT …`, `(1,'a'),`) cannot be database-level.
      if (inDatabase && !MY_INTERESTING.has(upper(first))) return undefined;
      return handle(decode(bytes));
    },
    longLine: (head) => {
      const line = head.trimStart();
      if (!inDatabase || !/^(?:INSERT|REPLACE|\()/i.test(line))
        throw unsupported(
          `line longer than ${String(LINE_HEAD_LIMIT)} bytes that is not table data: ${excerpt(line)}`,
        );
    },
    end: () => undefined,
    databases: () => [...names.list],
  };
};

// PostgreSQL --------------------------------------------------------------------------------

const PG_DROP_DB = /^DROP\s+DATABASE\b/i;
const PG_CREATE_DB = /^CREATE\s+DATABASE\s+/i;
const PG_ALTER_DB = /^ALTER\s+DATABASE\s+/i;
const PG_ALTER_DB_FLAGS = /^(?:WITH\s+)?(?:IS_TEMPLATE|ALLOW_CONNECTIONS|CONNECTION\s+LIMIT)\b/i;
/** Old pg_dump marked templates with `UPDATE pg_catalog.pg_database … WHERE datname = '…'`. */
const PG_CATALOG_WRITE = /^(?:UPDATE|DELETE|INSERT)\b.*\bpg_database\b/i;
const PG_COMMENT_DB = /^COMMENT\s+ON\s+DATABASE\s+/i;
const PG_SECLABEL_DB = /^SECURITY\s+LABEL\s+(?:FOR\s+(?:"(?:[^"]|"")+"|\w+)\s+)?ON\s+DATABASE\s+/i;
const PG_GRANT_DB = /^(?:GRANT|REVOKE)\s+[A-Za-z_, ]+?\s+ON\s+DATABASE\s+/i;
const PG_ROLE_IN_DB = /^ALTER\s+ROLE\s+(?:"(?:[^"]|"")+"|\w+)\s+IN\s+DATABASE\s+/i;
/** Anything else that looks like a statement on a database is refused rather than guessed. */
const PG_DB_LEVEL = /^(?:ALTER|CREATE|DROP|COMMENT|GRANT|REVOKE|SECURITY)\b[^']*\bDATABASE\b/i;
const PG_COPY_FROM_STDIN = /^COPY\s.*\sFROM\s+stdin;\s*$/i;
/** Meta-commands pg_dump writes that touch no database: `\restrict`/`\unrestrict` keys, `\encoding`. */
const PG_META_KEEP = /^\\(?:restrict|unrestrict|encoding)\s+[A-Za-z0-9_-]+\s*$/;
const PG_CONNECT = /^\\(?:connect|c)\s+/;
/** Before the first `\connect`, statements run in the maintenance database: only settings. */
const PG_PREAMBLE_OK = /^(?:SET\b|SELECT\s+pg_catalog\.set_config\()/i;
/** First bytes (upper-cased) of lines that may matter: `\ - A C D G R S U`. */
const PG_INTERESTING = new Set([0x5c, 0x2d, 0x41, 0x43, 0x44, 0x47, 0x52, 0x53, 0x55]);

const pgRewriter = (prefix: string): LineRewriter => {
  const names = new ScratchNames(prefix);
  let connected = false;
  let inCopy = false;

  /** Replaces the identifier at the end of `matched` by the scratch name of a known database. */
  const retarget = (line: string, matchedLength: number): string => {
    const ident = parsePgIdent(line, matchedLength);
    if (ident === null) throw unsupported(`unreadable database name: ${excerpt(line)}`);
    // `GRANT … ON DATABASE a, b` would reach a database that is not a scratch copy.
    if (/^\s*[,.]/.test(line.slice(ident.end)))
      throw unsupported(`statement on several databases: ${excerpt(line)}`);
    const scratch = names.lookup(ident.name, line);
    return `${line.slice(0, matchedLength)}${pgQuote(scratch)}${line.slice(ident.end)}`;
  };

  const connect = (line: string): string => {
    const args = line.replace(PG_CONNECT, '').trimEnd();
    let original: string | null = null;
    const reuse = /^-reuse-previous=on\s+/.exec(args);
    if (reuse !== null) {
      // pg_dump: `\connect -reuse-previous=on "dbname='…'"` (a connection string in an identifier).
      const ident = parsePgIdent(args, reuse[0].length);
      if (ident !== null && args[reuse[0].length] === '"' && args.slice(ident.end).trim() === '')
        original = parseConnStrDbname(ident.name);
    } else if (args.startsWith('"')) {
      const ident = parsePgIdent(args, 0);
      if (ident !== null && args.slice(ident.end).trim() === '') original = ident.name;
    } else if (/^[A-Za-z0-9_.]+$/.test(args)) {
      // psql takes an unquoted \connect argument literally (no case folding).
      original = args;
    }
    if (original === null) throw unsupported(`unsupported \\connect form: ${excerpt(line)}`);
    const scratch = names.lookup(original, line);
    connected = true;
    return `\\connect ${pgQuote(scratch)}`;
  };

  const handle = (text: string): string | null | undefined => {
    const line = text.trimStart();
    if (line === '' || line.startsWith('--')) return undefined;
    if (line.startsWith('\\')) {
      if (PG_META_KEEP.test(line)) return undefined;
      if (PG_CONNECT.test(line)) return connect(line);
      throw unsupported(`unsupported psql meta-command: ${excerpt(line)}`);
    }
    if (PG_DROP_DB.test(line)) {
      if (!/;\s*$/.test(line)) throw unsupported(`multi-line DROP DATABASE: ${excerpt(line)}`);
      return null;
    }
    const create = PG_CREATE_DB.exec(line);
    if (create !== null) {
      const ident = parsePgIdent(line, create[0].length);
      if (ident === null) throw unsupported(`unreadable database name: ${excerpt(line)}`);
      const scratch = names.create(ident.name);
      return `CREATE DATABASE ${pgQuote(scratch)}${line.slice(ident.end)}`;
    }
    const alter = PG_ALTER_DB.exec(line);
    if (alter !== null) {
      const ident = parsePgIdent(line, alter[0].length);
      if (ident === null) throw unsupported(`unreadable database name: ${excerpt(line)}`);
      const rest = line.slice(ident.end).trimStart();
      // Template/connection flags only hinder the drill (a template cannot be dropped, a closed
      // database cannot be counted); pg_dump --clean also emits `IS_TEMPLATE = false` for the
      // original right before its DROP. They are never sent.
      if (PG_ALTER_DB_FLAGS.test(rest)) return null;
      if (/^RENAME\b/i.test(rest)) throw unsupported(`ALTER DATABASE … RENAME: ${excerpt(line)}`);
      return retarget(line, alter[0].length);
    }
    if (PG_CATALOG_WRITE.test(line)) throw unsupported(`write to pg_database: ${excerpt(line)}`);
    for (const pattern of [PG_COMMENT_DB, PG_SECLABEL_DB, PG_GRANT_DB, PG_ROLE_IN_DB]) {
      const match = pattern.exec(line);
      if (match !== null) return retarget(line, match[0].length);
    }
    if (PG_DB_LEVEL.test(line)) throw unsupported(`unsupported database-level statement: ${excerpt(line)}`);
    if (!connected && !PG_PREAMBLE_OK.test(line))
      throw unsupported(`statement before the first \\connect to a restored database: ${excerpt(line)}`);
    if (PG_COPY_FROM_STDIN.test(line)) inCopy = true;
    return undefined;
  };

  return {
    line: (bytes) => {
      if (inCopy) {
        // COPY data is data to psql until the `\.` line, whatever it looks like.
        if (/^\\\.\r?$/.test(bytes.toString('latin1'))) inCopy = false;
        return undefined;
      }
      const first = firstByte(bytes);
      if (first === -1) return undefined;
      // `COPY` starts with C, so it is always decoded and seen.
      if (connected && !PG_INTERESTING.has(upper(first))) return undefined;
      return handle(decode(bytes));
    },
    longLine: (head) => {
      if (inCopy) return;
      const line = head.trimStart();
      if (!connected || /^(?:\\|COPY\b)/i.test(line) || PG_DB_LEVEL.test(line))
        throw unsupported(
          `line longer than ${String(LINE_HEAD_LIMIT)} bytes that cannot be checked: ${excerpt(line)}`,
        );
    },
    end: () => {
      if (inCopy) throw unsupported('the dump ends inside COPY data');
    },
    databases: () => [...names.list],
  };
};

/**
 * A Transform that splits the dump into lines (across chunks), lets the dialect's rewriter keep,
 * drop or replace each, and passes the bytes of ordinary lines on unchanged (binary-safe).
 */
class DumpRewriteStream extends Transform {
  private head: Buffer[] = [];
  private headLength = 0;
  /** True while the rest of a long line is being passed through. */
  private streaming = false;
  private readonly rewriter: LineRewriter;

  constructor(rewriter: LineRewriter) {
    super();
    this.rewriter = rewriter;
  }

  override _transform(raw: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
    const out: Buffer[] = [];
    try {
      let start = 0;
      while (start < chunk.length) {
        const newline = chunk.indexOf(0x0a, start);
        const end = newline === -1 ? chunk.length : newline;
        const piece = chunk.subarray(start, end);
        start = newline === -1 ? chunk.length : newline + 1;
        if (this.streaming) {
          out.push(piece);
          if (newline !== -1) {
            out.push(NEWLINE);
            this.streaming = false;
          }
          continue;
        }
        if (this.headLength + piece.length > LINE_HEAD_LIMIT) {
          const head = Buffer.concat([...this.head, piece]);
          this.resetHead();
          this.rewriter.longLine(head.subarray(0, LINE_HEAD_LIMIT).toString('utf8'));
          out.push(head);
          if (newline === -1) this.streaming = true;
          else out.push(NEWLINE);
          continue;
        }
        if (newline === -1) {
          // Copy: a partial line must not pin the whole chunk.
          this.head.push(Buffer.from(piece));
          this.headLength += piece.length;
          continue;
        }
        const line = this.head.length === 0 ? piece : Buffer.concat([...this.head, piece]);
        this.resetHead();
        this.emitLine(line, out, true);
      }
    } catch (error) {
      // Lines checked before the failing one may go on; the failing one never does.
      if (out.length > 0) this.push(Buffer.concat(out));
      callback(error as Error);
      return;
    }
    if (out.length > 0) this.push(Buffer.concat(out));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const out: Buffer[] = [];
    try {
      if (!this.streaming && this.headLength > 0) {
        const line = Buffer.concat(this.head);
        this.resetHead();
        this.emitLine(line, out, false);
      }
      this.rewriter.end();
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (out.length > 0) this.push(Buffer.concat(out));
    callback();
  }

  private emitLine(line: Buffer, out: Buffer[], newline: boolean): void {
    const result = this.rewriter.line(line);
    if (result === null) return;
    out.push(result === undefined ? line : Buffer.from(result, 'utf8'));
    if (newline) out.push(NEWLINE);
  }

  private resetHead(): void {
    this.head = [];
    this.headLength = 0;
  }
}

export interface ScratchRewrite {
  /** Write the original dump in, read the rewritten dump out. */
  stream: Transform;
  /** The databases created so far (original → scratch), in order of appearance. */
  databases: () => { original: string; scratch: string }[];
}

/** Builds the rewriting stream for a dialect (exported for tests and reuse). */
export const createScratchRewrite = (dialect: DumpDialect, scratchPrefix: string): ScratchRewrite => {
  validateScratchPrefix(scratchPrefix);
  const rewriter = dialect === 'mysql' ? mysqlRewriter(scratchPrefix) : pgRewriter(scratchPrefix);
  return { stream: new DumpRewriteStream(rewriter), databases: rewriter.databases };
};

// ---------------------------------------------------------------------------------------------
// Drills
// ---------------------------------------------------------------------------------------------

/** The shared shape of both drills; the dialects differ in the four server calls. */
interface DrillDriver {
  dialect: DumpDialect;
  label: string;
  /** Names on the server that look like `<prefix>_<n>`. */
  existingScratch: () => Promise<string[]>;
  /** Runs the rewritten dump. */
  importDump: (input: Readable) => Promise<void>;
  countTables: (databases: { original: string; scratch: string }[]) => Promise<TableRowCount[]>;
  dropDatabase: (scratch: string) => Promise<void>;
}

const scratchNamePattern = (prefix: string): RegExp => new RegExp(`^${prefix}_[0-9]+$`);

const runDrill = async (
  ctx: SourceContext,
  driver: DrillDriver,
  dump: Readable,
  options: DatabaseDrillOptions,
): Promise<DatabaseDrillResult> => {
  const rewrite = createScratchRewrite(driver.dialect, options.scratchPrefix);
  // A leftover `<prefix>_<n>` fails the drill instead of being dropped: the prefix carries the
  // drill's id, so a match is either a concurrent run of the same drill or something we did not
  // create — dropping it could destroy work that is not ours. (The restore creates the scratch
  // databases without IF NOT EXISTS as well, so a race still fails rather than merging.)
  const leftovers = await driver.existingScratch().catch((error: unknown) => {
    dump.destroy();
    throw error;
  });
  if (leftovers.length > 0) {
    dump.destroy();
    throw new EngineError(
      'DRILL_SCRATCH_EXISTS',
      'restore',
      `scratch database(s) ${leftovers.join(', ')} already exist on the ${driver.label} server; drop them or use another prefix`,
    );
  }

  let rewriteError: Error | undefined;
  rewrite.stream.on('error', (error) => {
    rewriteError ??= error;
  });
  dump.on('error', (error) => rewrite.stream.destroy(error));
  dump.pipe(rewrite.stream);

  let result: DatabaseDrillResult | undefined;
  let failed = false;
  let failure: unknown;
  try {
    ctx.log('info', `restoring the ${driver.label} dump into scratch databases ${options.scratchPrefix}_*`);
    const importStarted = performance.now();
    try {
      await driver.importDump(rewrite.stream);
    } catch (error) {
      // The rewriter's refusal is the real story; the tool only saw its input end.
      throw rewriteError instanceof EngineError ? rewriteError : error;
    }
    if (rewriteError !== undefined) throw rewriteError;
    const importMs = performance.now() - importStarted;
    const databases = rewrite.databases();
    if (databases.length === 0)
      throw new EngineError('DRILL_DUMP_EMPTY', 'restore', 'the dump did not create any database');
    ctx.log(
      'info',
      `restored ${databases.map((d) => `${d.original} → ${d.scratch}`).join(', ')}; counting rows`,
    );
    const tables = await driver.countTables(databases);
    const rows = tables.reduce((sum, table) => sum + table.rows, 0);
    const summary = `restored ${String(databases.length)} database(s) into scratch copies: ${String(tables.length)} tables, ${String(rows)} rows`;
    ctx.log('info', summary);
    result = { databases, tables, summary, importMs };
  } catch (error) {
    failed = true;
    failure = error;
  } finally {
    dump.unpipe(rewrite.stream);
    if (!dump.readableEnded) dump.destroy();
    rewrite.stream.destroy();
  }

  const dropFailures: string[] = [];
  for (const { scratch } of rewrite.databases()) {
    try {
      await driver.dropDatabase(scratch);
      ctx.log('info', `dropped scratch database ${scratch}`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      dropFailures.push(`${scratch}: ${message}`);
      ctx.log('error', `dropping scratch database ${scratch} failed: ${message}`);
    }
  }
  if (failed) throw failure;
  if (dropFailures.length > 0)
    throw new EngineError(
      'DRILL_CLEANUP_FAILED',
      'restore',
      `the drill succeeded but scratch databases were left behind: ${dropFailures.join('; ')}`,
    );
  if (result === undefined) throw new EngineError('DRILL_FAILED', 'restore', 'the drill produced no result');
  return result;
};

/**
 * Cleanup runs even after the run was cancelled: it gets its own signal (startTool would kill a
 * tool at once on an aborted one) and a timeout instead.
 */
const cleanupContext = (ctx: SourceContext): SourceContext => ({
  ...ctx,
  signal: new AbortController().signal,
});

/** Parses `<index>\t<count>` / `<index>|<count>` lines into counts by index. */
const parseCounts = (output: string, separator: string): Map<number, number> => {
  const counts = new Map<number, number>();
  for (const line of output.split('\n')) {
    const [index, count] = line.trim().split(separator);
    if (index === undefined || count === undefined) continue;
    counts.set(Number(index), Number(count));
  }
  return counts;
};

const capTables = <T>(ctx: SourceContext, database: string, tables: T[]): T[] => {
  if (tables.length <= MAX_TABLES_PER_DATABASE) return tables;
  ctx.log(
    'warn',
    `database ${database} has more than ${String(MAX_TABLES_PER_DATABASE)} tables; counting the first ${String(MAX_TABLES_PER_DATABASE)}`,
  );
  return tables.slice(0, MAX_TABLES_PER_DATABASE);
};

const missingCount = (table: string): EngineError =>
  new EngineError('DRILL_COUNT_FAILED', 'restore', `no row count came back for table ${table}`);

/** MySQL/MariaDB: import with `mysql --binary-mode`, count with one batch invocation. */
export const drillMysqlDump = async (
  ctx: SourceContext,
  server: DatabaseConnection,
  dump: Readable,
  options: DatabaseDrillOptions,
): Promise<DatabaseDrillResult> => {
  validateScratchPrefix(options.scratchPrefix);
  const command = await requireExecutable(ctx, ['mysql', 'mariadb'], MYSQL_DEBIAN_PACKAGE, 'restore');
  const base = [...mysqlRestoreArgs(server), '--default-character-set=utf8mb4'];
  const query = async (runCtx: SourceContext, sql: string): Promise<string> =>
    runToolCollect(runCtx, {
      command,
      label: 'mysql',
      args: [...base, '--batch', '--skip-column-names'],
      secretEnv: mysqlSecretEnv(server),
      stdin: Readable.from([sql]),
      debianPackage: MYSQL_DEBIAN_PACKAGE,
      stage: 'restore',
    });
  const pattern = scratchNamePattern(options.scratchPrefix);

  return runDrill(
    ctx,
    {
      dialect: 'mysql',
      label: 'MySQL',
      existingScratch: async () =>
        (
          await query(
            ctx,
            `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ${sqlString(`${options.scratchPrefix.replaceAll('_', '\\_')}\\_%`)};`,
          )
        )
          .split('\n')
          .map((name) => name.trim())
          .filter((name) => pattern.test(name)),
      // --binary-mode: the client passes lines to the server instead of running client commands
      // (`\!`, `system`, `connect`, `\u`) a dump could carry; DELIMITER still works.
      importDump: (input) =>
        runToolToEnd(ctx, {
          command,
          label: 'mysql',
          args: [...base, '--binary-mode'],
          secretEnv: mysqlSecretEnv(server),
          stdin: input,
          debianPackage: MYSQL_DEBIAN_PACKAGE,
          stage: 'restore',
        }),
      countTables: async (databases) => {
        // Names come back hex-encoded: no escaping rules of the batch output to undo.
        const listing = databases
          .map(
            ({ scratch }) =>
              `SELECT table_schema, HEX(table_name) FROM information_schema.tables WHERE table_schema = ${sqlString(scratch)} AND table_type = 'BASE TABLE' ORDER BY table_name LIMIT ${String(MAX_TABLES_PER_DATABASE + 1)};`,
          )
          .join('\n');
        const bySchema = new Map<string, string[]>();
        for (const line of (await query(ctx, listing)).split('\n')) {
          const [schema, hex] = line.trim().split('\t');
          if (schema === undefined || hex === undefined) continue;
          const list = bySchema.get(schema) ?? [];
          list.push(Buffer.from(hex, 'hex').toString('utf8'));
          bySchema.set(schema, list);
        }
        const targets: { database: string; scratch: string; table: string }[] = [];
        for (const { original, scratch } of databases) {
          for (const table of capTables(ctx, original, bySchema.get(scratch) ?? []))
            targets.push({ database: original, scratch, table });
        }
        if (targets.length === 0) return [];
        const counting = targets
          .map(
            (t, i) => `SELECT ${String(i)}, COUNT(*) FROM ${mysqlQuote(t.scratch)}.${mysqlQuote(t.table)};`,
          )
          .join('\n');
        const counts = parseCounts(await query(ctx, counting), '\t');
        return targets.map((t, i) => {
          const rows = counts.get(i);
          if (rows === undefined) throw missingCount(`${t.database}.${t.table}`);
          return { database: t.database, table: t.table, rows };
        });
      },
      dropDatabase: async (scratch) => {
        await runToolToEnd(cleanupContext(ctx), {
          command,
          label: 'mysql',
          args: [...base, '--execute', `DROP DATABASE IF EXISTS ${mysqlQuote(scratch)}`],
          secretEnv: mysqlSecretEnv(server),
          debianPackage: MYSQL_DEBIAN_PACKAGE,
          stage: 'restore',
          timeoutMs: CLEANUP_TIMEOUT_MS,
        });
      },
    },
    dump,
    options,
  );
};

/** PostgreSQL: import with `psql -v ON_ERROR_STOP=1 -d postgres -f -`, count per scratch database. */
export const drillPostgresDump = async (
  ctx: SourceContext,
  server: DatabaseConnection,
  dump: Readable,
  options: DatabaseDrillOptions,
): Promise<DatabaseDrillResult> => {
  validateScratchPrefix(options.scratchPrefix);
  const command = await requireExecutable(ctx, ['psql'], PG_DEBIAN_PACKAGE, 'restore');
  const connArgs = (database: string): string[] => [
    '-X',
    '-v',
    'ON_ERROR_STOP=1',
    '-h',
    server.host,
    '-p',
    String(server.port),
    '-U',
    server.user,
    '-d',
    database,
  ];
  const query = async (
    runCtx: SourceContext,
    database: string,
    sql: string,
    timeoutMs?: number,
  ): Promise<string> =>
    runToolCollect(runCtx, {
      command,
      label: 'psql',
      args: [...connArgs(database), '-A', '-t', '-f', '-'],
      secretEnv: pgSecretEnv(server),
      stdin: Readable.from([sql]),
      debianPackage: PG_DEBIAN_PACKAGE,
      stage: 'restore',
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  const pattern = scratchNamePattern(options.scratchPrefix);

  return runDrill(
    ctx,
    {
      dialect: 'postgres',
      label: 'PostgreSQL',
      existingScratch: async () =>
        (
          await query(
            ctx,
            'postgres',
            `SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE ${sqlString(`${options.scratchPrefix}\\_%`)};`,
          )
        )
          .split('\n')
          .map((name) => name.trim())
          .filter((name) => pattern.test(name)),
      importDump: (input) =>
        runToolToEnd(ctx, {
          command,
          label: 'psql',
          // psqlRestoreArgs plus -X: no ~/.psqlrc may change how the script runs.
          args: ['-X', ...psqlRestoreArgs(server)],
          secretEnv: pgSecretEnv(server),
          stdin: input,
          debianPackage: PG_DEBIAN_PACKAGE,
          stage: 'restore',
        }),
      countTables: async (databases) => {
        const result: TableRowCount[] = [];
        for (const { original, scratch } of databases) {
          // Ordinary tables only (relkind 'r', as pg_tables minus partitioned parents, whose
          // count would repeat their partitions' rows); foreign tables would reach other servers.
          const listing = await query(
            ctx,
            scratch,
            `SELECT encode(convert_to(n.nspname, 'UTF8'), 'hex') || ' ' || encode(convert_to(c.relname, 'UTF8'), 'hex')
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
              ORDER BY n.nspname, c.relname LIMIT ${String(MAX_TABLES_PER_DATABASE + 1)};`,
          );
          const tables = listing
            .split('\n')
            .map((line) => line.trim().split(' '))
            .filter((parts): parts is [string, string] => parts.length === 2)
            .map(([schema, table]) => ({
              schema: Buffer.from(schema, 'hex').toString('utf8'),
              table: Buffer.from(table, 'hex').toString('utf8'),
            }));
          const capped = capTables(ctx, original, tables);
          if (capped.length === 0) continue;
          const counting = capped
            .map((t, i) => `SELECT ${String(i)}, count(*) FROM ${pgQuote(t.schema)}.${pgQuote(t.table)};`)
            .join('\n');
          const counts = parseCounts(await query(ctx, scratch, counting), '|');
          capped.forEach((t, i) => {
            const name = t.schema === 'public' ? t.table : `${t.schema}.${t.table}`;
            const rows = counts.get(i);
            if (rows === undefined) throw missingCount(`${original}: ${name}`);
            result.push({ database: original, table: name, rows });
          });
        }
        return result;
      },
      dropDatabase: async (scratch) => {
        await query(
          cleanupContext(ctx),
          'postgres',
          `DROP DATABASE IF EXISTS ${pgQuote(scratch)} WITH (FORCE);`,
          CLEANUP_TIMEOUT_MS,
        );
      },
    },
    dump,
    options,
  );
};

/** Exact row counts of every table of a SQLite file (opened read-only; at most 1000 tables). */
export const sqliteTableCounts = (file: string): TableRowCount[] => {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    // Virtual tables are skipped: counting them needs their module and says nothing about the file.
    const tables = db
      .prepare(
        `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
           AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name LIMIT ${String(MAX_TABLES_PER_DATABASE)}`,
      )
      .all()
      .map((row) => String(row.name));
    return tables.map((table) => {
      const row = db.prepare(`SELECT COUNT(*) AS n FROM "${table.replaceAll('"', '""')}"`).get();
      return { database: 'main', table, rows: Number(row?.n ?? 0) };
    });
  } catch (error) {
    throw new EngineError(
      'DRILL_COUNT_FAILED',
      'verify',
      `counting SQLite rows failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  } finally {
    db.close();
  }
};
