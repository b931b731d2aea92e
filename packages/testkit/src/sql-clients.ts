import { execFileSync } from 'node:child_process';

/** Runs SQL with `psql` against the local test PostgreSQL (127.0.0.1:5432, trust) and returns the trimmed output. */
export const psql = (statement: string, database = 'postgres'): string =>
  execFileSync(
    'psql',
    ['-h', '127.0.0.1', '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-tAq', '-c', statement],
    { encoding: 'utf8' },
  ).trim();

/** Runs SQL with `mysql` against the local test MariaDB (127.0.0.1:3306, root) and returns the trimmed output. */
export const mysql = (statement: string, database?: string): string =>
  execFileSync(
    'mysql',
    [
      '-h',
      '127.0.0.1',
      '-P',
      '3306',
      '-u',
      'root',
      ...(database === undefined ? [] : [database]),
      '-N',
      '-e',
      statement,
    ],
    { encoding: 'utf8' },
  ).trim();
