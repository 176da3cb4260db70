// The throughput part of `npm run bench`: a batch of runs of a saved 10-leaf
// workflow requested at once by concurrent callers (POST
// /api/workflows/{id}/runs, each with its own idempotency key), timed until
// every run's status reads `done` through the API (GET
// /api/workflows/{id}/runs); against the same number of bare Temporal
// workflows of 10 activities each, started by as many concurrent callers
// and awaited. Runs per second, Reprise's over bare's.
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { PrismaClient } from '../../src/db/client';
import { statsOf, treeHistoryStats, type THistoryStats } from '../../test/support/historyStats';
import { saveFrozenWorkflow } from '../../test/support/frozenWorkflows';
import { measureCpu, sumCpu, type TCpuProcesses, type TCpuUse } from './cpu';
import type { TDbosBaseline } from './dbos';
import { mapLimit, pollDelay, sleep, type TApi } from './http';
import { medianOf, worstOf, type TScenarioResult, type TSide } from './results';
import { SETTLE_MS, wholeNumber } from './settings';

export const THROUGHPUT_LEAVES = 10;
export const THROUGHPUT_CALLERS = wholeNumber('BENCH_THROUGHPUT_CALLERS', 20);
/** Histories read at once after a batch (200 runs: 400 executions). */
const STATS_AT_ONCE = 10;
const BATCH_DEADLINE_MS = 30 * 60_000;
const PROGRESS_EVERY_MS = 15_000;
/** Listing every run with its status is the heaviest read the bench makes: at most once a second (2% of a batch of 50 s). */
const LIST_POLL_MAX_MS = 1000;

const ZRunCreated = z.object({ run: z.object({ id: z.string() }), created: z.boolean() });
const ZRunPage = z.object({
  items: z.array(z.object({ id: z.string(), root_goal_id: z.string().nullable(), state: z.string(), error: z.string().nullable(), status: z.object({ status: z.string(), reason: z.string().nullable() }) })),
  next_cursor: z.string().nullable(),
});

export interface TThroughputDeps {
  api: TApi;
  prisma: PrismaClient;
  temporal: Client;
  agentId: string;
  bareTaskQueue: string;
  runs: number;
  repeats: number;
  dbos?: TDbosBaseline;
  /** The processes each side's CPU is read by (cpu.ts). */
  processes: { reprise: TCpuProcesses; bare: TCpuProcesses };
  log(line: string): void;
}

