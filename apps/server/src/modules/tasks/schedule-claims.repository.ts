import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';

export type ScheduleClaimsRepository = ReturnType<typeof createScheduleClaimsRepository>;

export type ScheduleKind = 'backup' | 'verify';

/**
 * Claims of schedule fires. Every master sharing the database computes the same fire times; the
 * one whose insert of (task, kind, fire time) succeeds runs the fire, the others do nothing.
 */
export const createScheduleClaimsRepository = (db: Kysely<Database>) => ({
  /** True when this runner won the fire; false when another master already claimed it. */
  async claim(claim: {
    taskId: number;
    kind: ScheduleKind;
    fireAt: string;
    runnerId: string;
    createdAt: string;
  }): Promise<boolean> {
    const inserted = await db
      .insertInto('scheduleClaims')
      .values(claim)
      .onConflict((conflict) => conflict.columns(['taskId', 'kind', 'fireAt']).doNothing())
      .returning('taskId')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  async deleteCreatedBefore(iso: string): Promise<number> {
    const result = await db.deleteFrom('scheduleClaims').where('createdAt', '<', iso).executeTakeFirst();
    return Number(result.numDeletedRows);
  },
});
