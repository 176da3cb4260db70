import { cp, mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { DEFAULT_MIGRATIONS_DIR, migrate, readMigrations } from '../../src/db/migrate';
import { scratchDatabase } from '../support/env';

async function query<T extends object>(url: string, sql: string): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

async function migrationsWith(extra: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'reprise-migrations-'));
  await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

describe('migrate', () => {
  it('applies every migration once, records it, and is a no-op the second time', async () => {
    const db = await scratchDatabase('migrate');
    try {
      const all = (await readMigrations()).map((m) => m.name);
      const first = await migrate(db.url);
      expect(first.applied).toEqual(all);
      const second = await migrate(db.url);
      expect(second).toEqual({ applied: [], alreadyApplied: all });
      const history = await query<{ migration_name: string; checksum: string }>(db.url, 'SELECT migration_name, checksum FROM _prisma_migrations');
      expect(history.map((h) => h.migration_name)).toEqual(all);
      expect(history[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
      const seeded = await query<{ id: string }>(db.url, 'SELECT id FROM agents');
      expect(seeded.map((r) => r.id)).toEqual(['agent_default']);
    } finally {
      await db.drop();
    }
  });

  it('rolls back a failing migration completely and names it, with the line', async () => {
    const db = await scratchDatabase('migfail');
    try {
      await migrate(db.url);
      const dir = await migrationsWith({
        '29990101000000_bad': 'CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1);\nSELECT * FROM no_such_table;\n',
      });
      await expect(migrate(db.url, { migrationsDir: dir })).rejects.toThrow(
        /migration 29990101000000_bad failed at line 3: relation "no_such_table" does not exist\. Nothing from it was applied\./,
      );
      const tables = await query<{ n: string }>(db.url, "SELECT count(*)::text AS n FROM pg_tables WHERE tablename = 'half_done'");
      expect(tables[0]?.n).toBe('0');
      const recorded = await query<{ n: string }>(db.url, "SELECT count(*)::text AS n FROM _prisma_migrations WHERE migration_name = '29990101000000_bad'");
      expect(recorded[0]?.n).toBe('0');
    } finally {
      await db.drop();
    }
  });

  it('applies only the new migration after an earlier run', async () => {
    const db = await scratchDatabase('mignew');
    try {
      await migrate(db.url);
      const dir = await migrationsWith({ '29990101000000_add_note': 'ALTER TABLE users ADD COLUMN note text;' });
      expect((await migrate(db.url, { migrationsDir: dir })).applied).toEqual(['29990101000000_add_note']);
    } finally {
      await db.drop();
    }
  });

  it('refuses to start when an applied migration was edited', async () => {
    const db = await scratchDatabase('migedit');
    try {
      await migrate(db.url);
      const dir = await migrationsWith({});
      const [first] = await readMigrations(dir);
      await writeFile(path.join(dir, first!.name, 'migration.sql'), `${first!.sql}\n-- edited\n`);
      await expect(migrate(db.url, { migrationsDir: dir })).rejects.toThrow(/was edited after it was applied/);
    } finally {
      await db.drop();
    }
  });

  it('serializes concurrent migrators (API and worker starting together)', async () => {
    const db = await scratchDatabase('migrace');
    try {
      const results = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url)]);
      expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, (await readMigrations()).length]);
    } finally {
      await db.drop();
    }
  });

  it('says clearly when Postgres is unreachable', async () => {
    await expect(migrate('postgresql://postgres@127.0.0.1:1/nothing')).rejects.toThrow(/cannot connect to Postgres to migrate/);
  });
});
