/**
 * PostgreSQL source (SPEC §3.16): one `pg_dump --clean --if-exists --create --format=plain` per
 * database, appended into one stream separated by a blank line pair; restore runs the whole
 * script through `psql -d postgres` (the dump recreates its databases). Password in `PGPASSWORD`.
 */
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EngineError, isAbortError } from '../errors.ts';
import { compactTimestamp, sanitizeTaskNameA } from '../naming.ts';
import { requireDatabases } from './mysql.ts';
import { requireExecutable, runToolToEnd, startTool } from './process.ts';
import type { DatabaseConnection, SourceArtifact, SourceContext } from './types.ts';

const DEBIAN_PACKAGE = 'postgresql-client';
/** Written between two databases' dumps. */
export const PG_DUMP_SEPARATOR = '\n\n';

/** `<sanitizeA(name)>_<YYYYMMDDTHHMMSS>.sql` */
export const postgresArtifactName = (taskName: string, startedAt: Date): string =>
  `${sanitizeTaskNameA(taskName)}_${compactTimestamp(startedAt)}.sql`;

export const pgDumpArgs = (conn: DatabaseConnection, database: string): string[] => [
  '--clean',
  '--if-exists',
  '--create',
  '--format=plain',
  '-h',
  conn.host,
  '-p',
  String(conn.port),
  '-U',
  conn.user,
  '--dbname',
  database,
];

export const psqlRestoreArgs = (conn: DatabaseConnection): string[] => [
  '-v',
  'ON_ERROR_STOP=1',
  '-h',
  conn.host,
  '-p',
  String(conn.port),
  '-U',
  conn.user,
  '-d',
  'postgres',
  '-f',
  '-',
];

/** `PGPASSWORD` only when a password is set. */
export const pgSecretEnv = (conn: DatabaseConnection): Record<string, string> =>
  conn.password === '' ? {} : { PGPASSWORD: conn.password };

/** Streams the dumps of every configured database, one after the other. */
export const backupPostgresql = async (
  ctx: SourceContext,
  conn: DatabaseConnection,
  taskName: string,
): Promise<SourceArtifact> => {
  const databases = requireDatabases(conn, 'source');
  const command = await requireExecutable(ctx, ['pg_dump'], DEBIAN_PACKAGE);
  const out = new PassThrough({ highWaterMark: 256 * 1024 });

  const produce = async (): Promise<void> => {
    for (const [index, database] of databases.entries()) {
      if (ctx.signal.aborted)
        throw new EngineError('ENGINE_CANCELLED', 'source', 'cancelled', { cause: ctx.signal.reason });
      if (index > 0) {
        if (!out.write(PG_DUMP_SEPARATOR)) await new Promise<void>((resolve) => out.once('drain', resolve));
      }
      ctx.log('info', `dumping PostgreSQL database ${database} from ${conn.host}:${String(conn.port)}`);
      const run = startTool(ctx, {
        command,
        label: 'pg_dump',
        args: pgDumpArgs(conn, database),
        secretEnv: pgSecretEnv(conn),
        debianPackage: DEBIAN_PACKAGE,
        stage: 'source',
      });
      try {
        await pipeline(run.stdout, out, { end: false });
      } catch (error) {
        run.kill();
        await run.done.catch(() => undefined);
        if (isAbortError(error))
          throw new EngineError('ENGINE_CANCELLED', 'source', 'cancelled', { cause: error });
        throw new EngineError('SOURCE_STREAM_FAILED', 'source', `streaming pg_dump output failed`, {
          cause: error,
        });
      }
      await run.done;
    }
  };

  const completion = produce().then(
    () => {
      out.end();
      return { backupKind: 'full' as const, summary: `pg_dump of ${String(databases.length)} database(s)` };
    },
    (error: unknown) => {
      // End the stream so a reader finishes; the rejected completion marks the artifact bad.
      if (!out.destroyed) out.end();
      throw error;
    },
  );
  completion.catch(() => undefined);
  return { fileName: postgresArtifactName(taskName, ctx.now), stream: out, completion };
};

/** Runs the dump script with `psql -v ON_ERROR_STOP=1 -d postgres -f -`, the dump on stdin. */
export const restorePostgresql = async (
  ctx: SourceContext,
  conn: DatabaseConnection,
  dump: Readable,
): Promise<void> => {
  const command = await requireExecutable(ctx, ['psql'], DEBIAN_PACKAGE, 'restore');
  ctx.log('info', `running PostgreSQL dump against ${conn.host}:${String(conn.port)}`);
  await runToolToEnd(ctx, {
    command,
    label: 'psql',
    args: psqlRestoreArgs(conn),
    secretEnv: pgSecretEnv(conn),
    stdin: dump,
    debianPackage: DEBIAN_PACKAGE,
    stage: 'restore',
  });
};
