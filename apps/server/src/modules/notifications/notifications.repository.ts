import type { Insertable, Kysely, Updateable } from 'kysely';
import type { Database, NotificationRow, NotificationsTable } from '../../db/tables.ts';

export type NotificationsRepository = ReturnType<typeof createNotificationsRepository>;

/** A unique-constraint violation (the name), on SQLite or PostgreSQL. */
export const isUniqueViolation = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
};

export const createNotificationsRepository = (db: Kysely<Database>) => ({
  list(): Promise<NotificationRow[]> {
    return db
      .selectFrom('notifications')
      .selectAll()
      .orderBy('updatedAt', 'desc')
      .orderBy('id', 'desc')
      .execute();
  },
  listEnabled(): Promise<NotificationRow[]> {
    return db.selectFrom('notifications').selectAll().where('enabled', '=', 1).orderBy('id', 'asc').execute();
  },
  findById(id: number): Promise<NotificationRow | undefined> {
    return db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirst();
  },
  findByName(name: string): Promise<NotificationRow | undefined> {
    return db.selectFrom('notifications').selectAll().where('name', '=', name).executeTakeFirst();
  },
  insert(row: Insertable<NotificationsTable>): Promise<NotificationRow> {
    return db.insertInto('notifications').values(row).returningAll().executeTakeFirstOrThrow();
  },
  update(id: number, patch: Updateable<NotificationsTable>): Promise<NotificationRow | undefined> {
    return db.updateTable('notifications').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
  },
  async delete(id: number): Promise<boolean> {
    const result = await db.deleteFrom('notifications').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  },
});
