import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';

/** PostgreSQL returns COUNT/SUM as strings; SQLite as numbers. */
const toNumber = (value: unknown): number => {
  const parsed = Number(value ?? 0);
  return Number.isFinite(parsed) ? parsed : 0;
};

export interface SlaTaskRow {
  id: number;
  name: string;
  type: string;
  enabled: number;
  nodeId: number;
  cronExpr: string;
  encrypt: number;
  retentionDays: number;
  slaHoursRpo: number;
  createdAt: string;
}

export interface LastSuccessRow {
  taskId: number;
  completedAt: string | null;
  startedAt: string;
  fileSize: number;
}

export type SlaRepository = ReturnType<typeof createSlaRepository>;

/** Read models of SLA compliance and the compliance report (SPEC §10), and the alert claims. */
export const createSlaRepository = (db: Kysely<Database>) => ({
  async tasks(options: { withRpoOnly?: boolean } = {}): Promise<SlaTaskRow[]> {
    let query = db
      .selectFrom('backupTasks')
      .select([
        'id',
        'name',
        'type',
        'enabled',
        'nodeId',
        'cronExpr',
        'encrypt',
        'retentionDays',
        'slaHoursRpo',
        'createdAt',
      ]);
    if (options.withRpoOnly === true) query = query.where('enabled', '=', 1).where('slaHoursRpo', '>', 0);
    return query.orderBy('id', 'asc').execute();
  },

  /** The newest successful record of each task (by completion), one row per task. */
  async lastSuccesses(taskIds: readonly number[]): Promise<Map<number, LastSuccessRow>> {
    if (taskIds.length === 0) return new Map();
    const rows = await db
      .selectFrom('backupRecords as r')
      .select(['r.taskId', 'r.completedAt', 'r.startedAt', 'r.fileSize'])
      .where('r.status', '=', 'success')
      .where('r.taskId', 'in', [...taskIds])
      .where('r.id', '=', (eb) =>
        eb
          .selectFrom('backupRecords as newer')
          .select('newer.id')
          .whereRef('newer.taskId', '=', 'r.taskId')
          .where('newer.status', '=', 'success')
          .orderBy('newer.completedAt', 'desc')
          .orderBy('newer.id', 'desc')
          .limit(1),
      )
      .execute();
    return new Map(rows.map((row) => [row.taskId, row]));
  },

  /** The newest record of each task by start, any status. */
  async lastRecords(): Promise<Map<number, { status: string; startedAt: string }>> {
    const rows = await db
      .selectFrom('backupRecords as r')
      .select(['r.taskId', 'r.status', 'r.startedAt'])
      .where('r.id', '=', (eb) =>
        eb
          .selectFrom('backupRecords as newer')
          .select('newer.id')
          .whereRef('newer.taskId', '=', 'r.taskId')
          .orderBy('newer.startedAt', 'desc')
          .orderBy('newer.id', 'desc')
          .limit(1),
      )
      .execute();
    return new Map(rows.map((row) => [row.taskId, { status: row.status, startedAt: row.startedAt }]));
  },

  /** Records started at or after `sinceIso`, per task: all, successes, failures. */
  async runCountsSince(
    sinceIso: string,
  ): Promise<Map<number, { total: number; successes: number; failures: number }>> {
    const rows = await db
      .selectFrom('backupRecords')
      .where('startedAt', '>=', sinceIso)
      .select((eb) => [
        'taskId',
        eb.fn.countAll().as('total'),
        eb.fn.sum(eb.case().when('status', '=', 'success').then(1).else(0).end()).as('successes'),
        eb.fn.sum(eb.case().when('status', '=', 'failed').then(1).else(0).end()).as('failures'),
      ])
      .groupBy('taskId')
      .execute();
    return new Map(
      rows.map((row) => [
        row.taskId,
        { total: toNumber(row.total), successes: toNumber(row.successes), failures: toNumber(row.failures) },
      ]),
    );
  },

  /**
   * Claims the right to alert this task's breach now: true when it was never alerted or last
   * alerted before `spacedBeforeIso`. One conditional write, so concurrent masters alert once.
   */
  async claimAlert(taskId: number, nowIso: string, spacedBeforeIso: string): Promise<boolean> {
    const updated = await db
      .updateTable('slaAlerts')
      .set({ alertedAt: nowIso })
      .where('taskId', '=', taskId)
      .where('alertedAt', '<', spacedBeforeIso)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) > 0) return true;
    const inserted = await db
      .insertInto('slaAlerts')
      .values({ taskId, alertedAt: nowIso })
      .onConflict((oc) => oc.column('taskId').doNothing())
      .executeTakeFirst();
    return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
  },

  /** Forgets the alerts of tasks that are no longer in breach: their next breach alerts at once. */
  async forgetAlertsExcept(taskIds: readonly number[]): Promise<void> {
    let query = db.deleteFrom('slaAlerts');
    if (taskIds.length > 0) query = query.where('taskId', 'not in', [...taskIds]);
    await query.execute();
  },
});
