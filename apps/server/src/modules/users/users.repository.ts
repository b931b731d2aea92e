import { PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import type { Database, NewUserRow, UserPatch, UserRow } from '../../db/tables.ts';

export type UsersRepository = ReturnType<typeof createUsersRepository>;

/** Advisory lock id of the first-admin setup (any constant unique to this purpose). */
const FIRST_ADMIN_LOCK = 0x62_78_73_65_74_75_70n;

export const createUsersRepository = (db: Kysely<Database>) => ({
  async count(): Promise<number> {
    const row = await db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return row.n;
  },

  async countEnabledAdmins(): Promise<number> {
    const row = await db
      .selectFrom('users')
      .where('role', '=', 'admin')
      .where('disabled', '=', 0)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return row.n;
  },

  list(): Promise<UserRow[]> {
    return db.selectFrom('users').selectAll().orderBy('createdAt', 'asc').orderBy('id', 'asc').execute();
  },

  findById(id: number): Promise<UserRow | undefined> {
    return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  },

  findByUsername(username: string): Promise<UserRow | undefined> {
    return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  },

  async insert(row: NewUserRow): Promise<UserRow> {
    return db.insertInto('users').values(row).returningAll().executeTakeFirstOrThrow();
  },

  /** Inserts only while the table is empty; returns undefined when someone else won the race. */
  async insertFirst(row: NewUserRow): Promise<UserRow | undefined> {
    return db.transaction().execute(async (trx) => {
      // With no row to lock, two PostgreSQL transactions would both see an empty table and both
      // insert: concurrent setups queue on a transaction-scoped advisory lock instead. (SQLite
      // runs one write transaction at a time.)
      if (trx.getExecutor().adapter instanceof PostgresAdapter)
        await sql`select pg_advisory_xact_lock(${FIRST_ADMIN_LOCK})`.execute(trx);
      const existing = await trx.selectFrom('users').select('id').limit(1).executeTakeFirst();
      if (existing) return undefined;
      return trx.insertInto('users').values(row).returningAll().executeTakeFirstOrThrow();
    });
  },

  async update(id: number, patch: UserPatch): Promise<UserRow | undefined> {
    return db.updateTable('users').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
  },

  /** Records the TOTP step just used; false when that step (or a later one) was already consumed. */
  async advanceTotpStep(id: number, step: number): Promise<boolean> {
    const result = await db
      .updateTable('users')
      .set({ twoFactorLastStep: step })
      .where('id', '=', id)
      .where('twoFactorLastStep', '<', step)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },

  async delete(id: number): Promise<boolean> {
    const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  },

  /**
   * Updates a user who leaves the enabled admins, only while another enabled admin remains;
   * null otherwise (see `otherEnabledAdmins`).
   */
  async updateUnlessLastAdmin(id: number, patch: UserPatch): Promise<UserRow | undefined | null> {
    return db.transaction().execute(async (trx) => {
      if ((await otherEnabledAdmins(trx, id)) < 1) return null;
      return trx.updateTable('users').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
    });
  },

  /** Deletes an enabled admin only while another enabled admin remains; null otherwise. */
  async deleteUnlessLastAdmin(id: number): Promise<boolean | null> {
    return db.transaction().execute(async (trx) => {
      if ((await otherEnabledAdmins(trx, id)) < 1) return null;
      const result = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  },
});

/**
 * Counts the enabled admins other than `id` inside a transaction, after locking the enabled admin
 * rows with a no-op update (PostgreSQL row-locks them; SQLite serialises transactions), so two
 * concurrent demotions or deletions cannot both see the other admin and leave none.
 */
const otherEnabledAdmins = async (trx: Transaction<Database>, id: number): Promise<number> => {
  await trx
    .updateTable('users')
    .set((eb) => ({ updatedAt: eb.ref('updatedAt') }))
    .where('role', '=', 'admin')
    .where('disabled', '=', 0)
    .execute();
  const row = await trx
    .selectFrom('users')
    .where('role', '=', 'admin')
    .where('disabled', '=', 0)
    .where('id', '!=', id)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return row.n;
};
