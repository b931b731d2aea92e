import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';

export interface StoredConfig {
  key: string;
  value: string;
  encrypted: boolean;
}

export type SystemConfigsRepository = ReturnType<typeof createSystemConfigsRepository>;

/** Key/value rows of `system_configs` (settings and key fingerprints). */
export const createSystemConfigsRepository = (db: Kysely<Database>) => ({
  async getMany(keys: readonly string[]): Promise<Map<string, StoredConfig>> {
    if (keys.length === 0) return new Map();
    const rows = await db
      .selectFrom('systemConfigs')
      .select(['key', 'value', 'encrypted'])
      .where('key', 'in', keys)
      .execute();
    return new Map(
      rows.map((row) => [row.key, { key: row.key, value: row.value, encrypted: row.encrypted === 1 }]),
    );
  },

  async get(key: string): Promise<StoredConfig | undefined> {
    return (await this.getMany([key])).get(key);
  },

  /** Writes all entries in one transaction. */
  async upsertMany(entries: readonly StoredConfig[], now: string): Promise<void> {
    if (entries.length === 0) return;
    await db.transaction().execute(async (trx) => {
      for (const entry of entries) {
        await trx
          .insertInto('systemConfigs')
          .values({
            key: entry.key,
            value: entry.value,
            encrypted: entry.encrypted ? 1 : 0,
            createdAt: now,
            updatedAt: now,
          })
          .onConflict((oc) =>
            oc
              .column('key')
              .doUpdateSet({ value: entry.value, encrypted: entry.encrypted ? 1 : 0, updatedAt: now }),
          )
          .execute();
      }
    });
  },

  /** Inserts only when absent; returns the value that is stored afterwards (first writer wins). */
  async insertIfAbsent(key: string, value: string, now: string): Promise<string> {
    await db
      .insertInto('systemConfigs')
      .values({ key, value, encrypted: 0, createdAt: now, updatedAt: now })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const stored = await this.get(key);
    return stored?.value ?? value;
  },
});
