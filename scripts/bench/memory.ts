// `npm run bench:memory`: the worker's memory against the number of runs
// waiting for a person, with the worker's settings before and after the
// sticky cache was bounded (issue 16), and what an evicted execution costs
// when its person finally answers.
//
// One embedded Postgres, one in-memory Temporal dev server and the API run
// here; each phase starts a real worker process (src/main/worker.ts, as
// `npm start` runs it) on a task queue of its own, so the RSS read is the
// worker's alone (its process tree, from /proc). For each phase:
//
// 1. RSS of the idle worker (polling, nothing run yet): the "0" row.
// 2. Runs of a saved one-manual-leaf workflow through POST
//    /api/workflows/{id}/runs (distinct idempotency keys, 20 at once), until
//    BENCH_MEMORY_SIZES (default 1000,5000,10000) leaves wait for completion
//    (waiting_for = 'completion' in Postgres); ~10 s to settle; RSS read.
// 3. At the first size, the BENCH_MEMORY_COMPLETE (default 500) oldest waiting
//    leaves are completed through POST /api/goals/{id}/complete, 10 at once:
//    latency from the request to the leaf's and the root's `done`
//    (finished_at), and the sticky-cache hits and misses the worker counted.
//    Runs are then created to make up the count for the next size.
//
// Phases (BENCH_MEMORY_PHASES, default before,after): `before` is the worker
// as it was (the SDK's default cache, which grows with the heap limit: 2,310
// executions on this machine's 4 GB heap); `after` is the current defaults.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { temporal as proto } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { Pool } from 'pg';
import pino from 'pino';
import { z } from 'zod';
import { startApi, type TRunningApi } from '../../src/api/server';
import { DEFAULT_DATABASE_QUERY_TIMEOUT_S, loadConfig, workerNodeArgs, type TConfig } from '../../src/config';
import { createPrisma } from '../../src/db/client';
import { LOCAL_ACTOR } from '../../src/domain/actor';
import { freePort, runStops, startScratchServices } from '../../src/dev/scratchServices';
import { createTokenDirect } from '../../src/services/tokens';
import { createTemporalClient } from '../../src/temporal/client';
import { saveFrozenWorkflow } from '../../test/support/frozenWorkflows';
import { increasingWholeNumbers, listOf, oneOf, settingError, wholeNumber } from './settings';

const root = path.resolve(__dirname, '../..');
const SIZES = increasingWholeNumbers('BENCH_MEMORY_SIZES', [1000, 5000, 10_000]);
/** 0: no completions (no eviction figures). */
const COMPLETE = wholeNumber('BENCH_MEMORY_COMPLETE', 500, 0);
const CREATE_AT_ONCE = 20;
const COMPLETE_AT_ONCE = 10;
const SETTLE_MS = wholeNumber('BENCH_MEMORY_SETTLE_MS', 10_000, 0);
/** Give up when the waiting count has not moved for this long. */
const STALL_MS = 180_000;
const AGENT_ID = 'agent_bench_memory';

/** What Temporal's SDK 1.24 picks when maxCachedWorkflows is unset (reuseV8Context on): it grows with the heap limit. */
const SDK_DEFAULT_CACHE = Math.max(Math.floor((Math.max(v8.getHeapStatistics().heap_size_limit / 1024 ** 2 - 200, 0) * 600) / 1024), 10);

interface TPhase {
  name: string;
  describe: string;
  env: NodeJS.ProcessEnv;
}

const PHASES: Record<string, TPhase> = {
  before: { name: 'before', describe: `SDK default cache (${SDK_DEFAULT_CACHE} executions here), Node's heap limit`, env: { WORKER_MAX_CACHED_WORKFLOWS: String(SDK_DEFAULT_CACHE), WORKER_HEAP_MB: '0' } },
  after: { name: 'after', describe: 'current defaults', env: {} },
};
// Other settings to try: BENCH_MEMORY_TRY='{"cache100":{"WORKER_MAX_CACHED_WORKFLOWS":"100"}}' adds a phase (name it in BENCH_MEMORY_PHASES).
for (const [name, env] of Object.entries(triedSettings())) PHASES[name] = { name, describe: 'tried', env };
const PHASE_NAMES = listOf('BENCH_MEMORY_PHASES', Object.keys(PHASES), ['before', 'after']);
const PARALLEL = oneOf('BENCH_MEMORY_PARALLEL', ['0', '1'], '0') === '1';

