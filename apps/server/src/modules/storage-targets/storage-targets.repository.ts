import type { Insertable, Kysely, Updateable } from 'kysely';
import type { Database, StorageTargetRow, StorageTargetsTable } from '../../db/tables.ts';

export type NewStorageTargetRow = Insertable<StorageTargetsTable>;
export type StorageTargetPatch = Updateable<StorageTargetsTable>;

/** The columns of a successful record that say where its copies live and how big they are. */
export interface RecordCopiesRow {
  storageTargetId: number;
  fileSize: number;
  storageUploadResults: string;
}

export interface TestOutcome {
  status: 'success' | 'failed';
  message: string;
  testedAt: string;
}

/** A unique index refused the write (PostgreSQL 23505, SQLite constraint codes): two writers raced on a name. */
export const isUniqueViolation = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
};

export type StorageTargetsRepository = ReturnType<typeof createStorageTargetsRepository>;

export const createStorageTargetsRepository = (db: Kysely<Database>) => ({
  list(): Promise<StorageTargetRow[]> {
    return db
      .selectFrom('storageTargets')
      .selectAll()
      .orderBy('starred', 'desc')
      .orderBy('updatedAt', 'desc')
      .orderBy('id', 'desc')
      .execute();
  },

  listEnabled(): Promise<StorageTargetRow[]> {
    return db.selectFrom('storageTargets').selectAll().where('enabled', '=', 1).orderBy('id').execute();
  },

  findById(id: number): Promise<StorageTargetRow | undefined> {
    return db.selectFrom('storageTargets').selectAll().where('id', '=', id).executeTakeFirst();
  },

  findByIds(ids: readonly number[]): Promise<StorageTargetRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return db.selectFrom('storageTargets').selectAll().where('id', 'in', ids).execute();
  },

  findByName(name: string): Promise<StorageTargetRow | undefined> {
    return db.selectFrom('storageTargets').selectAll().where('name', '=', name).executeTakeFirst();
  },

  insert(row: NewStorageTargetRow): Promise<StorageTargetRow> {
    return db.insertInto('storageTargets').values(row).returningAll().executeTakeFirstOrThrow();
  },

  update(id: number, patch: StorageTargetPatch): Promise<StorageTargetRow | undefined> {
    return db.updateTable('storageTargets').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
  },

  /** Flips `starred` in one statement, so two quick clicks toggle twice. */
  toggleStar(id: number, now: string): Promise<StorageTargetRow | undefined> {
    return db
      .updateTable('storageTargets')
      .set((eb) => ({ starred: eb(eb.val(1), '-', eb.ref('starred')), updatedAt: now }))
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  },

  /**
   * Stores a test outcome; `updatedAt` is left alone (a test is not an edit, and the list is
   * ordered by it). Returns whether this call moved the target from a non-failed status to
   * `failed`: the conditional update lets exactly one master (and one run) see that edge.
   */
  async recordTestOutcome(id: number, outcome: TestOutcome): Promise<{ becameFailed: boolean }> {
    const fields = {
      lastTestedAt: outcome.testedAt,
      lastTestStatus: outcome.status,
      lastTestMessage: outcome.message,
    };
    if (outcome.status === 'failed') {
      const edge = await db
        .updateTable('storageTargets')
        .set(fields)
        .where('id', '=', id)
        .where('lastTestStatus', '<>', 'failed')
        .executeTakeFirst();
      if (Number(edge.numUpdatedRows) > 0) return { becameFailed: true };
    }
    await db.updateTable('storageTargets').set(fields).where('id', '=', id).execute();
    return { becameFailed: false };
  },

  /** Deletes the target unless a task still lists it; both in one transaction. */
  async deleteUnlessInUse(id: number): Promise<'deleted' | 'in_use' | 'missing'> {
    return db.transaction().execute(async (trx) => {
      const user = await trx
        .selectFrom('backupTaskStorageTargets')
        .select('taskId')
        .where('storageTargetId', '=', id)
        .executeTakeFirst();
      if (user) return 'in_use';
      const result = await trx.deleteFrom('storageTargets').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0 ? 'deleted' : 'missing';
    });
  },

  /** Names of the tasks that write to the target (for the in-use message). */
  async taskNamesUsing(id: number): Promise<string[]> {
    const rows = await db
      .selectFrom('backupTaskStorageTargets')
      .innerJoin('backupTasks', 'backupTasks.id', 'backupTaskStorageTargets.taskId')
      .select('backupTasks.name')
      .where('backupTaskStorageTargets.storageTargetId', '=', id)
      .orderBy('backupTasks.name')
      .execute();
    return rows.map((row) => row.name);
  },

  /** Where every successful record keeps its copies (the basis of usage and quota). */
  successfulRecordCopies(): Promise<RecordCopiesRow[]> {
    return db
      .selectFrom('backupRecords')
      .select(['storageTargetId', 'fileSize', 'storageUploadResults'])
      .where('status', '=', 'success')
      .execute();
  },
});
