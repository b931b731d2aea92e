import { sql, type Kysely, type Updateable } from 'kysely';
import type { UploadResult } from '@backupx/contract';
import type {
  BackupRecordRow,
  BackupRecordsTable,
  Database,
  RestoreRecordRow,
  RestoreRecordsTable,
} from '../../db/tables.ts';
import { parseUploadResults } from './artifacts.ts';

export interface RecordFilter {
  taskId?: number | undefined;
  status?: string | undefined;
  dateFrom?: string | undefined;
  dateTo?: string | undefined;
  backupRecordId?: number | undefined;
  limit: number;
  offset: number;
}

/** Record columns without the manifest (never loaded by lists, SPEC §1.5). */
const recordColumns = [
  'backupRecords.id',
  'backupRecords.taskId',
  'backupRecords.storageTargetId',
  'backupRecords.nodeId',
  'backupRecords.status',
  'backupRecords.fileName',
  'backupRecords.fileSize',
  'backupRecords.checksum',
  'backupRecords.storagePath',
  'backupRecords.storageTransferMode',
  'backupRecords.storageUploadResults',
  'backupRecords.repositoryStats',
  'backupRecords.durationSeconds',
  'backupRecords.locked',
  'backupRecords.backupKind',
  'backupRecords.baseRecordId',
  'backupRecords.errorMessage',
  'backupRecords.logContent',
  'backupRecords.runnerId',
  'backupRecords.heartbeatAt',
  'backupRecords.startedAt',
  'backupRecords.completedAt',
  'backupRecords.keyEnvelope',
  'backupRecords.createdAt',
  'backupRecords.updatedAt',
] as const;

export type RecordRow = Omit<BackupRecordRow, 'manifest'> & {
  taskName: string | null;
  taskType: string | null;
  storageTargetName: string | null;
  hasManifest: number;
};

export type RestoreRow = RestoreRecordRow & { taskName: string | null; backupFileName: string | null };

/** Unique-constraint violations on both dialects (the one-running-record-per-task index). */
export const isUniqueViolation = (error: unknown): boolean => {
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint/i.test(String(error));
};

