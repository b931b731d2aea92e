import type { Insertable, Kysely } from 'kysely';
import type { Database, TaskTemplateRow, TaskTemplatesTable } from '../../db/tables.ts';

export type TemplatesRepository = ReturnType<typeof createTemplatesRepository>;

export type TemplateValues = Omit<Insertable<TaskTemplatesTable>, 'id'>;

/** Task templates (SPEC §1.15), ordered by name. */
export const createTemplatesRepository = (db: Kysely<Database>) => ({
  list(): Promise<TaskTemplateRow[]> {
    return db.selectFrom('taskTemplates').selectAll().orderBy('name', 'asc').orderBy('id', 'asc').execute();
  },

  findById(id: number): Promise<TaskTemplateRow | undefined> {
    return db.selectFrom('taskTemplates').selectAll().where('id', '=', id).executeTakeFirst();
  },

  async findIdByName(name: string): Promise<number | undefined> {
    const row = await db.selectFrom('taskTemplates').select('id').where('name', '=', name).executeTakeFirst();
    return row?.id;
  },

  insert(values: TemplateValues): Promise<TaskTemplateRow> {
    return db.insertInto('taskTemplates').values(values).returningAll().executeTakeFirstOrThrow();
  },

  /** Everything but the creator and the creation time. */
  update(
    id: number,
    values: Omit<TemplateValues, 'createdBy' | 'createdAt'>,
  ): Promise<TaskTemplateRow | undefined> {
    return db.updateTable('taskTemplates').set(values).where('id', '=', id).returningAll().executeTakeFirst();
  },

  async delete(id: number): Promise<boolean> {
    const result = await db.deleteFrom('taskTemplates').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  },
});
