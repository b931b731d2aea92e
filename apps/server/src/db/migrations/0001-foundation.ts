import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../dialect.ts';
import { addIdColumn } from './schema-helpers.ts';

/**
 * Accounts, sessions, settings, API keys, audit, rate limits. Written in snake_case against a
 * plugin-free Kysely so the DDL reads as the database sees it.
 */
export const foundationMigration = (dialect: DialectName) => {
  const withId = addIdColumn(dialect);
  const flag = 'integer' as const;

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await withId(db.schema.createTable('users'))
        .addColumn('username', 'varchar(64)', (col) => col.notNull().unique())
        .addColumn('password_hash', 'varchar(255)', (col) => col.notNull())
        .addColumn('display_name', 'varchar(128)', (col) => col.notNull())
        .addColumn('email', 'varchar(255)', (col) => col.notNull().defaultTo(''))
        .addColumn('phone', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('role', 'varchar(32)', (col) => col.notNull().defaultTo('admin'))
        .addColumn('disabled', flag, (col) => col.notNull().defaultTo(0))
        .addColumn('two_factor_enabled', flag, (col) => col.notNull().defaultTo(0))
        .addColumn('two_factor_secret_ciphertext', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('two_factor_recovery_code_hashes', 'text', (col) => col.notNull().defaultTo('[]'))
        .addColumn('two_factor_last_step', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('web_authn_credentials', 'text', (col) => col.notNull().defaultTo('[]'))
        .addColumn('web_authn_challenge_ciphertext', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('trusted_devices', 'text', (col) => col.notNull().defaultTo('[]'))
        .addColumn('email_otp_enabled', flag, (col) => col.notNull().defaultTo(0))
        .addColumn('sms_otp_enabled', flag, (col) => col.notNull().defaultTo(0))
        .addColumn('out_of_band_otp_ciphertext', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('created_at', 'varchar(32)', (col) => col.notNull())
        .addColumn('updated_at', 'varchar(32)', (col) => col.notNull())
        .execute();

      await db.schema
        .createTable('user_sessions')
        .addColumn('id', 'varchar(64)', (col) => col.primaryKey())
        .addColumn('user_id', 'bigint', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'varchar(32)', (col) => col.notNull())
        .addColumn('expires_at', 'varchar(32)', (col) => col.notNull())
        .addColumn('revoked_at', 'varchar(32)')
        .addColumn('client_ip', 'varchar(45)', (col) => col.notNull().defaultTo(''))
        .addColumn('user_agent', 'varchar(256)', (col) => col.notNull().defaultTo(''))
        .execute();
      await db.schema
        .createIndex('idx_user_sessions_user_id')
        .on('user_sessions')
        .column('user_id')
        .execute();
      await db.schema
        .createIndex('idx_user_sessions_expires_at')
        .on('user_sessions')
        .column('expires_at')
        .execute();

      await withId(db.schema.createTable('system_configs'))
        .addColumn('key', 'varchar(128)', (col) => col.notNull().unique())
        .addColumn('value', 'text', (col) => col.notNull())
        .addColumn('encrypted', flag, (col) => col.notNull().defaultTo(0))
        .addColumn('created_at', 'varchar(32)', (col) => col.notNull())
        .addColumn('updated_at', 'varchar(32)', (col) => col.notNull())
        .execute();

      await withId(db.schema.createTable('api_keys'))
        .addColumn('name', 'varchar(128)', (col) => col.notNull())
        .addColumn('role', 'varchar(32)', (col) => col.notNull().defaultTo('viewer'))
        .addColumn('key_hash', 'varchar(128)', (col) => col.notNull().unique())
        .addColumn('prefix', 'varchar(16)', (col) => col.notNull())
        .addColumn('created_by', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('last_used_at', 'varchar(32)')
        .addColumn('expires_at', 'varchar(32)')
        .addColumn('disabled', flag, (col) => col.notNull().defaultTo(0))
        .addColumn('created_at', 'varchar(32)', (col) => col.notNull())
        .addColumn('updated_at', 'varchar(32)', (col) => col.notNull())
        .execute();

      await withId(db.schema.createTable('audit_logs'))
        .addColumn('user_id', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('username', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('category', 'varchar(32)', (col) => col.notNull())
        .addColumn('action', 'varchar(64)', (col) => col.notNull())
        .addColumn('target_type', 'varchar(32)', (col) => col.notNull().defaultTo(''))
        .addColumn('target_id', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('target_name', 'varchar(128)', (col) => col.notNull().defaultTo(''))
        .addColumn('detail', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('client_ip', 'varchar(45)', (col) => col.notNull().defaultTo(''))
        .addColumn('created_at', 'varchar(32)', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('idx_audit_logs_category').on('audit_logs').column('category').execute();
      await db.schema
        .createIndex('idx_audit_logs_created_at')
        .on('audit_logs')
        .column('created_at')
        .execute();

      await db.schema
        .createTable('rate_limit_buckets')
        .addColumn('key', 'varchar(191)', (col) => col.primaryKey())
        .addColumn('window_started_at', 'varchar(32)', (col) => col.notNull())
        .addColumn('count', 'integer', (col) => col.notNull())
        .execute();
      // Keeps the statement meaningful on both dialects; nothing else to seed.
      await sql`select 1`.execute(db);
    },
  };
};
