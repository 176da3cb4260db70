// `npm run bench:tree`: how long goal trees take end to end, as ratios
// against a baseline measured in the same run (one single-leaf goal), so the
// numbers compare across machines. It brings up its own embedded Postgres and
// in-memory Temporal dev server (the same code `npm start` uses), runs the
// worker in process, and creates goals through the goal service.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { loadConfig } from '../src/config';
import { createPrisma } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { LOCAL_ACTOR } from '../src/domain/actor';
import { isTerminal } from '../src/domain/goals';
import type { TPlan } from '../src/domain/plans';
import { startEmbeddedPostgres } from '../src/dev/embeddedPostgres';
import { ensureTemporalCli } from '../src/dev/temporalCli';
import { startTemporalDevServer } from '../src/dev/temporalDevServer';
import { createGoalService, type TCreateGoalInput } from '../src/services/goals';
import { createTemporalClient } from '../src/temporal/client';
import { createWorker, installTemporalRuntime } from '../src/temporal/worker';
import { freePort } from '../test/support/ports';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

function leaves(n: number): TPlan['children'] {
  return Array.from({ length: n }, (_, i) => ({ key: `leaf-${i}`, kind: 'leaf' as const, title: `Leaf ${i}`, action: { runtime: 'shell' as const, command: 'true' } }));
}

const SCENARIOS: { name: string; input: TCreateGoalInput }[] = [
  { name: 'baseline: one leaf goal', input: { kind: 'leaf', title: 'Bench leaf', action: { runtime: 'shell', command: 'true' }, start: true } },
  { name: '100-leaf fan-out', input: { kind: 'composite', title: 'Bench fan-out', plan: { children: leaves(100), edges: [] }, start: true } },
  {
    name: '20-leaf chain',
    input: {
      kind: 'composite',
      title: 'Bench chain',
      plan: { children: leaves(20), edges: Array.from({ length: 19 }, (_, i) => ({ from: `leaf-${i}`, to: `leaf-${i + 1}`, on: 'succeeded' as const })) },
      start: true,
    },
  },
  {
    name: '10 composites x 10 leaves (nested)',
    input: {
      kind: 'composite',
      title: 'Bench nested',
      plan: {
        children: Array.from({ length: 10 }, (_, i) => ({ key: `group-${i}`, kind: 'composite' as const, title: `Group ${i}`, plan: { children: leaves(10), edges: [] } })),
        edges: [],
      },
      start: true,
    },
  },
];

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'reprise-bench-'));
  await chmod(dataDir, 0o755);
  const stops: (() => Promise<void>)[] = [];
  try {
    console.log('bringing up Postgres and Temporal…');
    const pg = await startEmbeddedPostgres({ dataDir, port: await freePort() });
    stops.push(pg.stop);
    const server = await startTemporalDevServer({
      cliPath: await ensureTemporalCli(),
      port: await freePort(),
      httpPort: await freePort(),
      metricsPort: await freePort(),
      namespace: 'default',
      synchronous: 'OFF',
    });
    stops.push(server.stop);
    await migrate(pg.url);

    const config = loadConfig({ DATABASE_URL: pg.url, TEMPORAL_ADDRESS: server.address, REPRISE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    const logger = pino({ level: 'silent' });
    installTemporalRuntime(logger, { ownSignals: true });
    const prisma = createPrisma(pg.url, config.databasePoolSize);
    stops.push(() => prisma.$disconnect());
    const connection = await NativeConnection.connect({ address: server.address });
    stops.push(() => connection.close());
    const worker = await createWorker({ config, prisma, connection, logger });
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
    });
    const temporal = createTemporalClient(server.address, 'default');
    stops.push(() => temporal.connection.close());
    const goals = createGoalService({ prisma, temporal, taskQueue: config.temporal.taskQueue });

    const timeOne = async (input: TCreateGoalInput): Promise<number> => {
      const started = performance.now();
      const goal = await goals.createGoal(LOCAL_ACTOR, input);
      for (;;) {
        const g = await prisma.goal.findUniqueOrThrow({ where: { id: goal.id } });
        if (isTerminal(g.lifecycle)) {
          if (g.lifecycle !== 'done') throw new Error(`${input.title} ended ${g.lifecycle}: ${g.failureReason}`);
          return performance.now() - started;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    await timeOne(SCENARIOS[0]!.input); // warm-up: bundle loaded, caches filled
    const results: { name: string; ms: number }[] = [];
    for (const s of SCENARIOS) {
      const times: number[] = [];
      for (let i = 0; i < REPEATS; i++) times.push(await timeOne(s.input));
      times.sort((a, b) => a - b);
      results.push({ name: s.name, ms: times[Math.floor(times.length / 2)] as number });
    }
    const baseline = results[0]!.ms;
    console.log(`\nmedian of ${REPEATS} runs each; ratio = time / baseline (one leaf goal, ${baseline.toFixed(0)} ms)\n`);
    for (const r of results) console.log(`  ${r.name.padEnd(38)} ${r.ms.toFixed(0).padStart(7)} ms   x${(r.ms / baseline).toFixed(1)}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
