import type { Kysely, Updateable } from 'kysely';
import type { Database, VerificationRecordRow, VerificationRecordsTable } from '../../db/tables.ts';

export type VerificationRepository = ReturnType<typeof createVerificationRepository>;

export interface VerificationFilter {
  taskId?: number | undefined;
  backupRecordId?: number | undefined;
  status?: string | undefined;
  mode?: string | undefined;
  dateFrom?: string | undefined;
  dateTo?: string | undefined;
}

/** A verification record with the names the views show. */
export type VerificationRow = VerificationRecordRow & {
  taskName: string | null;
  backupFileName: string | null;
};

/** The newest finished drill of one copy of a backup. */
export interface CopyVerification {
  backupRecordId: number;
  storageTargetId: number;
  id: number;
  status: string;
  completedAt: string | null;
  lastSuccessAt: string | null;
}

const LIST_LIMIT = 500;

export const createVerificationRepository = (db: Kysely<Database>) => {
  const withNames = () =>
    db
      .selectFrom('verificationRecords')
      .leftJoin('backupTasks', 'backupTasks.id', 'verificationRecords.taskId')
      .leftJoin('backupRecords', 'backupRecords.id', 'verificationRecords.backupRecordId')
      .selectAll('verificationRecords')
      .select(['backupTasks.name as taskName', 'backupRecords.fileName as backupFileName']);

  return {
    async insert(values: {
      backupRecordId: number;
      taskId: number;
      nodeId: number;
      storageTargetId: number;
      mode: string;
      triggeredBy: string;
      runnerId: string;
      startedAt: string;
    }): Promise<number> {
      const row = await db
        .insertInto('verificationRecords')
        .values({ ...values, status: 'running', heartbeatAt: values.startedAt })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    },

    /** Ends a running drill; false when it had already ended (an orphan sweep got there first). */
    async finishRunning(id: number, patch: Updateable<VerificationRecordsTable>): Promise<boolean> {
      const result = await db
        .updateTable('verificationRecords')
        .set(patch)
        .where('id', '=', id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async heartbeat(ids: readonly number[], at: string): Promise<void> {
      if (ids.length === 0) return;
      await db
        .updateTable('verificationRecords')
        .set({ heartbeatAt: at })
        .where('id', 'in', [...ids])
        .where('status', '=', 'running')
        .execute();
    },

    /** Running drills left by this master's previous life or by a master whose heartbeat stopped. */
    listOrphans(runnerId: string, staleBefore: string): Promise<VerificationRecordRow[]> {
      return db
        .selectFrom('verificationRecords')
        .selectAll()
        .where('status', '=', 'running')
        .where((eb) => eb.or([eb('runnerId', '=', runnerId), eb('heartbeatAt', '<', staleBefore)]))
        .execute();
    },

    async newestSuccessfulRecordId(taskId: number): Promise<number | undefined> {
      const row = await db
        .selectFrom('backupRecords')
        .select('id')
        .where('taskId', '=', taskId)
        .where('status', '=', 'success')
        .orderBy('startedAt', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row?.id;
    },

    /** The newest successful record of every enabled task (ids grow with time). */
    async newestSuccessPerEnabledTask(): Promise<number[]> {
      const rows = await db
        .selectFrom('backupRecords')
        .innerJoin('backupTasks', 'backupTasks.id', 'backupRecords.taskId')
        .select((eb) => eb.fn.max('backupRecords.id').as('id'))
        .where('backupTasks.enabled', '=', 1)
        .where('backupRecords.status', '=', 'success')
        .groupBy('backupRecords.taskId')
        .execute();
      return rows.map((row) => row.id);
    },

    find(id: number): Promise<VerificationRow | undefined> {
      return withNames().where('verificationRecords.id', '=', id).executeTakeFirst();
    },

    list(filter: VerificationFilter): Promise<VerificationRow[]> {
      let query = withNames();
      const column = <K extends string>(name: K) => `verificationRecords.${name}` as const;
      if (filter.taskId !== undefined) query = query.where(column('taskId'), '=', filter.taskId);
      if (filter.backupRecordId !== undefined)
        query = query.where(column('backupRecordId'), '=', filter.backupRecordId);
      if (filter.status !== undefined) query = query.where(column('status'), '=', filter.status);
      if (filter.mode !== undefined) query = query.where(column('mode'), '=', filter.mode);
      if (filter.dateFrom !== undefined) query = query.where(column('startedAt'), '>=', filter.dateFrom);
      if (filter.dateTo !== undefined) query = query.where(column('startedAt'), '<=', filter.dateTo);
      return query
        .orderBy('verificationRecords.startedAt', 'desc')
        .orderBy('verificationRecords.id', 'desc')
        .limit(LIST_LIMIT)
        .execute();
    },

    /**
     * Per copy of the given backups: the newest finished drill and the end of the newest successful
     * one. Two small queries instead of a window function, so SQLite and PostgreSQL read alike.
     */
    async copyVerifications(recordIds: readonly number[]): Promise<CopyVerification[]> {
      if (recordIds.length === 0) return [];
      const rows = await db
        .selectFrom('verificationRecords')
        .select(['id', 'backupRecordId', 'storageTargetId', 'status', 'completedAt'])
        .where('backupRecordId', 'in', [...recordIds])
        .where('status', 'in', ['success', 'failed'])
        .orderBy('id', 'asc')
        .execute();
      const latest = new Map<string, CopyVerification>();
      for (const row of rows) {
        const key = `${String(row.backupRecordId)}:${String(row.storageTargetId)}`;
        const previous = latest.get(key);
        latest.set(key, {
          backupRecordId: row.backupRecordId,
          storageTargetId: row.storageTargetId,
          id: row.id,
          status: row.status,
          completedAt: row.completedAt,
          lastSuccessAt: row.status === 'success' ? row.completedAt : (previous?.lastSuccessAt ?? null),
        });
      }
      return [...latest.values()];
    },
  };
};
