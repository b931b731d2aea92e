import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.ts';
import { addIdColumn } from './schema-helpers.ts';

/**
 * Task templates (SPEC §1.15). BackupX kept the payload's database password in plain text
 * (quirk 5); here the payload is stored without it and the password sits apart, encrypted.
 */
export const templatesMigration = (dialect: DialectName) => {
  const withId = addIdColumn(dialect);
  const stamp = 'varchar(32)' as const;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await withId(db.schema.createTable('task_templates'))
        .addColumn('name', 'varchar(128)', (col) => col.notNull().unique())
        .addColumn('description', 'varchar(500)', (col) => col.notNull().defaultTo(''))
        .addColumn('task_type', 'varchar(20)', (col) => col.notNull())
        .addColumn('payload_json', 'text', (col) => col.notNull())
        .addColumn('payload_secret_ciphertext', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('created_by', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('created_at', stamp, (col) => col.notNull())
        .addColumn('updated_at', stamp, (col) => col.notNull())
        .execute();
    },
  };
};
