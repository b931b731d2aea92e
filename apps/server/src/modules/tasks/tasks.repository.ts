import type { Kysely, Transaction } from 'kysely';
import type { BackupTaskRow, Database, NewBackupTaskRow } from '../../db/tables.ts';

export type TasksRepository = ReturnType<typeof createTasksRepository>;

/** One target of a task, in task order, with its name ('' when the target row is gone). */
export interface TaskTargetRef {
  taskId: number;
  storageTargetId: number;
  position: number;
  name: string;
}

/** Everything of a task row except the id and the run state the runs module owns. */
export type TaskValues = Omit<NewBackupTaskRow, 'id'>;

/** A unique-constraint violation on SQLite or PostgreSQL. */
export const isUniqueViolation = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
};

const replaceTargets = async (trx: Transaction<Database>, taskId: number, targetIds: readonly number[]) => {
  await trx.deleteFrom('backupTaskStorageTargets').where('taskId', '=', taskId).execute();
  if (targetIds.length === 0) return;
  await trx
    .insertInto('backupTaskStorageTargets')
    .values(targetIds.map((storageTargetId, position) => ({ taskId, storageTargetId, position })))
    .execute();
};

export const createTasksRepository = (db: Kysely<Database>) => ({
  list(filter: { type?: string } = {}): Promise<BackupTaskRow[]> {
    let query = db.selectFrom('backupTasks').selectAll();
    if (filter.type !== undefined) query = query.where('type', '=', filter.type);
    return query.orderBy('updatedAt', 'desc').orderBy('id', 'desc').execute();
  },

  findById(id: number): Promise<BackupTaskRow | undefined> {
    return db.selectFrom('backupTasks').selectAll().where('id', '=', id).executeTakeFirst();
  },

  findByIds(ids: readonly number[]): Promise<BackupTaskRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return db.selectFrom('backupTasks').selectAll().where('id', 'in', ids).execute();
  },

  async findIdByName(name: string): Promise<number | undefined> {
    const row = await db.selectFrom('backupTasks').select('id').where('name', '=', name).executeTakeFirst();
    return row?.id;
  },

  /** Ordered targets of the given tasks. */
  async targetsOf(taskIds: readonly number[]): Promise<TaskTargetRef[]> {
    if (taskIds.length === 0) return [];
    const rows = await db
      .selectFrom('backupTaskStorageTargets as link')
      .leftJoin('storageTargets as target', 'target.id', 'link.storageTargetId')
      .select(['link.taskId', 'link.storageTargetId', 'link.position', 'target.name'])
      .where('link.taskId', 'in', taskIds)
      .orderBy('link.taskId')
      .orderBy('link.position')
      .execute();
    return rows.map((row) => ({
      taskId: row.taskId,
      storageTargetId: row.storageTargetId,
      position: row.position,
      name: row.name ?? '',
    }));
  },

  /** Names of storage targets by id (for replication targets and validation). */
  async storageTargetNames(ids: readonly number[]): Promise<Map<number, string>> {
    if (ids.length === 0) return new Map();
    const rows = await db
      .selectFrom('storageTargets')
      .select(['id', 'name'])
      .where('id', 'in', ids)
      .execute();
    return new Map(rows.map((row) => [row.id, row.name]));
  },

  /** Every storage target's id by name (task import resolves references by name). */
  async storageTargetIdsByName(): Promise<Map<string, number>> {
    const rows = await db.selectFrom('storageTargets').select(['id', 'name']).execute();
    return new Map(rows.map((row) => [row.name, row.id]));
  },

  /** Every task's upstream list, for cycle checks. */
  async dependencyLists(): Promise<Map<number, string>> {
    const rows = await db.selectFrom('backupTasks').select(['id', 'dependsOnTaskIds']).execute();
    return new Map(rows.map((row) => [row.id, row.dependsOnTaskIds]));
  },

  async allTags(): Promise<string[]> {
    const rows = await db.selectFrom('backupTasks').select('tags').where('tags', '<>', '').execute();
    return rows.map((row) => row.tags);
  },

  async insert(values: TaskValues, targetIds: readonly number[]): Promise<BackupTaskRow> {
    return db.transaction().execute(async (trx) => {
      const row = await trx.insertInto('backupTasks').values(values).returningAll().executeTakeFirstOrThrow();
      await replaceTargets(trx, row.id, targetIds);
      return row;
    });
  },

  async update(
    id: number,
    values: Partial<TaskValues>,
    targetIds: readonly number[],
  ): Promise<BackupTaskRow | undefined> {
    return db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('backupTasks')
        .set(values)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      if (row) await replaceTargets(trx, id, targetIds);
      return row;
    });
  },

  setEnabled(id: number, enabled: boolean, now: string): Promise<BackupTaskRow | undefined> {
    return db
      .updateTable('backupTasks')
      .set({ enabled: enabled ? 1 : 0, updatedAt: now })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  },

  /**
   * Deletes the task (its target links cascade) and removes it from the upstream lists of other
   * tasks, so they stay valid. Backup records stay for audit.
   */
  async delete(id: number, now: string): Promise<boolean> {
    return db.transaction().execute(async (trx) => {
      const dependents = await trx
        .selectFrom('backupTasks')
        .select(['id', 'dependsOnTaskIds'])
        .where('dependsOnTaskIds', '<>', '')
        .execute();
      for (const dependent of dependents) {
        const ids = dependent.dependsOnTaskIds.split(',').map((part) => part.trim());
        if (!ids.includes(String(id))) continue;
        await trx
          .updateTable('backupTasks')
          .set({ dependsOnTaskIds: ids.filter((part) => part !== String(id)).join(','), updatedAt: now })
          .where('id', '=', dependent.id)
          .execute();
      }
      await trx.deleteFrom('backupTaskStorageTargets').where('taskId', '=', id).execute();
      const result = await trx.deleteFrom('backupTasks').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  },

  async hasRunningRecord(taskId: number): Promise<boolean> {
    const row = await db
      .selectFrom('backupRecords')
      .select('id')
      .where('taskId', '=', taskId)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return row !== undefined;
  },

  async recordCount(taskId: number): Promise<number> {
    const row = await db
      .selectFrom('backupRecords')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('taskId', '=', taskId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  },

  /** Tasks the scheduler runs: enabled with a cron expression. */
  listSchedulable(): Promise<Pick<BackupTaskRow, 'id' | 'cronExpr'>[]> {
    return db
      .selectFrom('backupTasks')
      .select(['id', 'cronExpr'])
      .where('enabled', '=', 1)
      .where('cronExpr', '<>', '')
      .execute();
  },

  /** Enabled tasks with a verification drill schedule (SPEC §1.4 "verify-schedulable"). */
  listVerifySchedulable(): Promise<Pick<BackupTaskRow, 'id' | 'verifyCronExpr'>[]> {
    return db
      .selectFrom('backupTasks')
      .select(['id', 'verifyCronExpr'])
      .where('enabled', '=', 1)
      .where('verifyEnabled', '=', 1)
      .where('verifyCronExpr', '<>', '')
      .execute();
  },
});