/** BENCH_MEMORY_TRY: {"phase": {"SETTING": "value", …}, …}. */
function triedSettings(): Record<string, Record<string, string>> {
  const raw = process.env.BENCH_MEMORY_TRY;
  if (raw === undefined || raw.trim() === '') return {};
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    settingError(`BENCH_MEMORY_TRY: not JSON (got ${JSON.stringify(raw)})`);
  }
  const parsed = z.record(z.string(), z.record(z.string(), z.string())).safeParse(data);
  if (!parsed.success) settingError(`BENCH_MEMORY_TRY: an object of phases, each an object of settings to string values, e.g. {"cache100":{"WORKER_MAX_CACHED_WORKFLOWS":"100"}} (got ${JSON.stringify(raw)})`);
  return parsed.data;
}

const ZRunCreated = z.object({ run: z.object({ id: z.string() }), created: z.boolean() });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (kb: number): string => `${Math.round(kb / 1024).toLocaleString('en-US')} MB`;
const count = (n: number): string => n.toLocaleString('en-US');
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** A /proc/<pid>/status field in kB (0 when the process is gone). */
function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The pid and every descendant of it, from each process's parent in /proc/<pid>/stat. */
function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name (field 2) may hold spaces: fields after its ')' are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i] as number) ?? []));
  return tree;
}

const treeRssKb = (pid: number): number => processTree(pid).reduce((sum, p) => sum + statusKb(p, 'VmRSS'), 0);

/** Sums of the worker's Prometheus series by metric name (over their labels). */
async function scrape(address: string): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  try {
    const text = await (await fetch(`http://${address}/metrics`)).text();
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
      if (m) sums.set(m[1] as string, (sums.get(m[1] as string) ?? 0) + Number(m[2]));
    }
  } catch {
    // no metrics yet
  }
  return sums;
}

const metric = (sums: Map<string, number>, name: string): number => sums.get(name) ?? 0;

async function mapLimit<T>(items: T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i] as T, i);
      }
    }),
  );
}

interface TWorkerProcess {
  pid: number;
  metricsAddress: string;
  stop(): Promise<void>;
}

