import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';

/**
 * The one code path that applies migrations, offline, for `npm start`,
 * `npm run db:migrate` and the test harness.
 *
 * Migrations are SQL files in Prisma's layout
 * (prisma/migrations/<timestamp>_<name>/migration.sql). What was applied is
 * recorded in Prisma's own `_prisma_migrations` table with Prisma's checksum
 * (sha256 of the file), so Prisma tooling that can run reads the same history.
 *
 * Each migration runs in one transaction together with its record: a failing
 * migration leaves the database exactly as it was. An advisory lock
 * serializes concurrent starters (API and worker starting side by side).
 */

export const DEFAULT_MIGRATIONS_DIR = path.resolve(__dirname, '../../prisma/migrations');

/** Arbitrary constant: the advisory lock key every Reprise migrator takes. */
const MIGRATION_LOCK_KEY = 727_374_611;

const MIGRATION_DIR_PATTERN = /^\d{14}_[A-Za-z0-9_]+$/;

export interface TMigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface TMigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {
  readonly code = 'MIGRATION_FAILED';
  constructor(
    message: string,
    readonly migration?: string,
    /** No Postgres answered at the URL at all (refused, unreachable, unknown host): nothing was tried. */
    readonly unreachable = false,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

/** Socket errors that mean no Postgres answers at that address, as opposed to one that refused us. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export async function readMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<TMigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory() && MIGRATION_DIR_PATTERN.test(e.name))
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

const CREATE_HISTORY_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

interface THistoryRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

/** Line number (1-based) of a character offset reported by Postgres. */
function lineOf(sql: string, position: string | undefined): number | undefined {
  const offset = Number(position);
  if (!Number.isInteger(offset) || offset <= 0) return undefined;
  return sql.slice(0, offset - 1).split('\n').length;
}

export async function migrate(
  databaseUrl: string,
  options: { migrationsDir?: string; log?: (message: string) => void } = {},
): Promise<TMigrationResult> {
  const log = options.log ?? (() => undefined);
  const migrations = await readMigrations(options.migrationsDir);
  const client = new Client({ connectionString: databaseUrl });
  try {
    await client.connect();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new MigrationError(`cannot connect to Postgres to migrate: ${(err as Error).message}`, undefined, typeof code === 'string' && UNREACHABLE_CODES.has(code));
  }
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(CREATE_HISTORY_TABLE);
    const { rows } = await client.query<THistoryRow>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations"
        WHERE rolled_back_at IS NULL ORDER BY migration_name`,
    );

    const local = new Map(migrations.map((m) => [m.name, m]));
    for (const row of rows) {
      const file = local.get(row.migration_name);
      if (row.finished_at === null) {
        throw new MigrationError(
          `migration ${row.migration_name} was started but never finished (by another tool?); resolve it by hand before starting Reprise`,
          row.migration_name,
        );
      }
      if (!file) {
        throw new MigrationError(
          `the database has migration ${row.migration_name}, which is not in ${options.migrationsDir ?? 'prisma/migrations'}: is this an older checkout of Reprise?`,
          row.migration_name,
        );
      }
      if (file.checksum !== row.checksum) {
        throw new MigrationError(
          `migration ${row.migration_name} was edited after it was applied; add a new migration instead of changing an applied one`,
          row.migration_name,
        );
      }
    }

    const done = new Set(rows.map((r) => r.migration_name));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      log(`applying migration ${m.name}`);
      try {
        await client.query('BEGIN');
        await client.query(m.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
           VALUES ($1, $2, now(), $3, 1)`,
          [randomUUID(), m.checksum, m.name],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        const pgErr = err as Error & { position?: string };
        const line = lineOf(m.sql, pgErr.position);
        throw new MigrationError(
          `migration ${m.name} failed${line ? ` at line ${line}` : ''}: ${pgErr.message}. Nothing from it was applied.`,
          m.name,
        );
      }
      applied.push(m.name);
    }
    return { applied, alreadyApplied: [...done].sort() };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