export const createRunsRepository = (db: Kysely<Database>) => {
  const recordQuery = () =>
    db
      .selectFrom('backupRecords')
      .leftJoin('backupTasks', 'backupTasks.id', 'backupRecords.taskId')
      .leftJoin('storageTargets', 'storageTargets.id', 'backupRecords.storageTargetId')
      .select(recordColumns)
      .select([
        'backupTasks.name as taskName',
        'backupTasks.type as taskType',
        'storageTargets.name as storageTargetName',
        sql<number>`case when backup_records.manifest <> '' then 1 else 0 end`.as('hasManifest'),
      ]);

  const restoreQuery = () =>
    db
      .selectFrom('restoreRecords')
      .leftJoin('backupTasks', 'backupTasks.id', 'restoreRecords.taskId')
      .leftJoin('backupRecords', 'backupRecords.id', 'restoreRecords.backupRecordId')
      .selectAll('restoreRecords')
      .select(['backupTasks.name as taskName', 'backupRecords.fileName as backupFileName']);

  return {
    // ---- the task's run state (its reads go through the tasks repository) ----
    async setTaskRunState(taskId: number, lastRunAt: string, lastStatus: string): Promise<void> {
      await db.updateTable('backupTasks').set({ lastRunAt, lastStatus }).where('id', '=', taskId).execute();
    },

    /** Enabled tasks listing `taskId` among their upstream tasks (`dependsOnTaskIds`, a CSV). */
    async enabledDependentsOf(taskId: number): Promise<{ id: number; name: string }[]> {
      const rows = await db
        .selectFrom('backupTasks')
        .select(['id', 'name', 'dependsOnTaskIds'])
        .where('enabled', '=', 1)
        .where('dependsOnTaskIds', '<>', '')
        .orderBy('id', 'asc')
        .execute();
      return rows
        .filter((row) => row.dependsOnTaskIds.split(',').some((id) => Number(id.trim()) === taskId))
        .map(({ id, name }) => ({ id, name }));
    },

    // ---- backup records ----
    async insertRecord(values: {
      taskId: number;
      storageTargetId: number;
      status: string;
      runnerId: string;
      startedAt: string;
      errorMessage?: string;
      completedAt?: string | null;
      nodeId?: number;
      /** Runs on an agent have no master heartbeat: the command lease guards them instead. */
      remote?: boolean;
    }): Promise<number> {
      const row = await db
        .insertInto('backupRecords')
        .values({
          taskId: values.taskId,
          storageTargetId: values.storageTargetId,
          nodeId: values.nodeId ?? 0,
          status: values.status,
          runnerId: values.runnerId,
          heartbeatAt: values.remote === true ? null : values.startedAt,
          startedAt: values.startedAt,
          completedAt: values.completedAt ?? null,
          errorMessage: values.errorMessage ?? '',
          createdAt: values.startedAt,
          updatedAt: values.startedAt,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    },
    async updateRecord(id: number, patch: Updateable<BackupRecordsTable>): Promise<void> {
      await db.updateTable('backupRecords').set(patch).where('id', '=', id).execute();
    },
    /**
     * Adds a copy made after the run (a replica) to the record's upload results, so retention and
     * deletion remove it with the others (quirk 7). False when the record is gone.
     */
    async addUploadResult(id: number, result: UploadResult): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('backupRecords')
          .select('storageUploadResults')
          .where('id', '=', id)
          .executeTakeFirst();
        if (row === undefined) return false;
        const results = parseUploadResults(row.storageUploadResults).filter(
          (existing) => existing.storageTargetId !== result.storageTargetId,
        );
        await trx
          .updateTable('backupRecords')
          .set({ storageUploadResults: JSON.stringify([...results, result]) })
          .where('id', '=', id)
          .execute();
        return true;
      });
    },
    /** Whether another record already uses this storage path. */
    async storagePathInUse(storagePath: string, exceptRecordId: number): Promise<boolean> {
      const row = await db
        .selectFrom('backupRecords')
        .select('id')
        .where('storagePath', '=', storagePath)
        .where('id', '<>', exceptRecordId)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
    /** Updates a record only while it is running; false once it reached a terminal state. */
    async updateRunningRecord(id: number, patch: Updateable<BackupRecordsTable>): Promise<boolean> {
      const result = await db
        .updateTable('backupRecords')
        .set(patch)
        .where('id', '=', id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    /** Appends log text in the database (agent runs: the log survives a master restart). */
    async appendLog(
      table: 'backupRecords' | 'restoreRecords',
      id: number,
      text: string,
      now: string,
    ): Promise<void> {
      if (text === '') return;
      await db
        .updateTable(table)
        .set((eb) => ({
          logContent: sql<string>`case when ${eb.ref('logContent')} = '' then ${text} else ${eb.ref('logContent')} || ${'\n' + text} end`,
          updatedAt: now,
        }))
        .where('id', '=', id)
        .execute();
    },
    async runningRecordOfTaskOnNode(taskId: number, nodeId: number): Promise<boolean> {
      const row = await db
        .selectFrom('backupRecords')
        .select('id')
        .where('taskId', '=', taskId)
        .where('nodeId', '=', nodeId)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return row !== undefined;
    },
    async keyEnvelopeOf(id: number): Promise<string> {
      const row = await db
        .selectFrom('backupRecords')
        .select('keyEnvelope')
        .where('id', '=', id)
        .executeTakeFirst();
      return row?.keyEnvelope ?? '';
    },
    async findRecord(id: number): Promise<RecordRow | undefined> {
      const row = await recordQuery().where('backupRecords.id', '=', id).executeTakeFirst();
      return row;
    },
    async manifestOf(id: number): Promise<string> {
      const row = await db
        .selectFrom('backupRecords')
        .select('manifest')
        .where('id', '=', id)
        .executeTakeFirst();
      return row?.manifest ?? '';
    },
    async listRecords(filter: RecordFilter): Promise<{ rows: RecordRow[]; total: number }> {
      let query = recordQuery();
      let count = db.selectFrom('backupRecords').select((eb) => eb.fn.countAll<number>().as('total'));
      if (filter.taskId !== undefined) {
        query = query.where('backupRecords.taskId', '=', filter.taskId);
        count = count.where('backupRecords.taskId', '=', filter.taskId);
      }
      if (filter.status !== undefined) {
        query = query.where('backupRecords.status', '=', filter.status);
        count = count.where('backupRecords.status', '=', filter.status);
      }
      if (filter.dateFrom !== undefined) {
        query = query.where('backupRecords.startedAt', '>=', filter.dateFrom);
        count = count.where('backupRecords.startedAt', '>=', filter.dateFrom);
      }
      if (filter.dateTo !== undefined) {
        query = query.where('backupRecords.startedAt', '<=', filter.dateTo);
        count = count.where('backupRecords.startedAt', '<=', filter.dateTo);
      }
      const rows = await query
        .orderBy('backupRecords.startedAt', 'desc')
        .orderBy('backupRecords.id', 'desc')
        .limit(filter.limit)
        .offset(filter.offset)
        .execute();
      const total = await count.executeTakeFirstOrThrow();
      return { rows: rows, total: total.total };
    },
    /** Successful records of a task, newest first (retention, differential baselines). */
    async successfulRecords(taskId: number): Promise<RecordRow[]> {
      const rows = await recordQuery()
        .where('backupRecords.taskId', '=', taskId)
        .where('backupRecords.status', '=', 'success')
        .orderBy('backupRecords.completedAt', 'desc')
        .orderBy('backupRecords.id', 'desc')
        .execute();
      return rows;
    },
    async recordsOfTask(taskId: number): Promise<RecordRow[]> {
      const rows = await recordQuery().where('backupRecords.taskId', '=', taskId).execute();
      return rows;
    },
    /** Newest record ids of a task with their status (consecutive-failure threshold). */
    async latestStatuses(taskId: number, limit: number): Promise<string[]> {
      const rows = await db
        .selectFrom('backupRecords')
        .select('status')
        .where('taskId', '=', taskId)
        .where('status', 'in', ['success', 'failed'])
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((row) => row.status);
    },
    async countDependentDifferentials(recordId: number): Promise<number> {
      const row = await db
        .selectFrom('backupRecords')
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .where('baseRecordId', '=', recordId)
        .where('backupKind', '=', 'differential')
        .where('status', '=', 'success')
        .executeTakeFirstOrThrow();
      return row.total;
    },
    async deleteRecord(id: number): Promise<void> {
      await db.deleteFrom('backupRecords').where('id', '=', id).execute();
    },
    /** Running records whose runner is `runnerId` or whose heartbeat is older than `staleBefore`. */
    async orphanedRecords(runnerId: string, staleBefore: string): Promise<RecordRow[]> {
      const rows = await recordQuery()
        .where('backupRecords.status', '=', 'running')
        .where((eb) =>
          eb.or([
            eb('backupRecords.runnerId', '=', runnerId),
            eb('backupRecords.heartbeatAt', '<', staleBefore),
          ]),
        )
        .execute();
      return rows;
    },
    async heartbeat(
      table: 'backupRecords' | 'restoreRecords',
      ids: readonly number[],
      at: string,
    ): Promise<void> {
      if (ids.length === 0) return;
      await db
        .updateTable(table)
        .set({ heartbeatAt: at })
        .where('id', 'in', [...ids])
        .execute();
    },

    // ---- restore records ----
    async insertRestore(values: {
      backupRecordId: number;
      taskId: number;
      targetPath: string;
      selectedPaths: string;
      triggeredBy: string;
      runnerId: string;
      startedAt: string;
      nodeId?: number;
      remote?: boolean;
    }): Promise<number> {
      const { remote, ...columns } = values;
      const row = await db
        .insertInto('restoreRecords')
        .values({
          ...columns,
          status: 'running',
          heartbeatAt: remote === true ? null : values.startedAt,
          createdAt: values.startedAt,
          updatedAt: values.startedAt,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    },
    async updateRestore(id: number, patch: Updateable<RestoreRecordsTable>): Promise<void> {
      await db.updateTable('restoreRecords').set(patch).where('id', '=', id).execute();
    },
    /** Updates a restore only while it is running; false once it reached a terminal state. */
    async updateRunningRestore(id: number, patch: Updateable<RestoreRecordsTable>): Promise<boolean> {
      const result = await db
        .updateTable('restoreRecords')
        .set(patch)
        .where('id', '=', id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async findRestore(id: number): Promise<RestoreRow | undefined> {
      const row = await restoreQuery().where('restoreRecords.id', '=', id).executeTakeFirst();
      return row;
    },
    async listRestores(filter: RecordFilter): Promise<{ rows: RestoreRow[]; total: number }> {
      let query = restoreQuery();
      let count = db.selectFrom('restoreRecords').select((eb) => eb.fn.countAll<number>().as('total'));
      if (filter.taskId !== undefined) {
        query = query.where('restoreRecords.taskId', '=', filter.taskId);
        count = count.where('restoreRecords.taskId', '=', filter.taskId);
      }
      if (filter.backupRecordId !== undefined) {
        query = query.where('restoreRecords.backupRecordId', '=', filter.backupRecordId);
        count = count.where('restoreRecords.backupRecordId', '=', filter.backupRecordId);
      }
      if (filter.status !== undefined) {
        query = query.where('restoreRecords.status', '=', filter.status);
        count = count.where('restoreRecords.status', '=', filter.status);
      }
      if (filter.dateFrom !== undefined) {
        query = query.where('restoreRecords.startedAt', '>=', filter.dateFrom);
        count = count.where('restoreRecords.startedAt', '>=', filter.dateFrom);
      }
      if (filter.dateTo !== undefined) {
        query = query.where('restoreRecords.startedAt', '<=', filter.dateTo);
        count = count.where('restoreRecords.startedAt', '<=', filter.dateTo);
      }
      const rows = await query
        .orderBy('restoreRecords.startedAt', 'desc')
        .orderBy('restoreRecords.id', 'desc')
        .limit(filter.limit)
        .offset(filter.offset)
        .execute();
      const total = await count.executeTakeFirstOrThrow();
      return { rows: rows, total: total.total };
    },
    async orphanedRestores(runnerId: string, staleBefore: string): Promise<RestoreRow[]> {
      const rows = await restoreQuery()
        .where('restoreRecords.status', '=', 'running')
        .where((eb) =>
          eb.or([
            eb('restoreRecords.runnerId', '=', runnerId),
            eb('restoreRecords.heartbeatAt', '<', staleBefore),
          ]),
        )
        .execute();
      return rows;
    },
  };
};

export type RunsRepository = ReturnType<typeof createRunsRepository>;
