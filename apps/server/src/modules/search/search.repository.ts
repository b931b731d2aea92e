import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../db/tables.ts';

export type SearchRepository = ReturnType<typeof createSearchRepository>;

/** Makes `%`, `_` and `\` match themselves under `ESCAPE '\'` (the same on SQLite and PostgreSQL). */
export const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (char) => `\\${char}`);

/**
 * Case-insensitive substring test of one column. `needle` is already lower-case. SQLite's lower()
 * folds ASCII letters only; PostgreSQL's folds every letter.
 */
const contains = (column: string, needle: string): RawBuilder<boolean> =>
  sql<boolean>`lower(${sql.ref(column)}) like ${`%${escapeLike(needle)}%`} escape '\\'`;

/**
 * Read-only lookups behind the global search (SPEC §14.5). Only display columns are selected:
 * no configuration, token or password column is ever read here.
 */
export const createSearchRepository = (db: Kysely<Database>) => ({
  tasks(needle: string, limit: number) {
    // source_paths is a JSON array: look for the needle as it appears JSON-encoded (quotes, backslashes).
    const jsonNeedle = JSON.stringify(needle).slice(1, -1);
    return db
      .selectFrom('backupTasks')
      .select(['id', 'name', 'type', 'tags', 'sourcePath', 'sourcePaths', 'dbHost', 'dbName'])
      .where((eb) =>
        eb.or([
          contains('name', needle),
          contains('type', needle),
          contains('tags', needle),
          contains('sourcePath', needle),
          contains('sourcePaths', jsonNeedle),
          contains('dbHost', needle),
          contains('dbName', needle),
        ]),
      )
      .orderBy('name', 'asc')
      .orderBy('id', 'asc')
      .limit(limit)
      .execute();
  },

  storageTargets(needle: string, limit: number) {
    return db
      .selectFrom('storageTargets')
      .select(['id', 'name', 'type', 'description'])
      .where((eb) =>
        eb.or([contains('name', needle), contains('description', needle), contains('type', needle)]),
      )
      .orderBy('name', 'asc')
      .orderBy('id', 'asc')
      .limit(limit)
      .execute();
  },

  nodes(needle: string, limit: number) {
    return db
      .selectFrom('nodes')
      .select(['id', 'name', 'hostname', 'ipAddress'])
      .where((eb) =>
        eb.or([contains('name', needle), contains('hostname', needle), contains('ipAddress', needle)]),
      )
      .orderBy('name', 'asc')
      .orderBy('id', 'asc')
      .limit(limit)
      .execute();
  },

  /** Matches among the `recent` newest records (by start), newest first. */
  records(needle: string, limit: number, recent: number) {
    const latest = db
      .selectFrom('backupRecords')
      .select(['id', 'taskId', 'status', 'fileName', 'storagePath', 'startedAt'])
      .orderBy('startedAt', 'desc')
      .orderBy('id', 'desc')
      .limit(recent);
    return db
      .selectFrom(latest.as('r'))
      .leftJoin('backupTasks as t', 't.id', 'r.taskId')
      .select([
        'r.id',
        'r.taskId',
        'r.status',
        'r.fileName',
        'r.storagePath',
        'r.startedAt',
        't.name as taskName',
      ])
      .where((eb) =>
        eb.or([
          contains('r.fileName', needle),
          contains('r.storagePath', needle),
          contains('t.name', needle),
        ]),
      )
      .orderBy('r.startedAt', 'desc')
      .orderBy('r.id', 'desc')
      .limit(limit)
      .execute();
  },
});
