import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { AuditFilter } from '@backupx/contract';
import type { AuditLogRow, AuditLogsTable, Database } from '../../db/tables.ts';

export type AuditRepository = ReturnType<typeof createAuditRepository>;

/** Filter with dates already normalised to ISO UTC text. */
export type AuditQuery = Omit<AuditFilter, 'dateFrom' | 'dateTo'> & { fromIso?: string; toIso?: string };

const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (char) => `\\${char}`);

const applyFilter = <O>(query: SelectQueryBuilder<Database, 'auditLogs', O>, filter: AuditQuery) => {
  let q = query;
  if (filter.category) q = q.where('category', '=', filter.category);
  if (filter.action) q = q.where('action', '=', filter.action);
  if (filter.username) q = q.where('username', '=', filter.username);
  if (filter.targetId) q = q.where('targetId', '=', filter.targetId);
  if (filter.fromIso) q = q.where('createdAt', '>=', filter.fromIso);
  if (filter.toIso) q = q.where('createdAt', '<=', filter.toIso);
  if (filter.keyword) {
    const pattern = `%${escapeLike(filter.keyword.toLowerCase())}%`;
    // ESCAPE makes the backslash escapes mean the same on SQLite and PostgreSQL.
    q = q.where(
      sql<boolean>`(lower(detail) like ${pattern} escape '\\' or lower(target_name) like ${pattern} escape '\\')`,
    );
  }
  return q;
};

export const createAuditRepository = (db: Kysely<Database>) => ({
  async insert(row: Omit<AuditLogsTable, 'id'>): Promise<AuditLogRow> {
    return db.insertInto('auditLogs').values(row).returningAll().executeTakeFirstOrThrow();
  },

  async list(
    filter: AuditQuery,
    limit: number,
    offset: number,
  ): Promise<{ items: AuditLogRow[]; total: number }> {
    const base = applyFilter(db.selectFrom('auditLogs'), filter);
    const [items, totalRow] = await Promise.all([
      base
        .selectAll()
        .orderBy('createdAt', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .offset(offset)
        .execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items, total: totalRow.n };
  },

  async deleteOlderThan(before: string): Promise<number> {
    const result = await db.deleteFrom('auditLogs').where('createdAt', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  },
});
