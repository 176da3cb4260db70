// `npm run bench`: the engine against bare Temporal, measured in the same run.
//
// Each scenario runs twice on one embedded Postgres and one Temporal dev
// server, with the same worker settings: as a Reprise goal tree, and as the
// bare Temporal workflow a user would otherwise write, whose activities do
// the same leaf work (spawn `true`, insert one row through `pg`). It prints
// the time of each, their ratio, the longest history and the slowest
// workflow task (WorkflowTaskStarted to WorkflowTaskCompleted, server clock).
//
// Then the instantiation part (scripts/bench/instantiation.ts): frozen plans
// materialized by runs against the same rows inserted through `pg`, and a
// replayed idempotency key against GET /healthz.
//
// BENCH_SCENARIOS=small runs the scenarios up to 100 leaves (and plans up to
// 100 goals); BENCH_REPEATS=n takes the median of n runs (default 1);
// BENCH_PARTS=engine or BENCH_PARTS=instantiation runs one part only.
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import pino from 'pino';
import { startApi } from '../src/api/server';
import { loadConfig } from '../src/config';
import { createPrisma } from '../src/db/client';
import type { TActor } from '../src/domain/actor';
import { isTerminal } from '../src/domain/goals';
import type { TPlan } from '../src/domain/plans';
import { freePort, runStops, startScratchServices } from '../src/dev/scratchServices';
import { createGoalService, type TCreateGoalInput } from '../src/services/goals';
import { createTemporalClient } from '../src/temporal/client';
import { createWorker, installTemporalRuntime } from '../src/main/composeWorker';
import { statsOf, treeHistoryStats, type THistoryStats } from '../test/support/historyStats';

import { createBareActivities } from './bench/bareActivities';
import { benchInstantiation } from './bench/instantiation';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 1);
const SMALL_ONLY = process.env.BENCH_SCENARIOS === 'small';
const ALL_PARTS = ['engine', 'instantiation'] as const;
const PARTS = new Set((process.env.BENCH_PARTS ?? ALL_PARTS.join(',')).split(',').map((p) => p.trim()));
const unknownParts = [...PARTS].filter((p) => !(ALL_PARTS as readonly string[]).includes(p));
if (unknownParts.length) throw new Error(`BENCH_PARTS: unknown part ${unknownParts.join(', ')} (parts: ${ALL_PARTS.join(', ')})`);

type TBare = { workflow: 'bareFanOut' | 'bareChain'; args: [number] } | { workflow: 'bareNested'; args: [number, number] };

interface TScenario {
  name: string;
  leaves: number;
  reprise: TCreateGoalInput;
  bare: TBare;
}

function leaves(n: number, prefix = 'leaf-'): TPlan['children'] {
  return Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, kind: 'leaf' as const, title: `Leaf ${i}`, action: { runtime: 'shell' as const, command: 'true' } }));
}

function nested(groups: number, n: number): TPlan {
  return { children: Array.from({ length: groups }, (_, g) => ({ key: `group-${g}`, kind: 'composite' as const, title: `Group ${g}`, plan: { children: leaves(n), edges: [] } })), edges: [] };
}

const SCENARIOS: TScenario[] = [
  { name: 'one leaf, request to done', leaves: 1, reprise: { kind: 'leaf', title: 'Bench leaf', action: { runtime: 'shell', command: 'true' }, start: true }, bare: { workflow: 'bareFanOut', args: [1] } },
  { name: '100-leaf fan-out', leaves: 100, reprise: { kind: 'composite', title: 'Bench fan-out', plan: { children: leaves(100), edges: [] }, start: true }, bare: { workflow: 'bareFanOut', args: [100] } },
  {
    name: '20-leaf chain',
    leaves: 20,
    reprise: {
      kind: 'composite',
      title: 'Bench chain',
      plan: { children: leaves(20), edges: Array.from({ length: 19 }, (_, i) => ({ from: `leaf-${i}`, to: `leaf-${i + 1}`, on: 'succeeded' as const })) },
      start: true,
    },
    bare: { workflow: 'bareChain', args: [20] },
  },
  { name: '1,000-leaf fan-out', leaves: 1000, reprise: { kind: 'composite', title: 'Bench wide', plan: { children: leaves(1000), edges: [] }, start: true }, bare: { workflow: 'bareFanOut', args: [1000] } },
  { name: '10x100 nested tree', leaves: 1000, reprise: { kind: 'composite', title: 'Bench nested', plan: nested(10, 100), start: true }, bare: { workflow: 'bareNested', args: [10, 100] } },
  { name: '10,000-goal tree (10x999)', leaves: 9990, reprise: { kind: 'composite', title: 'Bench big tree', plan: nested(10, 999), start: true }, bare: { workflow: 'bareNested', args: [10, 999] } },
];

interface TMeasure {
  ms: number;
  stats: THistoryStats;
}

function median(values: TMeasure[]): TMeasure {
  return [...values].sort((a, b) => a.ms - b.ms)[Math.floor(values.length / 2)] as TMeasure;
}

async function bareHistories(client: Client, id: string, bare: TBare): Promise<THistoryStats> {
  const ids = bare.workflow === 'bareNested' ? [id, ...Array.from({ length: bare.args[0] }, (_, g) => `${id}-g${g}`)] : [id];
  return statsOf(await Promise.all(ids.map((w) => client.workflow.getHandle(w).fetchHistory())));
}

