import { ConfigError, loadConfig, type TConfig } from '../config';
import { createPrisma, type PrismaClient } from '../db/client';
import { migrate, type TMigrationResult } from '../db/migrate';
import { embeddedDatabaseUrl } from '../dev/embeddedPostgres';
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
  const prisma = createPrisma(databaseUrl, config.databasePoolSize);
  return { databaseUrl, migrations, prisma };
}

/** Config, logger (named for the service), database URL, migrations and Prisma. */
export async function bootstrap(service: string): Promise<TBootstrapped> {
  const config = loadConfig();
  const logger = createLogger(config.log.level, service);
  const database = await openDatabase(config, await resolveDatabaseUrl(config), (m) => logger.info(m));
  return { config, logger, ...database };
}

/** Error codes whose message is the whole story; anything else is printed with its stack. */
const EXPLAINED = ['CONFIG_INVALID', 'MIGRATION_FAILED', 'TEMPORAL_CLI_MISSING', 'EMBEDDED_POSTGRES_FAILED', 'DEV_SERVER_FAILED', 'ALREADY_RUNNING', 'CHILD_FAILED'];

/** Runs an entry point's main; a failure prints what went wrong (`prefix` first) and exits 1. */
export function runMain(main: () => Promise<void>, prefix = ''): void {
  main().catch((err: unknown) => {
    const known = err instanceof ConfigError || EXPLAINED.includes(String((err as { code?: unknown })?.code));
    console.error(`${prefix}${err instanceof Error ? (known ? err.message : err.stack) : String(err)}`);
    process.exit(1);
  });
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