export async function benchThroughput(deps: TThroughputDeps): Promise<TScenarioResult> {
  const { api, temporal, runs } = deps;
  const plan = {
    children: Array.from({ length: THROUGHPUT_LEAVES }, (_, i) => ({ key: `leaf-${i}`, kind: 'leaf' as const, title: `Leaf ${i}`, action: { runtime: 'shell' as const, command: 'true' } })),
    edges: [],
  };

  type TBatch = { ms: number; cpu: TCpuUse | undefined; stats: () => Promise<THistoryStats> };

  async function reprise(batch: number): Promise<TBatch> {
    const workflow = await saveFrozenWorkflow(deps.prisma, { agentId: deps.agentId, name: `bench-throughput-${batch}`, title: `Bench ${THROUGHPUT_LEAVES} leaves`, plan });
    await sleep(SETTLE_MS);
    const cpu = measureCpu(deps.processes.reprise);
    const started = performance.now();
    await mapLimit(Array.from({ length: runs }), THROUGHPUT_CALLERS, async (_, i) => {
      const res = await api.call('POST', `/api/workflows/${workflow.id}/runs`, { idempotency_key: `throughput-${batch}-${i}`, inputs: {} });
      if (res.status !== 201 || !ZRunCreated.parse(res.body).created) throw new Error(`run ${i} of batch ${batch}: ${res.status} ${JSON.stringify(res.body)}`);
    });
    deps.log(`  ${runs} runs requested in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    let roots: string[] = [];
    let saidAt = performance.now();
    for (;;) {
      const elapsed = performance.now() - started;
      await sleep(pollDelay(elapsed, LIST_POLL_MAX_MS));
      const items: z.infer<typeof ZRunPage>['items'] = [];
      let cursor: string | null = null;
      do {
        const res = await api.call('GET', `/api/workflows/${workflow.id}/runs?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        if (res.status !== 200) throw new Error(`GET runs: ${res.status} ${JSON.stringify(res.body)}`);
        const page = ZRunPage.parse(res.body);
        items.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      const bad = items.find((r) => r.state === 'failed' || ['failed', 'cancelled', 'skipped'].includes(r.status.status));
      if (bad) throw new Error(`run ${bad.id}: state ${bad.state} ${bad.error ?? ''}, status ${bad.status.status} ${bad.status.reason ?? ''}`);
      if (items.length === runs && items.every((r) => r.status.status === 'done')) {
        roots = items.map((r) => r.root_goal_id as string);
        break;
      }
      if (performance.now() - saidAt > PROGRESS_EVERY_MS) {
        saidAt = performance.now();
        deps.log(`  ${items.filter((r) => r.status.status === 'done').length} of ${runs} runs done after ${(elapsed / 1000).toFixed(0)} s`);
      }
      if (elapsed > BATCH_DEADLINE_MS) throw new Error(`batch ${batch}: ${items.filter((r) => r.status.status === 'done').length} of ${runs} runs done after ${BATCH_DEADLINE_MS / 60_000} min`);
    }
    const ms = performance.now() - started;
    return { ms, cpu: cpu(runs), stats: async () => worstOf(await mapLimit(roots, STATS_AT_ONCE, (root) => treeHistoryStats(temporal, root))) as THistoryStats };
  }

  async function bare(batch: number): Promise<TBatch> {
    const ids = Array.from({ length: runs }, (_, i) => `bare-throughput-${batch}-${i}`);
    await sleep(SETTLE_MS);
    const cpu = measureCpu(deps.processes.bare);
    const started = performance.now();
    const handles = await mapLimit(ids, THROUGHPUT_CALLERS, (workflowId) => temporal.workflow.start('bareFanOut', { taskQueue: deps.bareTaskQueue, workflowId, args: [THROUGHPUT_LEAVES] }));
    await Promise.all(handles.map((h) => h.result()));
    const ms = performance.now() - started;
    return { ms, cpu: cpu(runs), stats: async () => statsOf(await mapLimit(ids, STATS_AT_ONCE, (id) => temporal.workflow.getHandle(id).fetchHistory())) };
  }

  const bareRuns: { ms: number; cpu: TCpuUse | undefined; stats: THistoryStats }[] = [];
  const ours: { ms: number; cpu: TCpuUse | undefined; stats: THistoryStats }[] = [];
  const dbosMs: number[] = [];
  for (let i = 0; i < deps.repeats; i++) {
    const b = await bare(i);
    bareRuns.push({ ms: b.ms, cpu: b.cpu, stats: await b.stats() });
    const r = await reprise(i);
    ours.push({ ms: r.ms, cpu: r.cpu, stats: await r.stats() });
    if (deps.dbos) dbosMs.push(await deps.dbos.throughput(runs, THROUGHPUT_CALLERS, THROUGHPUT_LEAVES));
    const rate = (ms: number | undefined): string => `${((runs * 1000) / (ms ?? NaN)).toFixed(1)} runs/s`;
    deps.log(`  throughput, repeat ${i + 1}/${deps.repeats}: bare ${rate(b.ms)}, reprise ${rate(r.ms)}${deps.dbos ? `, dbos ${rate(dbosMs[dbosMs.length - 1])}` : ''}`);
  }
  const side = (m: { ms: number; cpu: TCpuUse | undefined; stats: THistoryStats }[]): TSide => {
    const cpu = sumCpu(m.map((x) => x.cpu));
    return { ms: medianOf(m.map((x) => x.ms)), repeatsMs: m.map((x) => x.ms), ...(m.length ? { stats: worstOf(m.map((x) => x.stats)) as THistoryStats } : {}), ...(cpu ? { cpu } : {}) };
  };
  return {
    id: 'throughput',
    name: `throughput: ${runs} runs of ${THROUGHPUT_LEAVES} leaves, ${THROUGHPUT_CALLERS} callers`,
    unit: 'rate',
    runs,
    leaves: THROUGHPUT_LEAVES,
    target: { direction: 'min', ratio: 0.8 },
    before: '0.39× (2.8 against 7.2 runs/s)',
    bare: side(bareRuns),
    reprise: side(ours),
    ...(deps.dbos ? { dbos: { ms: medianOf(dbosMs), repeatsMs: dbosMs } } : {}),
  };
}
