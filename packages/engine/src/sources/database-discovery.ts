/**
 * Database discovery (SPEC §3.20): list the databases of a MySQL or PostgreSQL server with the
 * client tool, 5 s timeout, system databases excluded.
 */
import { EngineError } from '../errors.ts';
import { mysqlSecretEnv } from './mysql.ts';
import { pgSecretEnv } from './postgresql.ts';
import { redactSecrets, requireExecutable, runToolCollect } from './process.ts';
import type { DatabaseConnection, SourceContext } from './types.ts';

export const DISCOVERY_TIMEOUT_MS = 5000;
export type DiscoverableType = 'mysql' | 'postgresql';

export const MYSQL_SYSTEM_DATABASES: readonly string[] = [
  'information_schema',
  'performance_schema',
  'mysql',
  'sys',
];

export const mysqlDiscoveryArgs = (conn: Omit<DatabaseConnection, 'databases'>): string[] => [
  `--host=${conn.host}`,
  `--port=${String(conn.port)}`,
  `--user=${conn.user}`,
  '-e',
  'SHOW DATABASES',
  '--skip-column-names',
];

export const postgresDiscoveryArgs = (conn: Omit<DatabaseConnection, 'databases'>): string[] => [
  '-h',
  conn.host,
  '-p',
  String(conn.port),
  '-U',
  conn.user,
  '-d',
  'postgres',
  '-t',
  '-A',
  '-c',
  'SELECT datname FROM pg_database WHERE datistemplate = false ORDER BY datname',
];

/** Parses the tool output into user database names. */
export const parseDiscoveryOutput = (type: DiscoverableType, output: string): string[] =>
  output
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => name !== '')
    .filter((name) =>
      type === 'mysql'
        ? !MYSQL_SYSTEM_DATABASES.includes(name.toLowerCase())
        : name !== 'postgres' && !name.startsWith('template'),
    );

/**
 * Lists user databases. Failures are `DATABASE_DISCOVER_FAILED` with a message of at most 255
 * characters (never containing the password).
 */
export const discoverDatabases = async (
  ctx: SourceContext,
  type: DiscoverableType,
  conn: Omit<DatabaseConnection, 'databases'>,
  options: { timeoutMs?: number } = {},
): Promise<string[]> => {
  const full: DatabaseConnection = { ...conn, databases: [] };
  const timeoutMs = options.timeoutMs ?? DISCOVERY_TIMEOUT_MS;
  try {
    const output =
      type === 'mysql'
        ? await runToolCollect(ctx, {
            command: await requireExecutable(
              ctx,
              ['mysql', 'mariadb'],
              'default-mysql-client (or mariadb-client)',
            ),
            label: 'mysql',
            args: mysqlDiscoveryArgs(conn),
            secretEnv: mysqlSecretEnv(full),
            debianPackage: 'default-mysql-client (or mariadb-client)',
            stage: 'source',
            timeoutMs,
          })
        : await runToolCollect(ctx, {
            command: await requireExecutable(ctx, ['psql'], 'postgresql-client'),
            label: 'psql',
            args: postgresDiscoveryArgs(conn),
            secretEnv: pgSecretEnv(full),
            debianPackage: 'postgresql-client',
            stage: 'source',
            timeoutMs,
          });
    return parseDiscoveryOutput(type, output);
  } catch (error) {
    if (error instanceof EngineError && error.code === 'ENGINE_CANCELLED') throw error;
    const message = redactSecrets(error instanceof Error ? error.message : String(error), [conn.password]);
    throw new EngineError('DATABASE_DISCOVER_FAILED', 'source', message.slice(0, 255), { cause: error });
  }
};
