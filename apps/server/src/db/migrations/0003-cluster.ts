import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../dialect.ts';
import { addIdColumn } from './schema-helpers.ts';

/**
 * Nodes, their command queue and one-time install tokens (SPEC §1.10–1.12, §11).
 *
 * - A node token is looked up by its SHA-256 (`token_hash`, compared in constant time) and kept
 *   encrypted (`token_ciphertext`) only so install scripts can embed it; the previous token stays
 *   valid until `prev_token_expires_at` after a rotation.
 * - A command is claimed by a conditional update from `pending` to `dispatched` (SKIP LOCKED on
 *   PostgreSQL), so two masters or two polls never claim the same one; `lease_expires_at` is pushed
 *   forward while the agent is alive and reporting, and the timeout monitor fails what it passes.
 * - Backups sealed by an agent (BXENC2) keep the wrapped data key in `key_envelope`.
 */
export const clusterMigration = (dialect: DialectName) => {
  const withId = addIdColumn(dialect);
  const flag = 'integer' as const;
  const stamp = 'varchar(32)' as const;

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await withId(db.schema.createTable('nodes'))
        .addColumn('name', 'varchar(128)', (col) => col.notNull().unique())
        .addColumn('is_local', flag, (col) => col.notNull().defaultTo(0))
        .addColumn('token_hash', 'varchar(64)', (col) => col.notNull())
        .addColumn('token_ciphertext', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('prev_token_hash', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('prev_token_expires_at', stamp)
        .addColumn('status', 'varchar(16)', (col) => col.notNull().defaultTo('offline'))
        .addColumn('hostname', 'varchar(255)', (col) => col.notNull().defaultTo(''))
        .addColumn('ip_address', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('os', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('arch', 'varchar(32)', (col) => col.notNull().defaultTo(''))
        .addColumn('agent_version', 'varchar(64)', (col) => col.notNull().defaultTo(''))
        .addColumn('last_seen', stamp, (col) => col.notNull())
        .addColumn('max_concurrent', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('bandwidth_limit', 'varchar(32)', (col) => col.notNull().defaultTo(''))
        .addColumn('labels', 'varchar(500)', (col) => col.notNull().defaultTo(''))
        .addColumn('outdated_alerted_at', stamp)
        .addColumn('created_at', stamp, (col) => col.notNull())
        .addColumn('updated_at', stamp, (col) => col.notNull())
        .execute();
      await db.schema.createIndex('idx_nodes_token_hash').on('nodes').column('token_hash').unique().execute();
      await db.schema
        .createIndex('idx_nodes_prev_token_hash')
        .on('nodes')
        .column('prev_token_hash')
        .execute();
      // Exactly one local node, even when several masters start at once.
      await sql`CREATE UNIQUE INDEX idx_nodes_single_local ON nodes (is_local) WHERE is_local = 1`.execute(
        db,
      );

      await withId(db.schema.createTable('agent_commands'))
        .addColumn('node_id', 'bigint', (col) => col.notNull())
        .addColumn('type', 'varchar(32)', (col) => col.notNull())
        .addColumn('status', 'varchar(16)', (col) => col.notNull().defaultTo('pending'))
        .addColumn('payload', 'text', (col) => col.notNull().defaultTo('{}'))
        .addColumn('result', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('error_message', 'varchar(2048)', (col) => col.notNull().defaultTo(''))
        .addColumn('backup_record_id', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('restore_record_id', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('lease_expires_at', stamp)
        .addColumn('created_at', stamp, (col) => col.notNull())
        .addColumn('dispatched_at', stamp)
        .addColumn('completed_at', stamp)
        .addColumn('updated_at', stamp, (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('idx_agent_commands_node_status')
        .on('agent_commands')
        .columns(['node_id', 'status', 'id'])
        .execute();
      await db.schema
        .createIndex('idx_agent_commands_status_dispatched')
        .on('agent_commands')
        .columns(['status', 'dispatched_at'])
        .execute();
      await db.schema
        .createIndex('idx_agent_commands_status_created')
        .on('agent_commands')
        .columns(['status', 'created_at'])
        .execute();

      await withId(db.schema.createTable('agent_install_tokens'))
        .addColumn('token_hash', 'varchar(64)', (col) => col.notNull().unique())
        .addColumn('node_id', 'bigint', (col) => col.notNull())
        .addColumn('mode', 'varchar(16)', (col) => col.notNull())
        .addColumn('arch', 'varchar(16)', (col) => col.notNull())
        .addColumn('agent_version', 'varchar(64)', (col) => col.notNull())
        .addColumn('download_src', 'varchar(16)', (col) => col.notNull())
        .addColumn('agent_master_url', 'varchar(2048)', (col) => col.notNull().defaultTo(''))
        .addColumn('proxy_url', 'varchar(2048)', (col) => col.notNull().defaultTo(''))
        .addColumn('ca_cert_file', 'varchar(512)', (col) => col.notNull().defaultTo(''))
        .addColumn('expires_at', stamp, (col) => col.notNull())
        .addColumn('consumed_at', stamp)
        .addColumn('created_by_id', 'bigint', (col) => col.notNull().defaultTo(0))
        .addColumn('created_at', stamp, (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('idx_agent_install_tokens_node_created')
        .on('agent_install_tokens')
        .columns(['node_id', 'created_at'])
        .execute();

      await db.schema
        .alterTable('backup_records')
        .addColumn('key_envelope', 'text', (col) => col.notNull().defaultTo(''))
        .execute();
    },
  };
};
