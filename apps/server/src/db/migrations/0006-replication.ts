import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.ts';
import { addIdColumn } from './schema-helpers.ts';

/** Copies of backups to other storage targets (SPEC §1.8, §9). */
export const replicationMigration = (dialect: DialectName) => {
  const withId = addIdColumn(dialect);
  const stamp = 'varchar(32)' as const;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await withId(db.schema.createTable('replication_records'))
        .addColumn('backup_record_id', 'bigint', (col) => col.notNull())
        .addColumn('task_id', 'bigint', (col) => col.notNull())
        .addColumn('source_target_id', 'bigint', (col) => col.notNull())
        .addColumn('dest_target_id', 'bigint', (col) => col.notNull())
        .addColumn('status', 'varchar(16)', (col) => col.notNull())
        .addColumn('storage_path', 'varchar(1024)', (col) => col.notNull().defaultTo(''))
        .addColumn('file_size', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('checksum', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('error_message', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('duration_seconds', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('triggered_by', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('started_at', stamp, (col) => col.notNull())
        .addColumn('completed_at', stamp)
        .execute();
      await db.schema
        .createIndex('idx_replication_records_record')
        .on('replication_records')
        .column('backup_record_id')
        .execute();
    },
  };
};
