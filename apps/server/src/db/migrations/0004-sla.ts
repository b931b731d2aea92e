import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.ts';

/**
 * When each task's RPO breach was last alerted (SPEC §10.2). BackupX kept this in process memory;
 * in the database, masters sharing it alert once between them (the conditional update is the
 * claim), and a restart does not repeat an alert within the spacing window.
 */
export const slaMigration = (_dialect: DialectName) => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('sla_alerts')
      .addColumn('task_id', 'bigint', (col) => col.primaryKey())
      .addColumn('alerted_at', 'varchar(32)', (col) => col.notNull())
      .execute();
  },
});
