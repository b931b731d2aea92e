import type { CreateTableBuilder } from 'kysely';
import type { DialectName } from '../dialect.ts';

/** Adds the auto-increment `id` primary key the way each dialect spells it. */
export const addIdColumn =
  (dialect: DialectName) =>
  <T extends string>(table: CreateTableBuilder<T>) =>
    dialect === 'postgres'
      ? table.addColumn('id', 'bigint', (col) => col.generatedByDefaultAsIdentity().primaryKey())
      : table.addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement());
