import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from '../generated/prisma/client';
import { DomainError } from '../domain/errors';

export { Prisma, PrismaClient };

/**
 * A Prisma client over the `pg` driver adapter (no query-engine binary).
 * Size the pool with the worker's activity concurrency: activities that wait
 * for a connection look like slow activities.
 */
export function createPrisma(databaseUrl: string, poolSize = 10): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize });
  return new PrismaClient({ adapter });
}

/** Prisma's "unique constraint violated" (P2002). */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}

/** Prisma's "record to update/delete not found" (P2025). */
export function isRecordNotFound(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025';
}

/** Turns a connection failure into DATABASE_UNAVAILABLE; anything else passes through. */
export function asDatabaseError(err: unknown): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (
    err instanceof Prisma.PrismaClientInitializationError ||
    /ECONNREFUSED|ENOTFOUND|Can't reach database server|Connection terminated|timeout exceeded when trying to connect/i.test(message)
  ) {
    return new DomainError('DATABASE_UNAVAILABLE', 'Postgres is unreachable; try again shortly');
  }
  return err;
}
