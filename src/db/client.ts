import { PrismaPg } from '@prisma/adapter-pg';
import { DomainError } from '../domain/errors';
import { Prisma, PrismaClient } from './generated/prisma/client';

export { Prisma, PrismaClient };
/** Row types other layers may name (read-only shapes; they never query with them). */
export type { Agent, Goal, GoalEdge } from './generated/prisma/client';

/** A client or an interactive transaction's client: named queries take either. */
export type TDb = PrismaClient | Prisma.TransactionClient;

/** How long one connection attempt to Postgres may take. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * A Prisma client over the `pg` driver adapter (no query-engine binary).
 * Size the pool with the worker's activity concurrency: activities that wait
 * for a connection look like slow activities.
 */
export function createPrisma(databaseUrl: string, poolSize = 10): PrismaClient {
  // A connect attempt is bounded (pg's default waits forever): one that never
  // gets an answer, such as a TCP self-connection to a dead server's port,
  // must fail and be retried rather than hold a pool slot and the port.
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
  return new PrismaClient({ adapter });
}

/**
 * Interactive transactions wait this long for a pooled connection and may run
 * this long: Prisma's defaults (2s, 5s) turn a burst of requests into errors.
 */
export const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 20_000 } as const;

/**
 * Runs `work` in one interactive transaction: how a service makes several
 * named queries commit together without touching Prisma itself. `work` hands
 * `tx` only to db functions.
 */
export async function inTransaction<T>(prisma: PrismaClient, work: (tx: TDb) => Promise<T>): Promise<T> {
  return prisma.$transaction((tx) => work(tx), TRANSACTION_OPTIONS);
}

/**
 * A Postgres that is unreachable or too busy to answer in time is
 * DATABASE_UNAVAILABLE (503, retry later), never a 500. Anything else is
 * returned as it was.
 */
export function asDatabaseError(err: unknown): DomainError | undefined {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown })?.code;
  if (code === 'P2028' || code === 'P2024' || /Unable to start a transaction in the given time|Transaction already closed|timed out fetching a new connection/i.test(message)) {
    return new DomainError('DATABASE_UNAVAILABLE', 'Postgres is too busy to answer in time; try again shortly');
  }
  if (
    err instanceof Prisma.PrismaClientInitializationError ||
    /ECONNREFUSED|ENOTFOUND|Can't reach database server|Connection terminated|timeout exceeded when trying to connect/i.test(message)
  ) {
    return new DomainError('DATABASE_UNAVAILABLE', 'Postgres is unreachable; try again shortly');
  }
  return undefined;
}

/** One round trip to Postgres, for /healthz. */
export async function pingDatabase(prisma: PrismaClient): Promise<void> {
  await prisma.$queryRaw`SELECT 1`;
}
