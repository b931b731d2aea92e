import { sql, type Kysely } from 'kysely';
import type { AgentCommandRow, Database } from '../../db/tables.ts';
import type { DialectName } from '../../db/dialect.ts';

export interface ClaimedCommand {
  id: number;
  type: string;
  payload: string;
}

const LONG_TYPES = ['run_task', 'restore_record'] as const;

/**
 * The durable command queue (SPEC §1.11, §11.4). Every state change is a conditional update on the
 * current state, so a terminal command is never overwritten and two claimers never get one command.
 */
export const createAgentCommandsRepository = (db: Kysely<Database>, dialect: DialectName) => ({
  async insert(row: {
    nodeId: number;
    type: string;
    payload: string;
    backupRecordId?: number;
    restoreRecordId?: number;
    now: string;
  }): Promise<number> {
    const inserted = await db
      .insertInto('agentCommands')
      .values({
        nodeId: row.nodeId,
        type: row.type,
        status: 'pending',
        payload: row.payload,
        backupRecordId: row.backupRecordId ?? 0,
        restoreRecordId: row.restoreRecordId ?? 0,
        createdAt: row.now,
        updatedAt: row.now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return inserted.id;
  },

  async findById(id: number): Promise<AgentCommandRow | undefined> {
    return db.selectFrom('agentCommands').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /**
   * Takes the oldest pending command of the node and marks it dispatched, in one statement.
   * `longAllowed` false (the node is at its maxConcurrent) leaves run_task/restore_record queued
   * and only hands out the short RPCs. PostgreSQL skips rows another claimer holds (SKIP LOCKED);
   * SQLite serialises writers, and the `status = 'pending'` guard makes the update conditional.
   */
  async claim(
    nodeId: number,
    longAllowed: boolean,
    now: string,
    leaseUntil: string,
  ): Promise<ClaimedCommand | null> {
    const typeFilter = longAllowed ? sql`` : sql`and type not in ('run_task', 'restore_record')`;
    const lock = dialect === 'postgres' ? sql`for update skip locked` : sql``;
    const result = await sql<{ id: number; type: string; payload: string }>`
      update agent_commands
         set status = 'dispatched', dispatched_at = ${now}, lease_expires_at = ${leaseUntil}, updated_at = ${now}
       where status = 'pending'
         and id = (select id from agent_commands
                    where node_id = ${nodeId} and status = 'pending' ${typeFilter}
                    order by id limit 1 ${lock})
      returning id, type, payload`.execute(db);
    const row = result.rows[0];
    return row === undefined ? null : { id: row.id, type: row.type, payload: row.payload };
  },

  async countRunningLong(nodeId: number): Promise<number> {
    const row = await db
      .selectFrom('agentCommands')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('nodeId', '=', nodeId)
      .where('status', '=', 'dispatched')
      .where('type', 'in', LONG_TYPES)
      .executeTakeFirstOrThrow();
    return row.count;
  },

  /** dispatched → succeeded | failed; false when the command was not dispatched (already terminal). */
  async complete(
    id: number,
    outcome: { status: 'succeeded' | 'failed'; result: string; errorMessage: string; now: string },
  ): Promise<boolean> {
    const updated = await db
      .updateTable('agentCommands')
      .set({
        status: outcome.status,
        result: outcome.result,
        errorMessage: outcome.errorMessage,
        completedAt: outcome.now,
        updatedAt: outcome.now,
      })
      .where('id', '=', id)
      .where('status', '=', 'dispatched')
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  },

  /** pending | dispatched → timeout; false when it had already ended. */
  async markTimedOut(id: number, errorMessage: string, now: string): Promise<boolean> {
    const updated = await db
      .updateTable('agentCommands')
      .set({ status: 'timeout', errorMessage, completedAt: now, updatedAt: now })
      .where('id', '=', id)
      .where('status', 'in', ['pending', 'dispatched'])
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  },

  /** The agent is alive: its running long commands keep their lease. */
  async extendLeases(nodeId: number, leaseUntil: string): Promise<void> {
    await db
      .updateTable('agentCommands')
      .set({ leaseExpiresAt: leaseUntil })
      .where('nodeId', '=', nodeId)
      .where('status', '=', 'dispatched')
      .where('type', 'in', LONG_TYPES)
      .execute();
  },

  async extendLeaseOfRecord(
    column: 'backupRecordId' | 'restoreRecordId',
    recordId: number,
    leaseUntil: string,
  ): Promise<void> {
    await db
      .updateTable('agentCommands')
      .set({ leaseExpiresAt: leaseUntil })
      .where(column, '=', recordId)
      .where('status', '=', 'dispatched')
      .execute();
  },

  /** Pending commands queued before `pendingBefore`, and dispatched ones whose lease ran out. */
  async expired(pendingBefore: string, now: string): Promise<AgentCommandRow[]> {
    return db
      .selectFrom('agentCommands')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'pending'), eb('createdAt', '<', pendingBefore)]),
          eb.and([eb('status', '=', 'dispatched'), eb('leaseExpiresAt', '<', now)]),
        ]),
      )
      .orderBy('id')
      .limit(500)
      .execute();
  },

  /** The running command that carries a backup or restore record (for results and leases). */
  async activeForRecord(
    column: 'backupRecordId' | 'restoreRecordId',
    recordId: number,
  ): Promise<AgentCommandRow | undefined> {
    return db
      .selectFrom('agentCommands')
      .selectAll()
      .where(column, '=', recordId)
      .where('status', 'in', ['pending', 'dispatched'])
      .executeTakeFirst();
  },
});

export type AgentCommandsRepository = ReturnType<typeof createAgentCommandsRepository>;
