import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';

export type RateLimitRepository = ReturnType<typeof createRateLimitRepository>;

/**
 * Fixed-window counters kept in the database, so every master sharing it sees the same counts.
 * The window starts at the first attempt (SPEC §12.3).
 */
export const createRateLimitRepository = (db: Kysely<Database>) => ({
  /** Counts one attempt and returns the attempts in the current window, this one included. */
  async hit(key: string, now: string, windowStartedBefore: string): Promise<number> {
    const row = await db
      .insertInto('rateLimitBuckets')
      .values({ key, windowStartedAt: now, count: 1 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          count: sql<number>`case when rate_limit_buckets.window_started_at <= ${windowStartedBefore} then 1 else rate_limit_buckets.count + 1 end`,
          windowStartedAt: sql<string>`case when rate_limit_buckets.window_started_at <= ${windowStartedBefore} then excluded.window_started_at else rate_limit_buckets.window_started_at end`,
        }),
      )
      .returning('count')
      .executeTakeFirstOrThrow();
    return row.count;
  },

  async reset(key: string): Promise<void> {
    await db.deleteFrom('rateLimitBuckets').where('key', '=', key).execute();
  },

  async deleteStale(windowStartedBefore: string): Promise<void> {
    await db.deleteFrom('rateLimitBuckets').where('windowStartedAt', '<=', windowStartedBefore).execute();
  },
});
