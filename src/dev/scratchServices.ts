import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate } from '../db/migrate';
import { startEmbeddedPostgres, type TEmbeddedPostgres } from './embeddedPostgres';
import { ensureTemporalCli } from './temporalCli';
import { startTemporalDevServer, type TDevServer } from './temporalDevServer';

/**
 * Throwaway services for the benchmarks and the test suites: an embedded
 * Postgres and an in-memory Temporal dev server on free ports, in a scratch
 * directory, each with the stop that undoes it. Nothing here persists:
 * `npm start`'s services, which must survive restarts, are src/main/start.ts's.
 */

/** What was started, undone last first (globalTeardown, or the end of a script). */
export type TStops = (() => Promise<void>)[];

/** Runs (and empties) the stops, last first; one that fails does not keep the others from running. */
export async function runStops(stops: TStops, onError: (err: unknown) => void = () => undefined): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop().catch(onError);
}

/** A TCP port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A fresh directory under the OS temp directory, removed by the stops.
 * Traversable by others: Postgres runs as the `postgres` user when we run
 * as root, and must reach its cluster inside it wherever the checkout lives.
 */
export async function scratchDir(prefix: string, stops: TStops): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  stops.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An embedded Postgres cluster in `dataDir` on a free port. */
export async function startScratchPostgres(dataDir: string, stops: TStops, database?: string): Promise<TEmbeddedPostgres> {
  const pg = await startEmbeddedPostgres({ dataDir, port: await freePort(), ...(database ? { database } : {}) });
  stops.push(pg.stop);
  return pg;
}

/** A Temporal dev server in memory (its SQLite unsynced: nothing outlives it) on free ports, namespace `default`. */
export async function startScratchTemporal(stops: TStops, cliPath?: string): Promise<TDevServer> {
  const server = await startTemporalDevServer({
    cliPath: cliPath ?? (await ensureTemporalCli()),
    port: await freePort(),
    httpPort: await freePort(),
    metricsPort: await freePort(),
    namespace: 'default',
    synchronous: 'OFF',
  });
  stops.push(server.stop);
  return server;
}

/**
 * A script's whole scratch Reprise backing: directory, Postgres (migrated)
 * and Temporal. The stops also run on SIGINT/SIGTERM, since Postgres and
 * Temporal run in their own process groups and would outlive an interrupted
 * script; it then exits 130.
 */
export async function startScratchServices(
  prefix: string,
): Promise<{ dataDir: string; databaseUrl: string; temporalAddress: string; pids: { postgres: number; temporal: number }; stops: TStops }> {
  const stops: TStops = [];
  const interrupt = (): void => {
    void runStops(stops).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const dataDir = await scratchDir(prefix, stops);
    const pg = await startScratchPostgres(dataDir, stops);
    const temporal = await startScratchTemporal(stops);
    await migrate(pg.url);
    return { dataDir, databaseUrl: pg.url, temporalAddress: temporal.address, pids: { postgres: pg.process.pid, temporal: temporal.process.pid }, stops };
  } catch (err) {
    await runStops(stops);
    throw err;
  }
}