async function main(): Promise<void> {
  console.log('bringing up Postgres and Temporal…');
  const { dataDir, databaseUrl, temporalAddress, stops } = await startScratchServices('reprise-bench-');
  try {
    // Workspaces beside (never inside) the data directory, both in the scratch directory removed at the end.
    const config = loadConfig({ DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, REPRISE_DATA_DIR: path.join(dataDir, 'data'), WORKSPACES_DIR: path.join(dataDir, 'workspaces'), LOG_LEVEL: 'silent' });
    const logger = pino({ level: 'silent' });
    installTemporalRuntime(logger, { ownSignals: true });
    const prisma = createPrisma(databaseUrl, { poolSize: config.databasePoolSize, queryTimeoutMs: config.databaseQueryTimeoutMs });
    stops.push(() => prisma.$disconnect());
    const pool = new Pool({ connectionString: databaseUrl, max: config.databasePoolSize });
    stops.push(() => pool.end());
    await pool.query('CREATE TABLE bench_leaves (key text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
    // The bench agent's stored limits allow the big scenarios (the default agent's do not).
    await pool.query(
      `INSERT INTO agents (id, name, owner_user_id, allowed_runtimes, max_depth, max_children, max_goals, default_parallelism)
       VALUES ('agent_bench', 'bench', 'user_local', ARRAY['shell'], 4, 5000, 20000, 100)`,
    );
    const actor: TActor = { userId: 'user_local', agentId: 'agent_bench' };

    // Two workers with the same settings: Reprise's, and the bare baseline's.
    const connection = await NativeConnection.connect({ address: temporalAddress });
    stops.push(() => connection.close());
    const repriseWorker = await createWorker({ config, prisma, connection, logger });
    const bareWorker = await Worker.create({
      connection,
      taskQueue: 'bench-bare',
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('./bench/bareWorkflows'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never }),
      activities: createBareActivities(pool),
      maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
      maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    });
    for (const w of [repriseWorker, bareWorker]) {
      const running = w.run();
      stops.push(async () => {
        w.shutdown();
        await running;
      });
    }
    const temporal = createTemporalClient(temporalAddress, 'default');
    stops.push(() => temporal.connection.close());
    const goals = createGoalService({ prisma, temporal, taskQueue: config.temporal.taskQueue, engine: config.engine });

    const runReprise = async (input: TCreateGoalInput): Promise<TMeasure> => {
      const started = performance.now();
      const goal = await goals.createGoal(actor, input);
      for (;;) {
        const g = await prisma.goal.findUniqueOrThrow({ where: { id: goal.id } });
        if (isTerminal(g.lifecycle)) {
          if (g.lifecycle !== 'done') throw new Error(`${input.title} ended ${g.lifecycle}: ${g.failureReason}`);
          const ms = performance.now() - started;
          return { ms, stats: await treeHistoryStats(temporal, goal.id) };
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    let bareRuns = 0;
    const runBare = async (bare: TBare): Promise<TMeasure> => {
      const workflowId = `bare-${++bareRuns}`;
      const started = performance.now();
      await temporal.workflow.execute(bare.workflow, { taskQueue: 'bench-bare', workflowId, args: bare.args });
      const ms = performance.now() - started;
      return { ms, stats: await bareHistories(temporal, workflowId, bare) };
    };

    const rows: string[] = [];
    const scenarios = !PARTS.has('engine') ? [] : SMALL_ONLY ? SCENARIOS.filter((s) => s.leaves <= 100) : SCENARIOS;
    if (scenarios.length) {
      // Warm-up: bundles loaded, caches and pools filled.
      await runReprise(SCENARIOS[0]!.reprise);
      await runBare(SCENARIOS[0]!.bare);
    }
    for (const s of scenarios) {
      const bare: TMeasure[] = [];
      const reprise: TMeasure[] = [];
      for (let i = 0; i < REPEATS; i++) {
        bare.push(await runBare(s.bare));
        reprise.push(await runReprise(s.reprise));
      }
      const b = median(bare);
      const r = median(reprise);
      const row = [
        s.name.padEnd(28),
        `${(b.ms / 1000).toFixed(2)} s`.padStart(9),
        `${(r.ms / 1000).toFixed(2)} s`.padStart(9),
        `x${(r.ms / b.ms).toFixed(2)}`.padStart(7),
        `${b.stats.maxEvents} / ${r.stats.maxEvents}`.padStart(13),
        `${r.stats.executions}`.padStart(5),
        `${b.stats.maxTaskMs} / ${r.stats.maxTaskMs}`.padStart(12),
        `${b.stats.activities.meanQueueMs}+${b.stats.activities.meanRunMs} / ${r.stats.activities.meanQueueMs}+${r.stats.activities.meanRunMs}`.padStart(18),
      ].join('  ');
      rows.push(row);
      console.log(row);
    }

    const instantiation: string[] = [];
    if (PARTS.has('instantiation')) {
      const api = await startApi({ config, prisma, temporal, logger, port: await freePort() });
      stops.push(api.close);
      instantiation.push(...(await benchInstantiation({ prisma, pool, temporal, apiUrl: api.url, repeats: REPEATS, small: SMALL_ONLY })));
    }

    if (rows.length) {
      console.log(`\nengine: Reprise against bare Temporal, same server and worker settings (median of ${REPEATS})\n`);
      console.log(
        ['scenario'.padEnd(28), 'bare'.padStart(9), 'reprise'.padStart(9), 'ratio'.padStart(7), 'max events'.padStart(13), 'runs'.padStart(5), 'max task ms'.padStart(12), 'activity ms'.padStart(18)].join('  '),
      );
      console.log(
        `${' '.repeat(28)}  ${' '.repeat(9)}  ${' '.repeat(9)}  ${' '.repeat(7)}  ${'bare / ours'.padStart(13)}  ${' '.repeat(5)}  ${'bare / ours'.padStart(12)}  ${'queue+run b / o'.padStart(18)}`,
      );
      for (const row of rows) console.log(row);
    }
    for (const line of instantiation) console.log(line);
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
