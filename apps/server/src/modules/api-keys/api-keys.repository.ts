import type { Kysely } from 'kysely';
import type { ApiKeyRow, Database } from '../../db/tables.ts';

export type ApiKeysRepository = ReturnType<typeof createApiKeysRepository>;

export const createApiKeysRepository = (db: Kysely<Database>) => ({
  list(): Promise<ApiKeyRow[]> {
    return db.selectFrom('apiKeys').selectAll().orderBy('createdAt', 'desc').orderBy('id', 'desc').execute();
  },
  findById(id: number): Promise<ApiKeyRow | undefined> {
    return db.selectFrom('apiKeys').selectAll().where('id', '=', id).executeTakeFirst();
  },
  findByHash(keyHash: string): Promise<ApiKeyRow | undefined> {
    return db.selectFrom('apiKeys').selectAll().where('keyHash', '=', keyHash).executeTakeFirst();
  },
  insert(row: Omit<ApiKeyRow, 'id'>): Promise<ApiKeyRow> {
    return db.insertInto('apiKeys').values(row).returningAll().executeTakeFirstOrThrow();
  },
  async setDisabled(id: number, disabled: boolean, now: string): Promise<ApiKeyRow | undefined> {
    return db
      .updateTable('apiKeys')
      .set({ disabled: disabled ? 1 : 0, updatedAt: now })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  },
  async touch(id: number, now: string): Promise<void> {
    await db.updateTable('apiKeys').set({ lastUsedAt: now }).where('id', '=', id).execute();
  },
  async delete(id: number): Promise<boolean> {
    const result = await db.deleteFrom('apiKeys').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  },
});
