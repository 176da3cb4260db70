import { ConfigError, loadConfig, type TConfig } from '../config';
import { createPrisma, type PrismaClient } from '../db/client';
import { connectedAsSuperuser } from '../db/roles';
import { migrate, MigrationError, type TMigrationResult } from '../db/migrate';
import { embeddedDatabaseUrl } from '../dev/embeddedPostgres';
import { withTimeout } from '../lib/withTimeout';
import { createLogger, type Logger } from '../logger';

/**
 * The one start-up sequence every entry point shares (`start`, `worker`,
 * `api`, `migrate`, and the CLI's direct-to-database commands to come):
 * config → database URL → migrations → Prisma. Temporal connections are the
 * caller's: the API's is lazy, the worker's retries until Temporal is up.
 */

export interface TDatabase {
  databaseUrl: string;
  migrations: TMigrationResult;
  prisma: PrismaClient;
}

export interface TBootstrapped extends TDatabase {
  config: TConfig;
  logger: Logger;
}

/** DATABASE_URL, or the embedded Postgres that `npm start` runs. */
export async function resolveDatabaseUrl(config: TConfig): Promise<string> {
  return config.databaseUrl ?? (await embeddedDatabaseUrl(config));
}

/** Applies pending migrations, then opens the Prisma client (pool sized by DATABASE_POOL_SIZE). */
export async function openDatabase(config: TConfig, databaseUrl: string, log: (message: string) => void): Promise<TDatabase> {
  const migrations = await migrate(databaseUrl, { log });
  const prisma = createPrisma(databaseUrl, { poolSize: config.databasePoolSize, queryTimeoutMs: config.databaseQueryTimeoutMs });
  return { databaseUrl, migrations, prisma };
}

/**
 * The CLI's direct-to-database commands (`reprise token create`): the
 * database URL, migrations and Prisma, as openDatabase; when no Postgres
 * answers there, the error says where it looked and what to check.
 */
export async function openDirectDatabase(config: TConfig, log: (message: string) => void): Promise<TDatabase> {
  const databaseUrl = await resolveDatabaseUrl(config);
  try {
    return await openDatabase(config, databaseUrl, log);
  } catch (err) {
    if (!(err instanceof MigrationError && err.unreachable)) throw err;
    const { hostname, port } = new URL(databaseUrl);
    const where = `${hostname}:${port || '5432'}`;
    throw Object.assign(
      new Error(config.databaseUrl ? `cannot reach Postgres at ${where} (DATABASE_URL): ${err.message.replace(/^cannot connect to Postgres to migrate: /, '')}` : `cannot reach Postgres at ${where} (is npm start running? set DATABASE_URL or EMBEDDED_PG_PORT)`),
      { code: 'DATABASE_UNREACHABLE' },
    );
  }
}

/** Config, logger (named for the service), database URL, migrations and Prisma. */
export async function bootstrap(service: string): Promise<TBootstrapped> {
  const config = loadConfig();
  const logger = createLogger(config.log.level, service);
  const database = await openDatabase(config, await resolveDatabaseUrl(config), (m) => logger.info(m));
  if (await connectedAsSuperuser(database.prisma)) {
    logger.warn(
      'connected to Postgres as a superuser: a flaw in Reprise would reach the whole server (other databases, server files, programs). ' +
        'Give DATABASE_URL a role that owns only the Reprise database (see docs/security.md).',
    );
  }
  return { config, logger, ...database };
}

/** Error codes whose message is the whole story; anything else is printed with its stack. */
const EXPLAINED = ['CONFIG_INVALID', 'MIGRATION_FAILED', 'TEMPORAL_CLI_MISSING', 'EMBEDDED_POSTGRES_FAILED', 'DEV_SERVER_FAILED', 'ALREADY_RUNNING', 'CHILD_FAILED', 'PORT_IN_USE', 'LEAF_USER_INVALID'];

/**
 * Exit code of a process whose start failed for a reason starting it again
 * cannot fix (a bad setting, its port taken by something else): `npm start`'s
 * supervisor then stops everything instead of restarting it (supervisor.ts).
 */
export const EXIT_NOT_RETRYABLE = 78; // EX_CONFIG in sysexits.h
const NOT_RETRYABLE = ['CONFIG_INVALID', 'PORT_IN_USE', 'LEAF_USER_INVALID'];

/** Runs an entry point's main; a failure prints what went wrong (`prefix` first) and exits 1 (or, under npm start, EXIT_NOT_RETRYABLE). */
export function runMain(main: () => Promise<void>, prefix = ''): void {
  main().catch((err: unknown) => {
    const code = err instanceof ConfigError ? 'CONFIG_INVALID' : String((err as { code?: unknown })?.code);
    const known = EXPLAINED.includes(code);
    console.error(`${prefix}${err instanceof Error ? (known ? err.message : (err.stack ?? `${err.name}: ${err.message}`)) : String(err)}`);
    // Only a supervised child says so; for a user, any failed start is exit 1.
    const supervised = process.env.REPRISE_EXIT_WITH_PARENT === '1';
    process.exit(supervised && NOT_RETRYABLE.includes(code) ? EXIT_NOT_RETRYABLE : 1);
  });
}

/** Signals this soon after the first are relays of the same Ctrl-C (terminal group signal, npm and tsx). */
export const RELAYED_SIGNAL_WINDOW_MS = 2000;

/**
 * How a long-running child (worker, API) stops, whatever is down: `stop`
 * runs once, on the first SIGINT/SIGTERM or when the supervisor goes away
 * (exitWithParent), and the process exits when it is done, or after
 * `deadlineMs` whether or not it is (code 1), so a stop that waits on a dead
 * Postgres or Temporal still ends. A signal after the relay window is a
 * second Ctrl-C: exit at once. A signal is never left to Node's default
 * handler, which would kill us mid-stop.
 */
export function stopOnSignal(stop: () => Promise<void>, options: { deadlineMs: number; log: (message: string) => void }): void {
  let firstAt = 0;
  const begin = (why: string): void => {
    if (firstAt) {
      if (why !== 'parent' && Date.now() - firstAt > RELAYED_SIGNAL_WINDOW_MS) {
        options.log(`${why} again while stopping: exiting now`);
        process.exit(130);
      }
      return;
    }
    firstAt = Date.now();
    setTimeout(() => {
      options.log(`stop did not finish within ${options.deadlineMs / 1000}s: exiting anyway`);
      process.exit(1);
    }, options.deadlineMs);
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        options.log(`stop failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => begin('SIGINT'));
  process.on('SIGTERM', () => begin('SIGTERM'));
  exitWithParent(() => begin('parent'));
}

/** Runs one stop step with a deadline; a step that fails or overruns is logged, and the stop goes on. */
export async function boundedStep(name: string, work: () => Promise<unknown>, ms: number, log: (message: string) => void): Promise<void> {
  try {
    await withTimeout(Promise.resolve().then(work), ms, `${name}: no end within ${ms / 1000}s`);
  } catch (err) {
    log(`${name} failed (going on): ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Under `npm start` (REPRISE_EXIT_WITH_PARENT=1), a child process stops when
 * its supervisor goes away: the supervisor holds our stdin open, so its end
 * (even after a SIGKILL) calls `stop`.
 */
export function exitWithParent(stop: () => void): void {
  if (process.env.REPRISE_EXIT_WITH_PARENT !== '1') return;
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
