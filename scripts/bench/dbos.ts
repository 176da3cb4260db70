// DBOS Transact as a second baseline, for context: its worker process
// (dbosWorker.ts) started beside Reprise's and bare Temporal's, on the same
// Postgres (its system database a database of its own), driven over HTTP as
// a DBOS app is. Optional: without @dbos-inc/dbos-sdk installed the bench
// says so and goes on without it.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Pool } from 'pg';
import { freePort } from '../../src/dev/scratchServices';
import type { TShape } from './engine';
import { mapLimit } from './http';
import { startNodeProcess, waitForHttp } from './processes';
import { oneOf, wholeNumber } from './settings';

/** How often DBOS's queue dispatch polls Postgres, ms (BENCH_DBOS_QUEUE_POLL_MS; read here so a bad value stops the bench before anything starts). */
const QUEUE_POLL_MS = wholeNumber('BENCH_DBOS_QUEUE_POLL_MS', 50);
/** BENCH_DBOS=0 leaves DBOS out (read here for the same reason). */
const DBOS_ON = oneOf('BENCH_DBOS', ['0', '1'], '1') === '1';

export interface TDbosBaseline {
  version: string;
  /** One request: the workflow for `shape`, run to its end; ms. */
  run(shape: TShape): Promise<number>;
  /** `runs` fan-outs of `leaves` started by `callers` at once, all awaited; ms. */
  throughput(runs: number, callers: number, leaves: number): Promise<number>;
  died: Promise<never>;
  stop(): Promise<void>;
}

const SDK = '@dbos-inc/dbos-sdk';

/** The installed SDK's version, or undefined when it is not installed. */
function installedVersion(): string | undefined {
  let entry: string;
  try {
    entry = createRequire(__filename).resolve(SDK);
  } catch {
    return undefined;
  }
  // Its package.json is not among the package's exports: found above its entry point instead.
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === SDK) return pkg.version ?? 'unknown';
  }
  return 'unknown';
}

export async function startDbosBaseline(deps: {
  pool: Pool;
  databaseUrl: string;
  env: NodeJS.ProcessEnv;
  nodeArgs: string[];
  workerConcurrency: number;
  log(line: string): void;
}): Promise<TDbosBaseline | { missing: string }> {
  if (!DBOS_ON) return { missing: 'DBOS left out (BENCH_DBOS=0)' };
  const version = installedVersion();
  if (!version) return { missing: `DBOS not installed (${SDK} is not in node_modules: npm install --save-dev --save-exact ${SDK}@5.3.0 adds it)` };
  await deps.pool.query('CREATE DATABASE dbos_bench');
  const systemUrl = new URL(deps.databaseUrl);
  systemUrl.pathname = '/dbos_bench';
  const port = await freePort();
  const proc = startNodeProcess('dbos', 'scripts/bench/dbosWorker.ts', {
    ...deps.env,
    BENCH_DBOS_DATABASE_URL: systemUrl.toString(),
    BENCH_DBOS_PORT: String(port),
    BENCH_DBOS_CONCURRENCY: String(deps.workerConcurrency),
    BENCH_DBOS_QUEUE_POLL_MS: String(QUEUE_POLL_MS),
  }, deps.nodeArgs);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(proc, `${url}/ready`, 'POST');
  } catch (err) {
    await proc.stop();
    throw err;
  }
  deps.log(`DBOS ${version}: worker process up`);

  async function post(route: string, body: unknown): Promise<unknown> {
    const res = await fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`DBOS ${route}: ${res.status} ${text}`);
    return JSON.parse(text) as unknown;
  }

  return {
    version,
    died: proc.died,
    stop: () => proc.stop(),
    async run(shape) {
      const started = performance.now();
      await post('/run', { shape });
      return performance.now() - started;
    },
    async throughput(runs, callers, leaves) {
      const started = performance.now();
      const ids = await mapLimit(Array.from({ length: runs }), callers, async () => ((await post('/start', { shape: { kind: 'fanOut', n: leaves } })) as { id: string }).id);
      await post('/wait', { ids });
      return performance.now() - started;
    },
  };
}
