import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.ts';
import { addIdColumn } from './schema-helpers.ts';

/** Verification drills (SPEC §1.7, §8), with the copy read, the checks made and the measured RTO. */
export const verificationMigration = (dialect: DialectName) => {
  const withId = addIdColumn(dialect);
  const stamp = 'varchar(32)' as const;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await withId(db.schema.createTable('verification_records'))
        .addColumn('backup_record_id', 'bigint', (col) => col.notNull())
        .addColumn('task_id', 'bigint', (col) => col.notNull())
        .addColumn('node_id', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('storage_target_id', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('mode', 'varchar(20)', (col) => col.notNull())
        .addColumn('status', 'varchar(16)', (col) => col.notNull())
        .addColumn('summary', 'varchar(500)', (col) => col.notNull().defaultTo(''))
        .addColumn('error_message', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('checks_json', 'text', (col) => col.notNull().defaultTo('[]'))
        .addColumn('table_counts_json', 'text', (col) => col.notNull().defaultTo('[]'))
        .addColumn('rto_ms', 'bigint')
        .addColumn('log_content', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('duration_seconds', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('triggered_by', 'varchar(100)', (col) => col.notNull().defaultTo(''))
        .addColumn('runner_id', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('heartbeat_at', stamp)
        .addColumn('started_at', stamp, (col) => col.notNull())
        .addColumn('completed_at', stamp)
        .execute();
      await db.schema
        .createIndex('idx_verification_records_record')
        .on('verification_records')
        .columns(['backup_record_id', 'storage_target_id'])
        .execute();
      await db.schema
        .createIndex('idx_verification_records_task')
        .on('verification_records')
        .column('task_id')
        .execute();
    },
  };
};
