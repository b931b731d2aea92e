import type { Kysely, Updateable } from 'kysely';
import type { Database, ReplicationRecordRow, ReplicationRecordsTable } from '../../db/tables.ts';

export type ReplicationRepository = ReturnType<typeof createReplicationRepository>;

export interface ReplicationFilter {
  taskId?: number | undefined;
  backupRecordId?: number | undefined;
  destTargetId?: number | undefined;
  status?: string | undefined;
  dateFrom?: string | undefined;
  dateTo?: string | undefined;
}

const LIST_LIMIT = 500;

export const createReplicationRepository = (db: Kysely<Database>) => ({
  async insert(values: {
    backupRecordId: number;
    taskId: number;
    sourceTargetId: number;
    destTargetId: number;
    status: string;
    storagePath: string;
    triggeredBy: string;
    startedAt: string;
    errorMessage?: string;
    completedAt?: string | null;
  }): Promise<number> {
    const row = await db
      .insertInto('replicationRecords')
      .values({ ...values, completedAt: values.completedAt ?? null })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  },

  async update(id: number, patch: Updateable<ReplicationRecordsTable>): Promise<void> {
    await db.updateTable('replicationRecords').set(patch).where('id', '=', id).execute();
  },

  find(id: number): Promise<ReplicationRecordRow | undefined> {
    return db.selectFrom('replicationRecords').selectAll().where('id', '=', id).executeTakeFirst();
  },

  list(filter: ReplicationFilter): Promise<ReplicationRecordRow[]> {
    let query = db.selectFrom('replicationRecords').selectAll();
    if (filter.taskId !== undefined) query = query.where('taskId', '=', filter.taskId);
    if (filter.backupRecordId !== undefined)
      query = query.where('backupRecordId', '=', filter.backupRecordId);
    if (filter.destTargetId !== undefined) query = query.where('destTargetId', '=', filter.destTargetId);
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.dateFrom !== undefined) query = query.where('startedAt', '>=', filter.dateFrom);
    if (filter.dateTo !== undefined) query = query.where('startedAt', '<=', filter.dateTo);
    return query.orderBy('startedAt', 'desc').orderBy('id', 'desc').limit(LIST_LIMIT).execute();
  },
});
