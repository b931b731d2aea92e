/**
 * MySQL / MariaDB source (SPEC §3.15): `mysqldump … --databases db1 db2 …` streamed as the
 * artifact; restore feeds the dump to `mysql`. The password travels only in `MYSQL_PWD`.
 */
import type { Readable } from 'node:stream';
import { EngineError } from '../errors.ts';
import { sanitizeTaskNameB, underscoreTimestamp } from '../naming.ts';
import { requireExecutable, runToolToEnd, startTool } from './process.ts';
import type { DatabaseConnection, SourceArtifact, SourceContext } from './types.ts';

const DEBIAN_PACKAGE = 'default-mysql-client (or mariadb-client)';

/** `<sanitizeB(name)>_<YYYYMMDD_HHMMSS>.sql` */
export const mysqlArtifactName = (taskName: string, startedAt: Date): string =>
  `${sanitizeTaskNameB(taskName)}_${underscoreTimestamp(startedAt)}.sql`;

/** Database names: trimmed, empty entries dropped; at least one is required. */
export const requireDatabases = (conn: DatabaseConnection, stage: 'source' | 'restore'): string[] => {
  const names = conn.databases.map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0)
    throw new EngineError('SOURCE_CONFIG_INVALID', stage, 'at least one database name is required');
  return names;
};

export const mysqldumpArgs = (conn: DatabaseConnection, databases: readonly string[]): string[] => [
  '--host',
  conn.host,
  '--port',
  String(conn.port),
  '--user',
  conn.user,
  '--single-transaction',
  '--quick',
  '--routines',
  '--triggers',
  '--events',
  '--no-tablespaces',
  '--net-buffer-length=32768',
  '--databases',
  ...databases,
];

export const mysqlRestoreArgs = (conn: DatabaseConnection): string[] => [
  '--host',
  conn.host,
  '--port',
  String(conn.port),
  '--user',
  conn.user,
];

/** `MYSQL_PWD` only when a password is set. */
export const mysqlSecretEnv = (conn: DatabaseConnection): Record<string, string> =>
  conn.password === '' ? {} : { MYSQL_PWD: conn.password };

/** Streams a dump of every configured database. */
export const backupMysql = async (
  ctx: SourceContext,
  conn: DatabaseConnection,
  taskName: string,
): Promise<SourceArtifact> => {
  const databases = requireDatabases(conn, 'source');
  const command = await requireExecutable(ctx, ['mysqldump', 'mariadb-dump'], DEBIAN_PACKAGE);
  ctx.log('info', `dumping MySQL databases ${databases.join(', ')} from ${conn.host}:${String(conn.port)}`);
  const run = startTool(ctx, {
    command,
    label: 'mysqldump',
    args: mysqldumpArgs(conn, databases),
    secretEnv: mysqlSecretEnv(conn),
    debianPackage: DEBIAN_PACKAGE,
    stage: 'source',
  });
  const completion = run.done.then(() => ({
    backupKind: 'full' as const,
    summary: `mysqldump of ${String(databases.length)} database(s)`,
  }));
  completion.catch(() => undefined);
  return { fileName: mysqlArtifactName(taskName, ctx.now), stream: run.stdout, completion };
};

/** Imports a dump (it carries `CREATE DATABASE`/`USE`) with `mysql`, the dump on stdin. */
export const restoreMysql = async (
  ctx: SourceContext,
  conn: DatabaseConnection,
  dump: Readable,
): Promise<void> => {
  const command = await requireExecutable(ctx, ['mysql', 'mariadb'], DEBIAN_PACKAGE, 'restore');
  ctx.log('info', `importing MySQL dump into ${conn.host}:${String(conn.port)}`);
  await runToolToEnd(ctx, {
    command,
    label: 'mysql',
    args: mysqlRestoreArgs(conn),
    secretEnv: mysqlSecretEnv(conn),
    stdin: dump,
    debianPackage: DEBIAN_PACKAGE,
    stage: 'restore',
  });
};
