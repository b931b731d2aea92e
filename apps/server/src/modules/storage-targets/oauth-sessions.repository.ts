import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';
import type { SystemConfigsRepository } from '../settings/system-configs.repository.ts';

/** Pending OAuth sessions live in `system_configs` under this prefix + state (no table of their own). */
export const OAUTH_SESSION_KEY_PREFIX = 'oauth.session.';

export type OAuthSessionsRepository = ReturnType<typeof createOAuthSessionsRepository>;

/**
 * Pending OAuth sessions (SPEC §1.16) as `system_configs` rows whose value is the sealed payload.
 * Writes and reads go through the settings repository; taking a session is a conditional delete,
 * so two callbacks racing with the same state cannot both succeed.
 */
export const createOAuthSessionsRepository = (
  db: Kysely<Database>,
  systemConfigs: Pick<SystemConfigsRepository, 'get' | 'upsertMany'>,
) => ({
  async save(state: string, sealed: string, now: string): Promise<void> {
    await systemConfigs.upsertMany(
      [{ key: OAUTH_SESSION_KEY_PREFIX + state, value: sealed, encrypted: true }],
      now,
    );
  },

  async find(state: string): Promise<string | undefined> {
    return (await systemConfigs.get(OAUTH_SESSION_KEY_PREFIX + state))?.value;
  },

  /** Removes the session if it still holds `sealed`; true for exactly one caller. */
  async take(state: string, sealed: string): Promise<boolean> {
    const result = await db
      .deleteFrom('systemConfigs')
      .where('key', '=', OAUTH_SESSION_KEY_PREFIX + state)
      .where('value', '=', sealed)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  },

  /** Drops sessions created before `iso` (all of them expired: they live 10 minutes). */
  async purgeCreatedBefore(iso: string): Promise<number> {
    const result = await db
      .deleteFrom('systemConfigs')
      .where('key', 'like', `${OAUTH_SESSION_KEY_PREFIX}%`)
      .where('createdAt', '<', iso)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  },
});
