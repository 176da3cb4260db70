import { cp, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { DEFAULT_MIGRATIONS_DIR, migrate, readMigrations } from '../../src/db/migrate';
import type { TFrozenPlan } from '../../src/domain/frozenPlans';
import { requiredRuntimes } from '../../src/domain/runtimeRequirements';
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

/** The migrations as they were before `name`: the database an older release left behind. */
async function migrationsBefore(name: string): Promise<string> {
  const dir = await migrationsWith({});
  const later = (await readMigrations(dir)).filter((m) => m.name >= name);
  expect(later.map((m) => m.name)).toContain(name);
  for (const m of later) await rm(path.join(dir, m.name), { recursive: true });
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

  it("renames a stored run's instantiation state done to materialized, leaving the other states as they were", async () => {
    const db = await scratchDatabase('migrunstate');
    try {
      const MIGRATION = '20261203000000_run_state_materialized';
      await migrate(db.url, { migrationsDir: await migrationsBefore(MIGRATION) });
      await query(
        db.url,
        `INSERT INTO workflows (id, owner_agent_id, agent_id, name, version, inputs, format, frozen_plan, content_hash, fully_frozen)
           VALUES ('wf_old', 'agent_default', 'agent_default', 'old', 1, '[]', 'frozen/v0', '{}', 'h', true);
         INSERT INTO workflow_runs (id, workflow_id, idempotency_key, inputs, inputs_hash, state, temporal_workflow_id)
           VALUES ('run_done', 'wf_old', 'k1', '{}', 'h', 'done', 't1'), ('run_claimed', 'wf_old', 'k2', '{}', 'h', 'claimed', 't2'),
                  ('run_failed', 'wf_old', 'k3', '{}', 'h', 'failed', 't3');`,
      );
      // This migration first; later ones (if any) after it.
      expect((await migrate(db.url)).applied[0]).toBe(MIGRATION);
      const rows = await query<{ id: string; state: string }>(db.url, 'SELECT id, state::text AS state FROM workflow_runs ORDER BY id');
      expect(rows).toEqual([
        { id: 'run_claimed', state: 'claimed' },
        { id: 'run_done', state: 'materialized' },
        { id: 'run_failed', state: 'failed' },
      ]);
      const labels = await query<{ label: string }>(db.url, "SELECT unnest(enum_range(NULL::run_state))::text AS label");
      expect(labels.map((l) => l.label)).toEqual(['claimed', 'materializing', 'materialized', 'failed', 'skipped']);
    } finally {
      await db.drop();
    }
  });

  it('backfills what each saved workflow needs to run, from its stored plan, through the workflows it names', async () => {
    const db = await scratchDatabase('migruntimes');
    try {
      const MIGRATION = '20261215000000_workflow_required_runtimes';
      await migrate(db.url, { migrationsDir: await migrationsBefore(MIGRATION) });
      const leaf = (key: string, runtime: string, extra: object = {}) => ({ key, kind: 'leaf', title: key, action: { runtime, ...(runtime === 'shell' ? { command: 'true' } : runtime === 'http' ? { method: 'GET', url: 'https://example.com/' } : {}) }, ...extra });
      const frozen = (plan: object | null, acceptance?: object): TFrozenPlan =>
        ({ format: 'frozen/v0', root: { title: 'T', intent: null, ...(acceptance ? { acceptance } : {}), plan } }) as TFrozenPlan;
      const plans: Record<string, TFrozenPlan | Record<string, never>> = {
        // Leaves of two runtimes, one with a check (shell) inside a nested composite.
        wf_a: frozen({ children: [leaf('get', 'http'), { key: 'inner', kind: 'composite', title: 'Inner', plan: { children: [leaf('ok', 'manual', { acceptance: { check: 'test -f x' } })], edges: [] } }], edges: [] }),
        // Only the root's own check: unplanned, yet it runs a command.
        wf_b: frozen(null, { check: 'true' }),
        // Names a@1 (and brings its runtimes), plus an agent leaf.
        wf_c: frozen({ children: [leaf('claim', 'agent'), { key: 'sub', kind: 'composite', title: 'Sub', workflow: 'a@1' }], edges: [] }),
        // Names c@1 only: a's runtimes arrive through c (transitively).
        wf_d: frozen({ children: [{ key: 'sub', kind: 'composite', title: 'Sub', workflow: 'c@1' }], edges: [] }),
        // Names a workflow that does not exist: nothing from it.
        wf_e: frozen({ children: [leaf('m', 'manual'), { key: 'gone', kind: 'composite', title: 'Gone', workflow: 'nope@1' }], edges: [] }),
        // A plan that no longer reads at all.
        wf_f: {},
      };
      const values = Object.entries(plans).map(([id, plan]) => `('${id}', 'user_local', 'agent_default', '${id.slice(3)}', 1, '[]', 'frozen/v0', '${JSON.stringify(plan)}', 'h', true)`);
      await query(db.url, `INSERT INTO workflows (id, owner_user_id, agent_id, name, version, inputs, format, frozen_plan, content_hash, fully_frozen) VALUES ${values.join(', ')}`);
      expect((await migrate(db.url)).applied[0]).toBe(MIGRATION);

      const rows = await query<{ id: string; required_runtimes: string[] }>(db.url, 'SELECT id, required_runtimes FROM workflows ORDER BY id');
      expect(Object.fromEntries(rows.map((r) => [r.id, r.required_runtimes]))).toEqual({
        wf_a: ['http', 'manual', 'shell'],
        wf_b: ['shell'],
        wf_c: ['agent', 'http', 'manual', 'shell'],
        wf_d: ['agent', 'http', 'manual', 'shell'],
        wf_e: ['manual'],
        wf_f: [],
      });
      // The application computes the same sets for new versions.
      expect(requiredRuntimes(plans.wf_a as TFrozenPlan)).toEqual(['http', 'manual', 'shell']);
      expect(requiredRuntimes(plans.wf_b as TFrozenPlan)).toEqual(['shell']);
      expect(requiredRuntimes(plans.wf_c as TFrozenPlan, [['http', 'manual', 'shell']])).toEqual(['agent', 'http', 'manual', 'shell']);
      // Never unknown: a row written without it is refused.
      await expect(
        query(db.url, `INSERT INTO workflows (id, owner_user_id, agent_id, name, version, inputs, format, frozen_plan, content_hash, fully_frozen) VALUES ('wf_new', 'user_local', 'agent_default', 'new', 1, '[]', 'frozen/v0', '{}', 'h', true)`),
      ).rejects.toThrow(/workflows_required_runtimes_known/);
    } finally {
      await db.drop();
    }
  });

  it('says clearly when Postgres is unreachable', async () => {
    await expect(migrate('postgresql://postgres@127.0.0.1:1/nothing')).rejects.toThrow(/cannot connect to Postgres to migrate/);
  });
});
