import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';

/**
 * A backup record written straight to the database, for read models (dashboards, SLA, reports)
 * that need history at chosen times. Runs themselves are tested through the API.
 */
export const insertBackupRecord = async (
  db: Kysely<Database>,
  record: {
    taskId: number;
    status: 'success' | 'failed' | 'running' | 'skipped';
    startedAt: Date;
    /** Default: 42 s after the start, none while running. */
    completedAt?: Date | null;
    fileSize?: number;
    storageTargetId?: number;
    nodeId?: number;
  },
): Promise<number> => {
  const completedAt =
    record.completedAt === undefined
      ? record.status === 'running'
        ? null
        : new Date(record.startedAt.getTime() + 42_000)
      : record.completedAt;
  const now = new Date().toISOString();
  const success = record.status === 'success';
  const row = await db
    .insertInto('backupRecords')
    .values({
      taskId: record.taskId,
      storageTargetId: record.storageTargetId ?? 0,
      nodeId: record.nodeId ?? 0,
      status: record.status,
      fileName: success ? `backup-${String(record.taskId)}.tar.zst` : '',
      fileSize: record.fileSize ?? 0,
      checksum: success ? 'a'.repeat(64) : '',
      storagePath: success ? `fixture/backup-${String(record.taskId)}.tar.zst` : '',
      storageTransferMode: '',
      storageUploadResults: '[]',
      durationSeconds: completedAt === null ? 0 : (completedAt.getTime() - record.startedAt.getTime()) / 1000,
      locked: 0,
      backupKind: 'full',
      baseRecordId: 0,
      manifest: '',
      errorMessage: record.status === 'failed' ? 'fixture failure' : '',
      logContent: '',
      runnerId: '',
      heartbeatAt: null,
      startedAt: record.startedAt.toISOString(),
      completedAt: completedAt === null ? null : completedAt.toISOString(),
      createdAt: now,
      updatedAt: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
};
