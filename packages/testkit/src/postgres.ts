import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Admin connection for creating throw-away databases; override with BACKUPX_TEST_PG_URL. */
export const postgresAdminUrl = (): string =>
  process.env.BACKUPX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TemporaryPostgresDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

const withAdmin = async <T>(task: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: postgresAdminUrl() });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${postgresAdminUrl()} (${(error as Error).message}). ` +
        `Start it (pg_ctlcluster --skip-systemctl-redirect 15 main start) or set BACKUPX_TEST_PG_URL.`,
      { cause: error },
    );
  }
  try {
    return await task(client);
  } finally {
    await client.end();
  }
};

/** Creates an empty database with a random name; `drop()` removes it even with open connections. */
export const createPostgresDatabase = async (prefix = 'bx_test'): Promise<TemporaryPostgresDatabase> => {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(postgresAdminUrl());
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () =>
      withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
};
