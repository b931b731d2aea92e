import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';

export type DashboardRepository = ReturnType<typeof createDashboardRepository>;

/** PostgreSQL returns SUM over bigint as numeric (a string); SQLite returns a number or null. */
const toNumber = (value: unknown): number => {
  const parsed = Number(value ?? 0);
  return Number.isFinite(parsed) ? parsed : 0;
};

export interface RecentRecordRow {
  id: number;
  taskId: number;
  taskName: string | null;
  storageTargetId: number;
  storageTargetName: string | null;
  status: string;
  fileName: string;
  fileSize: number;
  checksum: string;
  storagePath: string;
  durationSeconds: number;
  errorMessage: string;
  startedAt: string;
  completedAt: string | null;
  locked: number;
  backupKind: string;
}

export interface NodeRunStats {
  nodeId: number;
  total: number;
  success: number;
  failed: number;
  successBytes: number;
  successSeconds: number;
}

/** Read-only aggregates over tasks, records and storage targets for the dashboard (SPEC §14.6). */
export const createDashboardRepository = (db: Kysely<Database>) => ({
  async taskCounts(): Promise<{ total: number; enabled: number }> {
    const row = await db
      .selectFrom('backupTasks')
      .select((eb) => [
        eb.fn.countAll().as('total'),
        eb.fn.sum(eb.case().when('enabled', '=', 1).then(1).else(0).end()).as('enabled'),
      ])
      .executeTakeFirstOrThrow();
    return { total: toNumber(row.total), enabled: toNumber(row.enabled) };
  },

  async recordTotals(): Promise<{ total: number; successBytes: number; lastStartedAt: string | null }> {
    const row = await db
      .selectFrom('backupRecords')
      .select((eb) => [
        eb.fn.countAll().as('total'),
        eb.fn
          .sum(eb.case().when('status', '=', 'success').then(eb.ref('fileSize')).else(0).end())
          .as('successBytes'),
        eb.fn.max<string | null>('startedAt').as('lastStartedAt'),
      ])
      .executeTakeFirstOrThrow();
    return {
      total: toNumber(row.total),
      successBytes: toNumber(row.successBytes),
      lastStartedAt: row.lastStartedAt ?? null,
    };
  },

  /** Records started at or after `sinceIso`, counted by status. */
  async recordCountsByStatusSince(sinceIso: string): Promise<Map<string, number>> {
    const rows = await db
      .selectFrom('backupRecords')
      .where('startedAt', '>=', sinceIso)
      .select((eb) => ['status', eb.fn.countAll().as('count')])
      .groupBy('status')
      .execute();
    return new Map(rows.map((row) => [row.status, toNumber(row.count)]));
  },

  /** Records started at or after `sinceIso`, counted by UTC day (`YYYY-MM-DD`) and status. */
  async recordCountsByDaySince(sinceIso: string): Promise<{ day: string; status: string; count: number }[]> {
    const rows = await db
      .selectFrom('backupRecords')
      .where('startedAt', '>=', sinceIso)
      .select((eb) => [
        eb.fn<string>('substr', ['startedAt', eb.val(1), eb.val(10)]).as('day'),
        'status',
        eb.fn.countAll().as('count'),
      ])
      .groupBy(['day', 'status'])
      .execute();
    return rows.map((row) => ({ day: row.day, status: row.status, count: toNumber(row.count) }));
  },

  /** The newest records with task and storage target names (never manifests or logs). */
  async recentRecords(limit: number): Promise<RecentRecordRow[]> {
    return db
      .selectFrom('backupRecords as r')
      .leftJoin('backupTasks as t', 't.id', 'r.taskId')
      .leftJoin('storageTargets as s', 's.id', 'r.storageTargetId')
      .select([
        'r.id',
        'r.taskId',
        't.name as taskName',
        'r.storageTargetId',
        's.name as storageTargetName',
        'r.status',
        'r.fileName',
        'r.fileSize',
        'r.checksum',
        'r.storagePath',
        'r.durationSeconds',
        'r.errorMessage',
        'r.startedAt',
        'r.completedAt',
        'r.locked',
        'r.backupKind',
      ])
      .orderBy('r.startedAt', 'desc')
      .orderBy('r.id', 'desc')
      .limit(limit)
      .execute();
  },

  /** Bytes of successful records per primary storage target, largest first. */
  async successBytesByStorageTarget(): Promise<
    { storageTargetId: number; targetName: string | null; totalSize: number }[]
  > {
    const rows = await db
      .selectFrom('backupRecords as r')
      .leftJoin('storageTargets as s', 's.id', 'r.storageTargetId')
      .where('r.status', '=', 'success')
      .where('r.storageTargetId', '>', 0)
      .select((eb) => ['r.storageTargetId', 's.name as targetName', eb.fn.sum('r.fileSize').as('totalSize')])
      .groupBy(['r.storageTargetId', 's.name'])
      .execute();
    return rows
      .map((row) => ({
        storageTargetId: row.storageTargetId,
        targetName: row.targetName,
        totalSize: toNumber(row.totalSize),
      }))
      .sort((a, b) => b.totalSize - a.totalSize || a.storageTargetId - b.storageTargetId);
  },

  async taskCountsByType(): Promise<{ key: string; count: number }[]> {
    const rows = await db
      .selectFrom('backupTasks')
      .select((eb) => ['type', eb.fn.countAll().as('count')])
      .groupBy('type')
      .execute();
    return rows.map((row) => ({ key: row.type, count: toNumber(row.count) }));
  },

  async taskCountsByNode(): Promise<{ nodeId: number; count: number }[]> {
    const rows = await db
      .selectFrom('backupTasks')
      .select((eb) => ['nodeId', eb.fn.countAll().as('count')])
      .groupBy('nodeId')
      .execute();
    return rows.map((row) => ({ nodeId: toNumber(row.nodeId), count: toNumber(row.count) }));
  },

  /** Backup runs started at or after `sinceIso`, per record node (0 = made before nodes existed). */
  async runStatsByNodeSince(sinceIso: string): Promise<NodeRunStats[]> {
    const rows = await db
      .selectFrom('backupRecords')
      .where('startedAt', '>=', sinceIso)
      .select((eb) => {
        const whenSuccess = <T>(then: T) => eb.case().when('status', '=', 'success').then(then).else(0).end();
        return [
          'nodeId',
          eb.fn.countAll().as('total'),
          eb.fn.sum(whenSuccess(1)).as('success'),
          eb.fn.sum(eb.case().when('status', '=', 'failed').then(1).else(0).end()).as('failed'),
          eb.fn.sum(whenSuccess(eb.ref('fileSize'))).as('successBytes'),
          eb.fn.sum(whenSuccess(eb.ref('durationSeconds'))).as('successSeconds'),
        ];
      })
      .groupBy('nodeId')
      .execute();
    return rows.map((row) => ({
      nodeId: toNumber(row.nodeId),
      total: toNumber(row.total),
      success: toNumber(row.success),
      failed: toNumber(row.failed),
      successBytes: toNumber(row.successBytes),
      successSeconds: toNumber(row.successSeconds),
    }));
  },
});
