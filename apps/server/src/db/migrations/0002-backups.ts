import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../dialect.ts';
import { addIdColumn } from './schema-helpers.ts';

/**
 * Storage targets, tasks and their targets, backup and restore records, notification channels,
 * and the claims that keep several masters from firing one schedule twice.
 */
export const backupsMigration = (dialect: DialectName) => {
  const withId = addIdColumn(dialect);
  const flag = 'integer' as const;
  const stamp = 'varchar(32)' as const;

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await withId(db.schema.createTable('storage_targets'))
        .addColumn('name', 'varchar(128)', (col) => col.notNull().unique())
        .addColumn('type', 'varchar(32)', (col) => col.notNull())
        .addColumn('description', 'varchar(255)', (col) => col.notNull().defaultTo(''))
        .addColumn('enabled', flag, (col) => col.notNull().defaultTo(1))
        .addColumn('starred', flag, (col) => col.notNull().defaultTo(0))
        .addColumn('config_ciphertext', 'text', (col) => col.notNull())
        .addColumn('config_version', 'integer', (col) => col.notNull().defaultTo(1))
        .addColumn('last_tested_at', stamp)
        .addColumn('last_test_status', 'varchar(16)', (col) => col.notNull().defaultTo('unknown'))
        .addColumn('last_test_message', 'varchar(512)', (col) => col.notNull().defaultTo(''))
        .addColumn('quota_bytes', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('created_at', stamp, (col) => col.notNull())
        .addColumn('updated_at', stamp, (col) => col.notNull())
        .execute();

      await withId(db.schema.createTable('backup_tasks'))
        .addColumn('name', 'varchar(100)', (col) => col.notNull().unique())
        .addColumn('type', 'varchar(20)', (col) => col.notNull())
        .addColumn('enabled', flag, (col) => col.notNull().defaultTo(1))
        .addColumn('cron_expr', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('source_path', 'varchar(500)', (col) => col.notNull().defaultTo(''))
        .addColumn('source_paths', 'text', (col) => col.notNull().defaultTo('[]'))
        .addColumn('exclude_patterns', 'text', (col) => col.notNull().defaultTo('[]'))
        .addColumn('db_host', 'varchar(255)', (col) => col.notNull().defaultTo(''))
        .addColumn('db_port', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('db_user', 'varchar(100)', (col) => col.notNull().defaultTo(''))
        .addColumn('db_name', 'varchar(255)', (col) => col.notNull().defaultTo(''))
        .addColumn('db_path', 'varchar(500)', (col) => col.notNull().defaultTo(''))
        .addColumn('db_password_ciphertext', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('extra_config', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('storage_target_id', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('node_id', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('node_pool_tag', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('tags', 'varchar(500)', (col) => col.notNull().defaultTo(''))
        .addColumn('retention_days', 'integer', (col) => col.notNull().defaultTo(30))
        .addColumn('compression', 'varchar(10)', (col) => col.notNull().defaultTo('zstd'))
        .addColumn('encrypt', flag, (col) => col.notNull().defaultTo(0))
        .addColumn('max_backups', 'integer', (col) => col.notNull().defaultTo(10))
        .addColumn('backup_mode', 'varchar(16)', (col) => col.notNull().defaultTo('full'))
        .addColumn('diff_full_interval_days', 'integer', (col) => col.notNull().defaultTo(7))
        .addColumn('keep_daily', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('keep_weekly', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('keep_monthly', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('keep_yearly', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('last_run_at', stamp)
        .addColumn('last_status', 'varchar(20)', (col) => col.notNull().defaultTo('idle'))
        .addColumn('verify_enabled', flag, (col) => col.notNull().defaultTo(0))
        .addColumn('verify_cron_expr', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('verify_mode', 'varchar(20)', (col) => col.notNull().defaultTo('quick'))
        .addColumn('sla_hours_rpo', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('alert_on_consecutive_fails', 'integer', (col) => col.notNull().defaultTo(1))
        .addColumn('replication_target_ids', 'varchar(500)', (col) => col.notNull().defaultTo(''))
        .addColumn('maintenance_windows', 'varchar(500)', (col) => col.notNull().defaultTo(''))
        .addColumn('depends_on_task_ids', 'varchar(500)', (col) => col.notNull().defaultTo(''))
        .addColumn('created_at', stamp, (col) => col.notNull())
        .addColumn('updated_at', stamp, (col) => col.notNull())
        .execute();

      await db.schema
        .createTable('backup_task_storage_targets')
        .addColumn('task_id', 'bigint', (col) =>
          col.notNull().references('backup_tasks.id').onDelete('cascade'),
        )
        .addColumn('storage_target_id', 'bigint', (col) => col.notNull().references('storage_targets.id'))
        .addColumn('position', 'integer', (col) => col.notNull())
        .addPrimaryKeyConstraint('pk_backup_task_storage_targets', ['task_id', 'storage_target_id'])
        .execute();
      await db.schema
        .createIndex('idx_task_targets_storage_target_id')
        .on('backup_task_storage_targets')
        .column('storage_target_id')
        .execute();

      await withId(db.schema.createTable('backup_records'))
        .addColumn('task_id', 'bigint', (col) => col.notNull())
        .addColumn('storage_target_id', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('node_id', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('status', 'varchar(16)', (col) => col.notNull())
        .addColumn('file_name', 'varchar(255)', (col) => col.notNull().defaultTo(''))
        .addColumn('file_size', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('checksum', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('storage_path', 'varchar(500)', (col) => col.notNull().defaultTo(''))
        .addColumn('storage_transfer_mode', 'varchar(16)', (col) => col.notNull().defaultTo(''))
        .addColumn('storage_upload_results', 'text', (col) => col.notNull().defaultTo('[]'))
        .addColumn('duration_seconds', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('locked', flag, (col) => col.notNull().defaultTo(0))
        .addColumn('backup_kind', 'varchar(16)', (col) => col.notNull().defaultTo('full'))
        .addColumn('base_record_id', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('manifest', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('error_message', 'varchar(2000)', (col) => col.notNull().defaultTo(''))
        .addColumn('log_content', 'text', (col) => col.notNull().defaultTo(''))
        // Which master process runs it and when that process last said it is alive: a record
        // `running` under a dead runner is failed and its partial objects removed.
        .addColumn('runner_id', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('heartbeat_at', stamp)
        .addColumn('started_at', stamp, (col) => col.notNull())
        .addColumn('completed_at', stamp)
        .addColumn('created_at', stamp, (col) => col.notNull())
        .addColumn('updated_at', stamp, (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('idx_backup_records_task_started')
        .on('backup_records')
        .columns(['task_id', 'started_at'])
        .execute();
      await db.schema
        .createIndex('idx_backup_records_status')
        .on('backup_records')
        .column('status')
        .execute();
      await db.schema
        .createIndex('idx_backup_records_locked')
        .on('backup_records')
        .column('locked')
        .execute();
      await db.schema
        .createIndex('idx_backup_records_started_at')
        .on('backup_records')
        .column('started_at')
        .execute();
      // At most one running record per task, across every master sharing the database.
      await sql`create unique index uq_backup_records_one_running on backup_records (task_id) where status = 'running'`.execute(
        db,
      );

      await withId(db.schema.createTable('restore_records'))
        .addColumn('backup_record_id', 'bigint', (col) => col.notNull())
        .addColumn('task_id', 'bigint', (col) => col.notNull())
        .addColumn('node_id', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('target_path', 'varchar(500)', (col) => col.notNull().defaultTo(''))
        .addColumn('selected_paths', 'text', (col) => col.notNull().defaultTo('[]'))
        .addColumn('status', 'varchar(16)', (col) => col.notNull())
        .addColumn('error_message', 'varchar(2000)', (col) => col.notNull().defaultTo(''))
        .addColumn('log_content', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('duration_seconds', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('triggered_by', 'varchar(100)', (col) => col.notNull().defaultTo(''))
        .addColumn('runner_id', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('heartbeat_at', stamp)
        .addColumn('started_at', stamp, (col) => col.notNull())
        .addColumn('completed_at', stamp)
        .addColumn('created_at', stamp, (col) => col.notNull())
        .addColumn('updated_at', stamp, (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('idx_restore_records_started_at')
        .on('restore_records')
        .column('started_at')
        .execute();
      await db.schema
        .createIndex('idx_restore_records_backup_record_id')
        .on('restore_records')
        .column('backup_record_id')
        .execute();

      await withId(db.schema.createTable('notifications'))
        .addColumn('type', 'varchar(16)', (col) => col.notNull())
        .addColumn('name', 'varchar(100)', (col) => col.notNull().unique())
        .addColumn('config_ciphertext', 'text', (col) => col.notNull())
        .addColumn('enabled', flag, (col) => col.notNull().defaultTo(1))
        .addColumn('on_success', flag, (col) => col.notNull().defaultTo(0))
        .addColumn('on_failure', flag, (col) => col.notNull().defaultTo(1))
        .addColumn('event_types', 'varchar(500)', (col) => col.notNull().defaultTo(''))
        .addColumn('created_at', stamp, (col) => col.notNull())
        .addColumn('updated_at', stamp, (col) => col.notNull())
        .execute();

      // One row per (task, schedule kind, fire time): the master that inserts it runs the fire.
      await db.schema
        .createTable('schedule_claims')
        .addColumn('task_id', 'bigint', (col) => col.notNull())
        .addColumn('kind', 'varchar(16)', (col) => col.notNull())
        .addColumn('fire_at', stamp, (col) => col.notNull())
        .addColumn('runner_id', 'varchar(64)', (col) => col.notNull())
        .addColumn('created_at', stamp, (col) => col.notNull())
        .addPrimaryKeyConstraint('pk_schedule_claims', ['task_id', 'kind', 'fire_at'])
        .execute();
    },
  };
};
