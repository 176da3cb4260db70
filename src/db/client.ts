import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { DomainError, isDomainError } from '../domain/errors';
import { Prisma, PrismaClient } from './generated/prisma/client';

export { Prisma, PrismaClient };
/** Row types other layers may name (read-only shapes; they never query with them). */
export type { Agent, Goal, GoalEdge } from './generated/prisma/client';

/** A client or an interactive transaction's client: named queries take either. */
export type TDb = PrismaClient | Prisma.TransactionClient;

/** How long one connection attempt to Postgres may take. */
const CONNECT_TIMEOUT_MS = 5000;

export interface TPrismaOptions {
  /** Connections in the pool: size it with the worker's activity concurrency (activities waiting for one look slow). */
  poolSize: number;
  /**
   * How long one query may go unanswered before it fails as an outage
   * (DATABASE_UNAVAILABLE at the API, retried by activities). A Postgres that
   * is frozen or cut off by the network keeps its connections open, and
   * without a bound every request would wait on it forever.
   */
  queryTimeoutMs: number;
}

/** The pg pool under each client createPrisma made, for its named statements (namedQuery). */
const POOLS = new WeakMap<PrismaClient, pg.Pool>();

/**
 * A Prisma client over the `pg` driver adapter (no query-engine binary), on a
 * pool of our own that `namedQuery` shares and `$disconnect` ends.
 */
export function createPrisma(databaseUrl: string, { poolSize, queryTimeoutMs }: TPrismaOptions): PrismaClient {
  // A connect attempt is bounded (pg's default waits forever): one that never
  // gets an answer, such as a TCP self-connection to a dead server's port,
  // must fail and be retried rather than hold a pool slot and the port.
  // A query that times out is dropped with its connection (pg's pool destroys a client released with an error).
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: queryTimeoutMs, keepAlive: true });
  // An idle connection Postgres drops (a restart) is an 'error' event on the pool: with no listener it would end
  // the process. The adapter adds its own only once Prisma connects, and namedQuery may use the pool first.
  // Nothing to do here: the next query gets a fresh connection, or fails as an outage.
  pool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  POOLS.set(prisma, pool);
  // The pool is ours, so $disconnect ends it whether or not Prisma itself ever connected.
  const disconnect = prisma.$disconnect.bind(prisma);
  prisma.$disconnect = async () => {
    try {
      await disconnect();
    } finally {
      if (!pool.ending) await pool.end();
    }
  };
  return prisma;
}

/**
 * A time as a named statement's parameter, written as Prisma's adapter
 * writes one (UTC, without an offset, read by Postgres in the session's time
 * zone), so a time stored through namedQuery and one stored through Prisma
 * agree whatever the server's `TimeZone`.
 */
export function timestampParam(at: Date): string {
  return at.toISOString().replace('T', ' ').replace('Z', '');
}

/** A statement that runs often enough to be prepared: its name must be unique to its text (pg keeps one per name and connection). */
export interface TNamedStatement {
  name: string;
  text: string;
}

/**
 * Runs one of the statements every leaf runs (its start, its end) as a named
 * statement on the client's own pool: Postgres parses and plans it once per
 * connection instead of on every call (Prisma sends each statement unnamed),
 * and it skips Prisma's query layer. Measured on a 1,000-leaf fan-out: the
 * Postgres CPU per leaf fell from 1.7 to 1.1 ms (docs/performance/notes.md).
 * Errors are pg's own (a SQLSTATE `code`, a socket error, pg's messages):
 * isTransientDatabaseError knows them as it knows Prisma's.
 */
export async function namedQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(prisma: PrismaClient, statement: TNamedStatement, values: unknown[]): Promise<pg.QueryResult<R>> {
  const pool = POOLS.get(prisma);
  if (!pool) throw new Error('namedQuery needs a client made by createPrisma');
  return pool.query<R>({ name: statement.name, text: statement.text, values });
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

/** Prisma codes of a database that is down, unreachable, overloaded or in a transient conflict. */
const TRANSIENT_PRISMA_CODES = new Set([
  'P1001', // can't reach the server
  'P1002', // the server was reached but timed out
  'P1008', // operations timed out
  'P1017', // the server closed the connection
  'P2024', // timed out fetching a connection from the pool
  'P2028', // transaction API: could not start, or already closed
  'P2034', // write conflict or deadlock: retry the transaction
]);
/** The pg driver adapter's error kinds (meta.driverAdapterError.cause.kind) of the same. */
const TRANSIENT_ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections', 'TransactionWriteConflict', 'TransactionAlreadyClosed']);
/** SQLSTATEs: serialization failure, deadlock, admin/crash shutdown, cannot connect now, too many connections. */
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '53300']);
/** Node socket errors (a pg client's own, or one the adapter passed through). */
const TRANSIENT_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/**
 * Messages of the same that carry no code (pg's own "Connection terminated unexpectedly", pool timeouts), and two
 * a named statement (namedQuery) meets on one connection and not on a fresh one: its cached plan after a migration
 * changed a table it reads (0A000), and a statement a pooler's reset dropped (26000). pg's pool drops the connection
 * a query failed on, so the retry prepares it again.
 */
