import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { DEFAULT_MIGRATIONS_DIR, migrate } from '../../src/db/migrate';
import { connectedAsSuperuser } from '../../src/db/roles';
import { APP_ROLE, embeddedDatabaseUrl, ensureAppRole, startEmbeddedPostgres, type TEmbeddedPostgres } from '../../src/dev/embeddedPostgres';
import { testEnv, testPrisma, waitFor } from '../support/env';
import { freePort } from '../support/ports';

/**
 * The embedded Postgres `npm start` runs: the superuser only bootstraps the
 * cluster; the app (migrations included) connects as its own role, which owns
 * the app database and everything in it, and nothing else. The database
 * starts as one an older release left: migrated by the superuser, so every
 * table and type belongs to it, as an upgrade finds them.
 */

jest.setTimeout(120_000);

async function withClient<T>(url: string, work: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** The Postgres error code a statement fails with (undefined if it succeeds). */
async function failureCode(url: string, sql: string): Promise<string | undefined> {
  return withClient(url, (c) => c.query(sql).then(
    () => undefined,
    (err: { code?: string }) => err.code,
  ));
}

describe('the embedded Postgres app role', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'reprise-role-'));
  // Postgres runs as the `postgres` user when the tests run as root: it must reach its directory.
  chmodSync(dataDir, 0o755);
  let port: number;
  let pg: TEmbeddedPostgres | undefined;

  beforeAll(async () => {
    port = await freePort();
    pg = await startEmbeddedPostgres({ dataDir, port });
    await migrate(pg.url);
  });

  afterAll(async () => {
    await pg?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is no superuser, owns the app database and all in it, migrates it, and reaches nothing else', async () => {
    const superUrl = (pg as TEmbeddedPostgres).url;
    const appUrl = await ensureAppRole(superUrl, dataDir);
    expect(new URL(appUrl).username).toBe(APP_ROLE);
    expect(statSync(path.join(dataDir, 'postgres.app.password')).mode & 0o777).toBe(0o600);

    const me = await withClient(appUrl, async (c) =>
      (await c.query<{ usr: string; rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean }>(
        'SELECT current_user AS usr, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user',
      )).rows[0],
    );
    expect(me).toEqual({ usr: APP_ROLE, rolsuper: false, rolcreatedb: false, rolcreaterole: false });

    // Everything the superuser's migrations made now belongs to the app role.
    const foreign = await withClient(appUrl, async (c) =>
      (await c.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v') AND pg_get_userbyid(c.relowner) <> $1
         UNION ALL
         SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE n.nspname = 'public' AND t.typtype = 'e' AND pg_get_userbyid(t.typowner) <> $1`,
        [APP_ROLE],
      )).rows.map((r) => r.name),
    );
    expect(foreign).toEqual([]);
    const owner = await withClient(appUrl, async (c) => (await c.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()')).rows[0]?.owner);
    expect(owner).toBe(APP_ROLE);

    // Migrations run as the app: a later one alters an existing table and enum (owner-only statements) and creates one.
    const migrations = await mkdtemp(path.join(tmpdir(), 'reprise-role-migrations-'));
    try {
      await cp(DEFAULT_MIGRATIONS_DIR, migrations, { recursive: true });
      await mkdir(path.join(migrations, '20991231000000_role_probe'));
      await writeFile(
        path.join(migrations, '20991231000000_role_probe', 'migration.sql'),
        `ALTER TABLE "goals" ADD COLUMN "role_probe" INTEGER;\nALTER TYPE "goal_wait" ADD VALUE 'role_probe';\nCREATE TABLE "role_probe" (id INTEGER PRIMARY KEY);\n`,
      );
      expect((await migrate(appUrl, { migrationsDir: migrations })).applied).toEqual(['20991231000000_role_probe']);
    } finally {
      await rm(migrations, { recursive: true, force: true });
    }

    // Nothing beyond its database: no new databases or roles, no server files, no programs.
    expect(await failureCode(appUrl, 'CREATE DATABASE role_probe_db')).toBe('42501');
    expect(await failureCode(appUrl, 'CREATE ROLE role_probe_role')).toBe('42501');
    expect(await failureCode(appUrl, "SELECT pg_read_file('PG_VERSION')")).toBe('42501');
    expect(await failureCode(appUrl, "COPY (SELECT 1) TO PROGRAM 'true'")).toBe('42501');

    // Start-up's superuser warning tells the two apart.
    const asApp = testPrisma(appUrl);
    const asSuper = testPrisma(superUrl);
    try {
      expect(await connectedAsSuperuser(asApp)).toBe(false);
      expect(await connectedAsSuperuser(asSuper)).toBe(true);
    } finally {
      await Promise.all([asApp.$disconnect(), asSuper.$disconnect()]);
    }

    // Every start does it again, to the same effect; other processes (the CLI, db:migrate) find the same URL.
    expect(await ensureAppRole(superUrl, dataDir)).toBe(appUrl);
    expect(await embeddedDatabaseUrl({ dataDir, embeddedPostgresPort: port })).toBe(appUrl);
  });
});

describe('start-up against an external DATABASE_URL', () => {
  const WARNING = 'connected to Postgres as a superuser';

  /** What a real API process (`npm run api`, which bootstraps as the worker does) logs until it listens. */
  async function startUpOutput(databaseUrl: string): Promise<string> {
    const env = { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: testEnv.temporalAddress, API_PORT: String(await freePort()), LOG_LEVEL: 'info' };
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main/api.ts'], { cwd: path.resolve(__dirname, '../..'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    try {
      await waitFor(async () => (out.includes('API listening') ? true : undefined), () => `the API to listen:\n${out}`, 60_000);
      return out;
    } finally {
      proc.kill('SIGINT');
      await exited;
    }
  }

  it('warns when the role is a superuser, and not when it only owns its database', async () => {
    const name = `reprise_role_${randomBytes(4).toString('hex')}`;
    await withClient(testEnv.adminDatabaseUrl, async (c) => {
      await c.query(`CREATE ROLE ${name} LOGIN PASSWORD 'probe' NOSUPERUSER NOCREATEDB NOCREATEROLE`);
      await c.query(`CREATE DATABASE ${name} OWNER ${name}`);
    });
    try {
      const owner = new URL(testEnv.adminDatabaseUrl);
      owner.username = name;
      owner.password = 'probe';
      owner.pathname = `/${name}`;
      const asOwner = await startUpOutput(owner.toString());
      expect(asOwner).not.toContain(WARNING);
      expect(await startUpOutput(testEnv.databaseUrl)).toContain(WARNING);
    } finally {
      await withClient(testEnv.adminDatabaseUrl, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${name}`);
      });
    }
  });
});
