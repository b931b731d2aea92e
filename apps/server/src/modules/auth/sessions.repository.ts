import type { Kysely } from 'kysely';
import type { Database, UserRow, UserSessionRow } from '../../db/tables.ts';

export type SessionsRepository = ReturnType<typeof createSessionsRepository>;

export const createSessionsRepository = (db: Kysely<Database>) => ({
  async insert(row: UserSessionRow): Promise<void> {
    await db.insertInto('userSessions').values(row).execute();
  },

  /** The session and its user in one round trip (this runs on every authenticated request). */
  async findWithUser(sessionId: string): Promise<{ session: UserSessionRow; user: UserRow } | undefined> {
    const row = await db
      .selectFrom('userSessions')
      .innerJoin('users', 'users.id', 'userSessions.userId')
      .selectAll('users')
      .select([
        'userSessions.id as sessionId',
        'userSessions.createdAt as sessionCreatedAt',
        'userSessions.expiresAt as sessionExpiresAt',
        'userSessions.revokedAt as sessionRevokedAt',
        'userSessions.clientIp as sessionClientIp',
        'userSessions.userAgent as sessionUserAgent',
      ])
      .where('userSessions.id', '=', sessionId)
      .executeTakeFirst();
    if (!row) return undefined;
    const {
      sessionId: id,
      sessionCreatedAt,
      sessionExpiresAt,
      sessionRevokedAt,
      sessionClientIp,
      sessionUserAgent,
      ...user
    } = row;
    return {
      session: {
        id,
        userId: user.id,
        createdAt: sessionCreatedAt,
        expiresAt: sessionExpiresAt,
        revokedAt: sessionRevokedAt,
        clientIp: sessionClientIp,
        userAgent: sessionUserAgent,
      },
      user,
    };
  },

  async revoke(sessionId: string, at: string): Promise<void> {
    await db
      .updateTable('userSessions')
      .set({ revokedAt: at })
      .where('id', '=', sessionId)
      .where('revokedAt', 'is', null)
      .execute();
  },

  /** Revokes every live session of a user, except `keepSessionId` when given. */
  async revokeAllForUser(userId: number, at: string, keepSessionId?: string): Promise<void> {
    let query = db
      .updateTable('userSessions')
      .set({ revokedAt: at })
      .where('userId', '=', userId)
      .where('revokedAt', 'is', null);
    if (keepSessionId !== undefined) query = query.where('id', '!=', keepSessionId);
    await query.execute();
  },

  async deleteExpired(before: string): Promise<number> {
    const result = await db.deleteFrom('userSessions').where('expiresAt', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  },
});