const TRANSIENT_MESSAGES =
  /Can't reach database server|Connection terminated|timeout exceeded when trying to connect|Unable to start a transaction in the given time|Transaction already closed|timed out fetching a new connection|Connection is closed|Client has encountered a connection error|Query read timeout|cached plan must not change result type|prepared statement "reprise-[a-z-]+" does not exist/i;

/** Every error object in an error's chain: itself, its causes, and the driver adapter's error Prisma wraps. */
function errorChain(err: unknown): Record<string, unknown>[] {
  const chain: Record<string, unknown>[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && chain.length < 8) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || chain.includes(e as Record<string, unknown>)) continue;
    const rec = e as Record<string, unknown>;
    chain.push(rec);
    queue.push(rec.cause, (rec.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError);
  }
  return chain;
}

/**
 * Whether an error means Postgres is down, unreachable, overloaded or in a
 * transient conflict (serialization failure, deadlock): worth retrying as it
 * is. Recognises the shapes a killed, restarting or overloaded Postgres
 * actually produces through Prisma 7 and the pg driver adapter (each seen
 * against a real Postgres that was stopped or SIGKILLed): Prisma's P1001 with
 * the adapter's DatabaseNotReachable, P2010 wrapping SQLSTATE 57P01 (admin
 * shutdown), pg's bare "Connection terminated unexpectedly" for a query in
 * flight, P2024/P2028 for an exhausted pool.
 */
export function isTransientDatabaseError(err: unknown): boolean {
  if (err instanceof Prisma.PrismaClientInitializationError) return true;
  for (const e of errorChain(err)) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    const original = typeof e.originalCode === 'string' ? e.originalCode : undefined;
    if (code && (TRANSIENT_PRISMA_CODES.has(code) || TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SOCKET_CODES.has(code) || code.startsWith('08'))) return true;
    if (original && (TRANSIENT_SQLSTATES.has(original) || original.startsWith('08'))) return true;
    if (typeof e.kind === 'string' && TRANSIENT_ADAPTER_KINDS.has(e.kind)) return true;
    if (typeof e.message === 'string' && TRANSIENT_MESSAGES.test(e.message)) return true;
  }
  return false;
}

/**
 * A Postgres that is unreachable, too busy or in a transient conflict is
 * DATABASE_UNAVAILABLE (503, retry later; activities retry it), never a 500,
 * with a message of ours: Prisma's own text names source files and echoes
 * the call. Anything else is returned as undefined.
 */
export function asDatabaseError(err: unknown): DomainError | undefined {
  if (isDomainError(err)) return err.code === 'DATABASE_UNAVAILABLE' ? err : undefined;
  if (!isTransientDatabaseError(err)) return undefined;
  const busy = errorChain(err).some((e) => e.code === 'P2024' || e.code === 'P2028' || e.kind === 'TooManyConnections' || e.code === '53300');
  const conflict = errorChain(err).some((e) => e.code === 'P2034' || e.kind === 'TransactionWriteConflict' || e.code === '40001' || e.code === '40P01');
  const silent = errorChain(err).some((e) => typeof e.message === 'string' && /Query read timeout/i.test(e.message));
  const message = busy
    ? 'Postgres is too busy to answer in time; try again shortly'
    : silent
      ? 'Postgres did not answer in time (it may be frozen or cut off from this process); try again shortly'
      : conflict
      ? 'Postgres reported a transient conflict (serialization failure or deadlock); try again shortly'
      : 'Postgres is unreachable; try again shortly';
  return new DomainError('DATABASE_UNAVAILABLE', message);
}

/** One round trip to Postgres, for /healthz. */
export async function pingDatabase(prisma: PrismaClient): Promise<void> {
  await prisma.$queryRaw`SELECT 1`;
}
