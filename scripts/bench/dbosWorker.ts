// DBOS Transact doing the bench's leaf work, for context (issue 19): the
// second thing a user might pick for durable workflows on Postgres. A DBOS
// app is a library inside the user's own server, so this process is that
// server: HTTP on BENCH_DBOS_PORT, POST /run runs a workflow and answers
// when it has ended; POST /start starts one and POST /wait awaits a list
// (throughput). Leaves are steps that spawn `true` and insert one row through
// pg (DATABASE_URL); a fan-out enqueues each leaf as a child workflow on a
// queue of BENCH_DBOS_CONCURRENCY per process (Reprise's activity slots),
// DBOS's own idiom for bounded fan-out. Its system database is
// BENCH_DBOS_DATABASE_URL. Only started when @dbos-inc/dbos-sdk is installed.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import http from 'node:http';
import { Pool } from 'pg';
import type { TShape } from './engine';
import { wholeNumber } from './settings';

interface THandle<R> {
  workflowID: string;
  getResult(): Promise<R>;
}
type TWorkflowFn<A extends unknown[], R> = (...args: A) => Promise<R>;
/** The part of @dbos-inc/dbos-sdk 5.x used here (typed locally: the package is optional). */
interface TDbos {
  setConfig(config: { name: string; systemDatabaseUrl: string; systemDatabasePoolSize?: number; logLevel?: string }): void;
  launch(): Promise<void>;
  shutdown(): Promise<void>;
  registerWorkflow<A extends unknown[], R>(fn: TWorkflowFn<A, R>, config: { name: string }): TWorkflowFn<A, R>;
  registerQueue(name: string, options: { workerConcurrency?: number; minPollingIntervalMs?: number }): Promise<unknown>;
  runStep<R>(fn: () => Promise<R>, config: { name: string }): Promise<R>;
  startWorkflow<A extends unknown[], R>(fn: TWorkflowFn<A, R>, params?: { queueName?: string }): (...args: A) => Promise<THandle<R>>;
  retrieveWorkflow<R>(id: string): THandle<R>;
}

const LEAF_QUEUE = 'bench_leaves';
/**
 * DBOS's queue dispatch polls Postgres (1 s by default); the bench's leaves
 * take milliseconds, so a short interval is what a user tuning for latency
 * would set.
 */
const QUEUE_POLL_MS = wholeNumber('BENCH_DBOS_QUEUE_POLL_MS', 50);

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

async function main(): Promise<void> {
  const { DBOS } = createRequire(__filename)('@dbos-inc/dbos-sdk') as { DBOS: TDbos };
  const pool = new Pool({ connectionString: need('DATABASE_URL'), max: Number(process.env.DATABASE_POOL_SIZE ?? 10) });
  const concurrency = Number(need('BENCH_DBOS_CONCURRENCY'));

  const leafWork = async (key: string): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('true', [], { stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`true exited ${code}`))));
    });
    await pool.query('INSERT INTO bench_leaves (key) VALUES ($1)', [key]);
  };
  const leaf = DBOS.registerWorkflow(async (key: string) => DBOS.runStep(() => leafWork(key), { name: 'leaf' }), { name: 'dbosLeaf' });
  const fanOut = DBOS.registerWorkflow(
    async (id: string, n: number) => {
      const handles: THandle<void>[] = [];
      for (let i = 0; i < n; i++) handles.push(await DBOS.startWorkflow(leaf, { queueName: LEAF_QUEUE })(`dbos-${id}/${i}`));
      for (const h of handles) await h.getResult();
    },
    { name: 'dbosFanOut' },
  );
  const chain = DBOS.registerWorkflow(
    async (id: string, n: number) => {
      for (let i = 0; i < n; i++) await DBOS.runStep(() => leafWork(`dbos-${id}/${i}`), { name: 'leaf' });
    },
    { name: 'dbosChain' },
  );
  const nested = DBOS.registerWorkflow(
    async (id: string, groups: number, n: number) => {
      const handles: THandle<void>[] = [];
      for (let g = 0; g < groups; g++) handles.push(await DBOS.startWorkflow(fanOut)(`${id}-g${g}`, n));
      for (const h of handles) await h.getResult();
    },
    { name: 'dbosNested' },
  );

  DBOS.setConfig({ name: 'reprise-bench', systemDatabaseUrl: need('BENCH_DBOS_DATABASE_URL'), systemDatabasePoolSize: Number(process.env.DATABASE_POOL_SIZE ?? 10) * 2, logLevel: 'warn' });
  await DBOS.launch();
  await DBOS.registerQueue(LEAF_QUEUE, { workerConcurrency: concurrency, minPollingIntervalMs: QUEUE_POLL_MS });

  let ids = 0;
  const start = async (shape: TShape): Promise<THandle<void>> => {
    const id = `${process.pid}-${++ids}`;
    switch (shape.kind) {
      case 'fanOut':
        // One leaf is a workflow with one step, as a user would write it, not a queued child.
        return shape.n === 1 ? DBOS.startWorkflow(chain)(id, 1) : DBOS.startWorkflow(fanOut)(id, shape.n);
      case 'chain':
        return DBOS.startWorkflow(chain)(id, shape.n);
      case 'nested':
        return DBOS.startWorkflow(nested)(id, shape.groups, shape.n);
    }
  };

  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void (async () => {
        try {
          const input = JSON.parse(body || '{}') as { shape?: TShape; ids?: string[] };
          let out: unknown = {};
          if (req.url === '/run' && input.shape) await (await start(input.shape)).getResult();
          else if (req.url === '/start' && input.shape) out = { id: (await start(input.shape)).workflowID };
          else if (req.url === '/wait' && input.ids) await Promise.all(input.ids.map((id) => DBOS.retrieveWorkflow<void>(id).getResult()));
          else if (req.url !== '/ready') throw new Error(`unknown request ${req.url}`);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(err instanceof Error ? (err.stack ?? err.message) : String(err));
        }
      })();
    });
  });
  server.listen(Number(need('BENCH_DBOS_PORT')), '127.0.0.1');

  const stop = (): void => {
    server.close();
    void DBOS.shutdown()
      .then(() => pool.end())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
