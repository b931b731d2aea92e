import { sql, type Kysely, type Updateable } from 'kysely';
import type { Database, NodeRow, NodesTable } from '../../db/tables.ts';

export type NodePatch = Updateable<NodesTable>;

/** Per-node figures of the command queue (SPEC §11.2 `queue`, `runningTasks`, `lastError`). */
export interface NodeQueueStats {
  pending: number;
  dispatched: number;
  timeouts: number;
  runningTasks: number;
  oldestPendingAt: string | null;
  oldestDispatchedAt: string | null;
  lastError: string;
  lastErrorAt: string | null;
}

export const emptyQueueStats = (): NodeQueueStats => ({
  pending: 0,
  dispatched: 0,
  timeouts: 0,
  runningTasks: 0,
  oldestPendingAt: null,
  oldestDispatchedAt: null,
  lastError: '',
  lastErrorAt: null,
});

export const createNodesRepository = (db: Kysely<Database>) => ({
  async list(): Promise<NodeRow[]> {
    return db
      .selectFrom('nodes')
      .selectAll()
      .orderBy('isLocal', 'desc')
      .orderBy('updatedAt', 'desc')
      .orderBy('id', 'asc')
      .execute();
  },
  async findById(id: number): Promise<NodeRow | undefined> {
    return db.selectFrom('nodes').selectAll().where('id', '=', id).executeTakeFirst();
  },
  /** Every node's id by name. */
  async idsByName(): Promise<Map<string, number>> {
    const rows = await db.selectFrom('nodes').select(['id', 'name']).execute();
    return new Map(rows.map((row) => [row.name, row.id]));
  },
  /** Names of the existing nodes among `ids`. */
  async namesOf(ids: readonly number[]): Promise<Map<number, string>> {
    const wanted = [...new Set(ids)].filter((id) => id > 0);
    if (wanted.length === 0) return new Map();
    const rows = await db.selectFrom('nodes').select(['id', 'name']).where('id', 'in', wanted).execute();
    return new Map(rows.map((row) => [row.id, row.name]));
  },
  async findLocal(): Promise<NodeRow | undefined> {
    return db.selectFrom('nodes').selectAll().where('isLocal', '=', 1).executeTakeFirst();
  },
  /** The node whose current token, or unexpired previous token, has this SHA-256. */
  async findByTokenHash(hash: string, now: string): Promise<NodeRow | undefined> {
    return db
      .selectFrom('nodes')
      .selectAll()
      .where('isLocal', '=', 0)
      .where((eb) =>
        eb.or([
          eb('tokenHash', '=', hash),
          eb.and([eb('prevTokenHash', '=', hash), eb('prevTokenExpiresAt', '>', now)]),
        ]),
      )
      .executeTakeFirst();
  },
  async namesTaken(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const rows = await db.selectFrom('nodes').select('name').where('name', 'in', names).execute();
    return rows.map((row) => row.name);
  },
  async insert(row: {
    name: string;
    isLocal: number;
    tokenHash: string;
    tokenCiphertext: string;
    status: string;
    lastSeen: string;
    now: string;
  }): Promise<number> {
    const inserted = await db
      .insertInto('nodes')
      .values({
        name: row.name,
        isLocal: row.isLocal,
        tokenHash: row.tokenHash,
        tokenCiphertext: row.tokenCiphertext,
        status: row.status,
        lastSeen: row.lastSeen,
        createdAt: row.now,
        updatedAt: row.now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return inserted.id;
  },
  /** Inserts several nodes in one transaction: all or none. */
  async insertMany(
    rows: readonly { name: string; tokenHash: string; tokenCiphertext: string; now: string }[],
  ): Promise<{ id: number; name: string }[]> {
    return db.transaction().execute(async (trx) => {
      const created: { id: number; name: string }[] = [];
      for (const row of rows) {
        const inserted = await trx
          .insertInto('nodes')
          .values({
            name: row.name,
            tokenHash: row.tokenHash,
            tokenCiphertext: row.tokenCiphertext,
            status: 'offline',
            lastSeen: row.now,
            createdAt: row.now,
            updatedAt: row.now,
          })
          .returning(['id', 'name'])
          .executeTakeFirstOrThrow();
        created.push(inserted);
      }
      return created;
    });
  },
  async update(id: number, patch: NodePatch): Promise<void> {
    await db.updateTable('nodes').set(patch).where('id', '=', id).execute();
  },
  async delete(id: number): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('agentInstallTokens').where('nodeId', '=', id).execute();
      await trx
        .deleteFrom('agentCommands')
        .where('nodeId', '=', id)
        .where('status', 'not in', ['pending', 'dispatched'])
        .execute();
      await trx.deleteFrom('nodes').where('id', '=', id).execute();
    });
  },
  async countTasksBoundTo(id: number): Promise<number> {
    const row = await db
      .selectFrom('backupTasks')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('nodeId', '=', id)
      .executeTakeFirstOrThrow();
    return row.count;
  },
  /** Remote nodes still marked online that were not seen since `before` become offline. */
  async markStaleOffline(before: string, now: string): Promise<number> {
    const result = await db
      .updateTable('nodes')
      .set({ status: 'offline', updatedAt: now })
      .where('isLocal', '=', 0)
      .where('status', '=', 'online')
      .where('lastSeen', '<', before)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },
  /** Queue figures of every node that has commands (one pass over the table per figure). */
  async queueStats(nodeIds?: readonly number[]): Promise<Map<number, NodeQueueStats>> {
    const stats = new Map<number, NodeQueueStats>();
    const of = (nodeId: number) => {
      let entry = stats.get(nodeId);
      if (entry === undefined) {
        entry = emptyQueueStats();
        stats.set(nodeId, entry);
      }
      return entry;
    };
    let grouped = db
      .selectFrom('agentCommands')
      .select((eb) => [
        'nodeId',
        'status',
        eb.fn.countAll<number>().as('count'),
        eb.fn.min('createdAt').as('oldestCreated'),
        eb.fn.min('dispatchedAt').as('oldestDispatched'),
        sql<number>`sum(case when type in ('run_task', 'restore_record') then 1 else 0 end)`.as('long'),
      ])
      .where('status', 'in', ['pending', 'dispatched', 'timeout'])
      .groupBy(['nodeId', 'status']);
    if (nodeIds !== undefined) grouped = grouped.where('nodeId', 'in', nodeIds.length ? nodeIds : [0]);
    for (const row of await grouped.execute()) {
      const entry = of(row.nodeId);
      const count = row.count;
      if (row.status === 'pending') {
        entry.pending = count;
        entry.oldestPendingAt = row.oldestCreated;
      } else if (row.status === 'dispatched') {
        entry.dispatched = count;
        entry.oldestDispatchedAt = row.oldestDispatched;
        entry.runningTasks = row.long;
      } else entry.timeouts = count;
    }
    // The most recent failure of each node (failed or timed out), for `lastError` and health.
    let latest = db
      .selectFrom('agentCommands as c')
      .select(['c.nodeId', 'c.errorMessage', 'c.completedAt'])
      .where('c.status', 'in', ['failed', 'timeout'])
      .where((eb) =>
        eb(
          'c.id',
          '=',
          eb
            .selectFrom('agentCommands as d')
            .select((inner) => inner.fn.max('d.id').as('id'))
            .whereRef('d.nodeId', '=', 'c.nodeId')
            .where('d.status', 'in', ['failed', 'timeout']),
        ),
      );
    if (nodeIds !== undefined) latest = latest.where('c.nodeId', 'in', nodeIds.length ? nodeIds : [0]);
    for (const row of await latest.execute()) {
      const entry = of(row.nodeId);
      entry.lastError = row.errorMessage;
      entry.lastErrorAt = row.completedAt;
    }
    return stats;
  },
  /** Running backup records per node (pool selection: the least busy node wins). */
  async runningRecordsByNode(): Promise<Map<number, number>> {
    const rows = await db
      .selectFrom('backupRecords')
      .select((eb) => ['nodeId', eb.fn.countAll<number>().as('count')])
      .where('status', '=', 'running')
      .groupBy('nodeId')
      .execute();
    return new Map(rows.map((row) => [row.nodeId, row.count]));
  },
});

export type NodesRepository = ReturnType<typeof createNodesRepository>;
