import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.ts';

/**
 * Deduplicating repository mode (SPEC §3.14): each record's deduplication figures, and the write
 * leases that serialise the writers (master runs, agent runs, prunes) of one target's repository.
 */
export const repositoryMigration = (_dialect: DialectName) => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('backup_records')
      .addColumn('repository_stats', 'text', (col) => col.notNull().defaultTo(''))
      .execute();
    await db.schema
      .createTable('repository_leases')
      .addColumn('storage_target_id', 'bigint', (col) => col.primaryKey())
      .addColumn('holder', 'varchar(128)', (col) => col.notNull())
      .addColumn('acquired_at', 'varchar(32)', (col) => col.notNull())
      .addColumn('expires_at', 'varchar(32)', (col) => col.notNull())
      .execute();
  },
});