async function startWorkerProcess(env: NodeJS.ProcessEnv, temporal: Client, taskQueue: string): Promise<TWorkerProcess> {
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  // As `npm start` runs it (supervisor.ts): node --import tsx, no tsx CLI process between.
  const child: ChildProcess = spawn(process.execPath, [...workerNodeArgs(loadConfig(env)), '--import', 'tsx', 'src/main/worker.ts'], {
    cwd: root,
    env: { ...process.env, ...env, WORKER_METRICS_ADDRESS: metricsAddress, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + 120_000;
  // Ready: its workflow pollers are on the task queue.
  for (;;) {
    if (dead) throw new Error('the worker exited during start-up');
    const res = await temporal.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue },
      taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    if ((res.pollers ?? []).length > 0) break;
    if (Date.now() > deadline) throw new Error('the worker did not poll within 120 s');
    await sleep(500);
  }
  return {
    pid: child.pid as number,
    metricsAddress,
    async stop() {
      if (dead) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface TCheckpoint {
  waiting: number;
  rssKb: number;
  cached: number;
  load: string;
  seconds: number;
}

interface TEviction {
  completed: number;
  requestMs: number[];
  leafMs: number[];
  rootMs: number[];
  hits: number;
  misses: number;
  /** Workflow tasks the worker ran (the SDK records a replay latency for every task). */
  tasks: number;
  load: string;
}

interface TPhaseResult {
  phase: TPhase;
  checkpoints: TCheckpoint[];
  peakKb: number;
  eviction?: TEviction;
}

async function main(): Promise<void> {
  console.log(`bringing up Postgres and Temporal… (load ${load()})`);
  const { dataDir, databaseUrl, temporalAddress, stops } = await startScratchServices('reprise-bench-memory-');
  const results: TPhaseResult[] = [];
  try {
    // Workspaces beside (never inside) the data directory, both in the scratch directory removed at the end.
    const baseEnv = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, REPRISE_DATA_DIR: path.join(dataDir, 'data'), WORKSPACES_DIR: path.join(dataDir, 'workspaces'), LOG_LEVEL: 'silent' };
    const logger = pino({ level: 'silent' });
    const prisma = createPrisma(databaseUrl, { poolSize: 10, queryTimeoutMs: DEFAULT_DATABASE_QUERY_TIMEOUT_S * 1000 });
    stops.push(() => prisma.$disconnect());
    const pool = new Pool({ connectionString: databaseUrl, max: 5 });
    stops.push(() => pool.end());
    const temporal = createTemporalClient(temporalAddress, 'default');
    stops.push(() => temporal.connection.close());
    await pool.query(
      `INSERT INTO agents (id, name, owner_user_id, allowed_runtimes, max_depth, max_children, max_goals, default_parallelism)
       VALUES ($1, 'bench-memory', $2, ARRAY['manual'], 4, 10, 10, 1)`,
      [AGENT_ID, LOCAL_ACTOR.userId],
    );
    const { secret } = await createTokenDirect(prisma, { user: 'local' }, { name: 'bench-memory', scopes: ['admin'] });

    const runPhase = async (name: string): Promise<TPhaseResult> => {
      const phase = PHASES[name] as TPhase;
      const say = (line: string): void => console.log(`[${name}] ${line}`);
      const taskQueue = `bench-memory-${name}`;
      const config: TConfig = loadConfig({ ...baseEnv, TEMPORAL_TASK_QUEUE: taskQueue });
      const api: TRunningApi = await startApi({ config, prisma, temporal, logger, port: await freePort() });
      const call = async (route: string, body: unknown): Promise<{ status: number; body: unknown }> => {
        const res = await fetch(`${api.url}${route}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
      };
      const saved = await saveFrozenWorkflow(prisma, {
        agentId: AGENT_ID,
        name: `bench-memory-${name}`,
        title: `Approval (${name})`,
        plan: { children: [{ key: 'approve', kind: 'leaf', title: 'Approve', action: { runtime: 'manual' } }], edges: [] },
      });

      say(`${phase.describe} ${JSON.stringify(phase.env)}`);
      const worker = await startWorkerProcess({ ...baseEnv, ...phase.env, TEMPORAL_TASK_QUEUE: taskQueue }, temporal, taskQueue);
      const started = Date.now();
      const result: TPhaseResult = { phase, checkpoints: [], peakKb: 0 };
      try {
        const waitingNow = async (): Promise<number> => {
          const { rows } = await pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM goals g JOIN workflow_runs r ON r.id = g.run_id
              WHERE r.workflow_id = $1 AND g.waiting_for = 'completion' AND g.finished_at IS NULL`,
            [saved.id],
          );
          return rows[0]?.n ?? 0;
        };
        const failedRuns = async (): Promise<number> => {
          const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM workflow_runs WHERE workflow_id = $1 AND state = 'failed'`, [saved.id]);
          return rows[0]?.n ?? 0;
        };
        const checkpoint = async (): Promise<void> => {
          await sleep(SETTLE_MS);
          const waiting = await waitingNow();
          const c: TCheckpoint = {
            waiting,
            rssKb: treeRssKb(worker.pid),
            cached: metric(await scrape(worker.metricsAddress), 'temporal_sticky_cache_size'),
            load: load(),
            seconds: Math.round((Date.now() - started) / 1000),
          };
          result.checkpoints.push(c);
          result.peakKb = Math.max(result.peakKb, statusKb(worker.pid, 'VmHWM'));
          say(`${count(c.waiting).padStart(6)} waiting: RSS ${mb(c.rssKb)}, ${c.cached} cached, load ${c.load}, ${c.seconds} s`);
        };

        let keys = 0;
        const createRuns = async (n: number): Promise<void> => {
          await mapLimit(Array.from({ length: n }), CREATE_AT_ONCE, async () => {
            const key = `memory-${name}-${++keys}`;
            const res = await call(`/api/workflows/${saved.id}/runs`, { idempotency_key: key, inputs: {} });
            if (res.status !== 201 || !ZRunCreated.parse(res.body).created) throw new Error(`run ${key}: ${res.status} ${JSON.stringify(res.body)}`);
          });
        };
        const waitFor = async (target: number): Promise<void> => {
          let last = -1;
          let movedAt = Date.now();
          for (;;) {
            const n = await waitingNow();
            if (n >= target) return;
            if ((await failedRuns()) > 0) throw new Error(`${await failedRuns()} runs failed`);
            if (n !== last) {
              last = n;
              movedAt = Date.now();
            } else if (Date.now() - movedAt > STALL_MS) {
              throw new Error(`stuck at ${n} of ${target} waiting for ${STALL_MS / 1000} s`);
            }
            result.peakKb = Math.max(result.peakKb, statusKb(worker.pid, 'VmHWM'));
            await sleep(2000);
          }
        };

        await checkpoint();
        for (const [i, size] of SIZES.entries()) {
          const waiting = await waitingNow();
          const rate = Date.now();
          await createRuns(size - waiting);
          const createdS = (Date.now() - rate) / 1000;
          await waitFor(size);
          say(`${count(size - waiting)} runs created in ${createdS.toFixed(0)} s (${((size - waiting) / createdS).toFixed(0)}/s), all waiting after ${((Date.now() - rate) / 1000).toFixed(0)} s`);
          await checkpoint();
          if (i === 0 && COMPLETE > 0) result.eviction = await completeOldest(Math.min(COMPLETE, size));
        }

        async function completeOldest(k: number): Promise<TEviction> {
          const { rows } = await pool.query<{ id: string; root_id: string }>(
            `SELECT g.id, g.root_id FROM goals g JOIN workflow_runs r ON r.id = g.run_id
              WHERE r.workflow_id = $1 AND g.waiting_for = 'completion' AND g.finished_at IS NULL
              ORDER BY r.created_at, r.id LIMIT $2`,
            [saved.id, k],
          );
          const before = await scrape(worker.metricsAddress);
          const startedAt = new Map<string, number>();
          const requestMs: number[] = [];
          await mapLimit(rows, COMPLETE_AT_ONCE, async (leaf) => {
            const t = Date.now();
            startedAt.set(leaf.id, t);
            const res = await call(`/api/goals/${leaf.id}/complete`, { outcome: 'succeeded' });
            requestMs.push(Date.now() - t);
            if (res.status !== 200) throw new Error(`complete ${leaf.id}: ${res.status} ${JSON.stringify(res.body)}`);
          });
          const ids = rows.flatMap((r) => [r.id, r.root_id]);
          const deadline = Date.now() + 300_000;
          let ended: { id: string; lifecycle: string; finished_at: Date | null }[];
          for (;;) {
            ({ rows: ended } = await pool.query<{ id: string; lifecycle: string; finished_at: Date | null }>('SELECT id, lifecycle, finished_at FROM goals WHERE id = ANY($1)', [ids]));
            if (ended.every((g) => g.finished_at !== null)) break;
            if (Date.now() > deadline) throw new Error(`${ended.filter((g) => !g.finished_at).length} goals not ended 300 s after their completion`);
            await sleep(500);
          }
          const notDone = ended.filter((g) => g.lifecycle !== 'done');
          if (notDone.length) throw new Error(`${notDone.length} goals ended other than done, e.g. ${notDone[0]?.id} ${notDone[0]?.lifecycle}`);
          const finished = new Map(ended.map((g) => [g.id, (g.finished_at as Date).getTime()]));
          // The root's workflow ends its run after the root: let it, so the counts below include those tasks.
          await sleep(3000);
          const after = await scrape(worker.metricsAddress);
          const delta = (n: string): number => metric(after, n) - metric(before, n);
          const e: TEviction = {
            completed: rows.length,
            requestMs,
            leafMs: rows.map((r) => (finished.get(r.id) as number) - (startedAt.get(r.id) as number)),
            rootMs: rows.map((r) => (finished.get(r.root_id) as number) - (startedAt.get(r.id) as number)),
            hits: delta('temporal_sticky_cache_hit'),
            misses: delta('temporal_sticky_cache_miss'),
            tasks: delta('temporal_workflow_task_replay_latency_count'),
            load: load(),
          };
          const p = (v: number[]): string => `${percentile(v, 50)} / ${percentile(v, 95)} ms`;
          say(`completed ${e.completed} oldest leaves: request ${p(e.requestMs)}, leaf done ${p(e.leafMs)}, root done ${p(e.rootMs)}; cache hits ${e.hits}, misses (full replays) ${e.misses}, workflow tasks ${e.tasks}; load ${e.load}`);
          return e;
        }
      } finally {
        const sums = await scrape(worker.metricsAddress);
        say(`metrics: ${[...sums].filter(([k]) => /sticky|replay/.test(k)).map(([k, v]) => `${k}=${v}`).join(' ')}`);
        await worker.stop();
        await api.close();
      }
      return result;
    };
    // In parallel (BENCH_MEMORY_PARALLEL=1): both phases under the same load, in about the time of one.
    if (PARALLEL) results.push(...(await Promise.all(PHASE_NAMES.map(runPhase))));
    else for (const name of PHASE_NAMES) results.push(await runPhase(name));

    console.log(`\nworker RSS (process tree) by runs waiting for a person; ${new Date().toISOString().slice(0, 10)}, load now ${load()}\n`);
    console.log(['waiting'.padStart(8), ...results.map((r) => r.phase.name.padStart(10))].join('  '));
    const rowsCount = Math.max(...results.map((r) => r.checkpoints.length));
    for (let i = 0; i < rowsCount; i++) {
      const waiting = results[0]?.checkpoints[i]?.waiting ?? 0;
      console.log([count(waiting).padStart(8), ...results.map((r) => (r.checkpoints[i]?.rssKb !== undefined ? mb(r.checkpoints[i]?.rssKb as number) : '-').padStart(10))].join('  '));
    }
    console.log(['peak'.padStart(8), ...results.map((r) => mb(r.peakKb).padStart(10))].join('  '));
    const withEviction = results.filter((r) => r.eviction);
    if (withEviction.length) {
      console.log(`\ncompleting the ${COMPLETE} oldest waiting leaves at ${count(SIZES[0] as number)} waiting (${COMPLETE_AT_ONCE} at once): p50 / p95 from the request\n`);
      console.log(['phase'.padEnd(8), 'request'.padStart(16), 'leaf done'.padStart(16), 'root done'.padStart(16), 'hits'.padStart(6), 'misses'.padStart(7), 'tasks'.padStart(6)].join('  '));
      for (const r of withEviction) {
        const e = r.eviction as TEviction;
        const p = (v: number[]): string => `${percentile(v, 50)} / ${percentile(v, 95)} ms`;
        console.log([r.phase.name.padEnd(8), p(e.requestMs).padStart(16), p(e.leafMs).padStart(16), p(e.rootMs).padStart(16), String(e.hits).padStart(6), String(e.misses).padStart(7), String(e.tasks).padStart(6)].join('  '));
      }
    }
  } finally {
    await runStops(stops);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
