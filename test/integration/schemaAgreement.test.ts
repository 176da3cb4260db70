import { Client } from 'pg';
import { renderSchemaSql } from '../../scripts/schemaSql';
import { migrate } from '../../src/db/migrate';
import { scratchDatabase } from '../support/env';

/**
 * prisma/schema.prisma and prisma/migrations must describe the same database.
 * Build one database from the migrations and one from the schema (rendered to
 * SQL by Prisma's own engine), then compare their catalogs. What Prisma's
 * schema language cannot express is allowed only in the migrations: CHECK
 * constraints and NULLS NOT DISTINCT.
 */

interface TCatalog {
  columns: string[];
  constraints: string[];
  indexes: string[];
  enums: string[];
}

async function catalog(url: string): Promise<TCatalog> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const columns = await c.query<{ d: string }>(`
      SELECT format('%s.%s %s %s default=%s', table_name, column_name,
                    CASE WHEN data_type IN ('USER-DEFINED', 'ARRAY') THEN udt_name ELSE data_type END
                      || coalesce('(' || datetime_precision || ')', ''),
                    CASE WHEN is_nullable = 'YES' THEN 'null' ELSE 'not null' END, coalesce(column_default, '-')) AS d
        FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`);
    const constraints = await c.query<{ d: string }>(`
      SELECT format('%s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) AS d
        FROM pg_constraint
       WHERE connamespace = 'public'::regnamespace AND contype <> 'c'
         AND conrelid::regclass::text <> '_prisma_migrations'`);
    const indexes = await c.query<{ d: string }>(`
      SELECT replace(indexdef, ' NULLS NOT DISTINCT', '') AS d FROM pg_indexes
       WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`);
    const enums = await c.query<{ d: string }>(`
      SELECT format('%s: %s', t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)) AS d
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`);
    const sorted = (rows: { d: string }[]) => rows.map((r) => r.d).sort();
    return { columns: sorted(columns.rows), constraints: sorted(constraints.rows), indexes: sorted(indexes.rows), enums: sorted(enums.rows) };
  } finally {
    await c.end();
  }
}

describe('schema.prisma and the migrations', () => {
  it('describe the same tables, columns, keys, indexes and enums', async () => {
    const fromMigrations = await scratchDatabase('from_migrations');
    const fromSchema = await scratchDatabase('from_schema');
    try {
      await migrate(fromMigrations.url);
      const sql = await renderSchemaSql(fromSchema.url);
      expect(sql).toContain('CREATE TABLE "goals"');
      const c = new Client({ connectionString: fromSchema.url });
      await c.connect();
      await c.query(sql);
      await c.end();

      const [a, b] = await Promise.all([catalog(fromMigrations.url), catalog(fromSchema.url)]);
      // Compared part by part so a failure shows exactly which lines differ.
      expect(a.enums).toEqual(b.enums);
      expect(a.columns).toEqual(b.columns);
      expect(a.constraints).toEqual(b.constraints);
      expect(a.indexes).toEqual(b.indexes);
    } finally {
      await fromMigrations.drop();
      await fromSchema.drop();
    }
  });
});
