// The engine part of `npm run bench`: each scenario as a user meets it (a
// goal created through POST /api/goals on the API process, its end seen
// through GET /api/goals/{id}, the real worker process running it) against
// the bare Temporal workflow a user would otherwise write (a client here
// starting it, the bare worker process running it, the result awaited),
// both doing the same leaf work: spawn `true`, insert one row through pg.
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { TPlan } from '../../src/domain/plans';
import { statsOf, treeHistoryStats, type THistoryStats } from '../../test/support/historyStats';
import type { TDbosBaseline } from './dbos';
import { pollDelay, sleep, type TApi } from './http';
import { measureCpu, sumCpu, type TCpuProcesses, type TCpuUse } from './cpu';
import { medianOf, worstOf, type TScenarioResult, type TSide, type TTarget } from './results';
import { RECORDED_POLL_MS, SETTLE_MS, wholeNumber } from './settings';

/** The leaf work's shape, which each side builds its own way. */
export type TShape = { kind: 'fanOut'; n: number } | { kind: 'chain'; n: number } | { kind: 'nested'; groups: number; n: number };

export interface TEngineScenario {
  id: string;
  name: string;
  shape: TShape;
  target: TTarget;
  before: string;
  /** Requests per repeat, sequential; the repeat's time is their p50 (1: the request's own time). */
  requests: number;
  /** Left out with BENCH_SCENARIOS=small. */
  large: boolean;
  /**
   * Reprise's end: `seen`, when a GET first shows the goal done (polled every
   * 10 ms at first); `recorded`, the root's end as GET reports it
   * (`finished_at`, written as the worker recorded it), polled every
   * RECORDED_POLL_MS. Each poll costs the API, Postgres and the bench a few ms
   * of CPU on the machine that runs the tree, where bare Temporal's wait (a
   * long poll) costs none: polled every 10 ms, a one-second fan-out spent a
   * tenth of its CPU answering them.
   */
  timedBy: 'seen' | 'recorded';
}

export const ONE_LEAF_REQUESTS = wholeNumber('BENCH_ONE_LEAF_REQUESTS', 20);

export const ENGINE_SCENARIOS: TEngineScenario[] = [
  {
    id: 'one-leaf',
    name: `one leaf, request to done (p50 of ${ONE_LEAF_REQUESTS})`,
    shape: { kind: 'fanOut', n: 1 },
    target: { direction: 'max', ratio: 1.3 },
    before: '1.9×, 2.8×, 3.1× (≈190 against ≈68 ms)',
    requests: ONE_LEAF_REQUESTS,
    large: false,
    timedBy: 'seen',
  },
  { id: 'fan-out-100', name: '100-leaf fan-out', shape: { kind: 'fanOut', n: 100 }, target: { direction: 'max', ratio: 1.3 }, before: '1.8×, 2.1×, 2.1×', requests: 1, large: false, timedBy: 'recorded' },
  { id: 'chain-20', name: '20-leaf chain', shape: { kind: 'chain', n: 20 }, target: { direction: 'max', ratio: 1.1 }, before: '1.1×, 1.06×, 1.0×', requests: 1, large: false, timedBy: 'recorded' },
  { id: 'fan-out-1000', name: '1,000-leaf fan-out', shape: { kind: 'fanOut', n: 1000 }, target: { direction: 'max', ratio: 1.2 }, before: '1.8×, 1.4× (bare 11.6 s)', requests: 1, large: true, timedBy: 'recorded' },
  {
    id: 'tree-10000',
    name: '10,000-goal tree (10x999)',
    shape: { kind: 'nested', groups: 10, n: 999 },
    target: { direction: 'max', ratio: 1.2 },
    before: 'not measured',
    requests: 1,
    large: true,
    timedBy: 'recorded',
  },
];

function leaves(n: number): TPlan['children'] {
  return Array.from({ length: n }, (_, i) => ({ key: `leaf-${i}`, kind: 'leaf' as const, title: `Leaf ${i}`, action: { runtime: 'shell' as const, command: 'true' } }));
}

/** The POST /api/goals body for a shape. */
function goalBody(shape: TShape): unknown {
  switch (shape.kind) {
    case 'fanOut':
      return shape.n === 1
        ? { kind: 'leaf', title: 'Bench leaf', action: { runtime: 'shell', command: 'true' } }
        : { kind: 'composite', title: `Bench fan-out of ${shape.n}`, plan: { children: leaves(shape.n), edges: [] } };
    case 'chain':
      return {
        kind: 'composite',
        title: `Bench chain of ${shape.n}`,
        plan: { children: leaves(shape.n), edges: Array.from({ length: shape.n - 1 }, (_, i) => ({ from: `leaf-${i}`, to: `leaf-${i + 1}`, on: 'succeeded' })) },
      };
    case 'nested':
      return {
        kind: 'composite',
        title: `Bench tree of ${shape.groups}x${shape.n}`,
        plan: { children: Array.from({ length: shape.groups }, (_, g) => ({ key: `group-${g}`, kind: 'composite', title: `Group ${g}`, plan: { children: leaves(shape.n), edges: [] } })), edges: [] },
      };
  }
}

const ZGoalSeen = z.object({ id: z.string(), lifecycle: z.string(), failure_reason: z.string().nullable().optional(), finished_at: z.string().nullable().optional() });
const TERMINAL = new Set(['done', 'failed', 'cancelled']);
/** A scenario that has not ended by then has hung. */
const SCENARIO_DEADLINE_MS = 30 * 60_000;

interface TMeasured {
  ms: number;
  stats?: THistoryStats;
  cpu?: TCpuUse;
}

export interface TEngineDeps {
  api: TApi;
  temporal: Client;
  bareTaskQueue: string;
  repeats: number;
  dbos?: TDbosBaseline;
  /** The processes each side's CPU is read by (cpu.ts). */
  processes: { reprise: TCpuProcesses; bare: TCpuProcesses };
  log(line: string): void;
}

/** The leaves one request of a shape runs. */
function leavesOf(shape: TShape): number {
  return shape.kind === 'nested' ? shape.groups * shape.n : shape.n;
}

export function createEngineBench(deps: TEngineDeps) {
  const { api, temporal } = deps;

  /** One request: POST /api/goals, then GET /api/goals/{id} until its lifecycle ends; `done` or it throws. */
  async function reprise(shape: TShape, timedBy: TEngineScenario['timedBy']): Promise<{ ms: number; goalId: string }> {
    const startedAt = Date.now();
    const started = performance.now();
    const res = await api.call('POST', '/api/goals', goalBody(shape));
    if (res.status !== 201) throw new Error(`POST /api/goals: ${res.status} ${JSON.stringify(res.body)}`);
    const { id } = ZGoalSeen.parse(res.body);
    for (;;) {
      const elapsed = performance.now() - started;
      await sleep(timedBy === 'seen' ? pollDelay(elapsed) : Math.max(RECORDED_POLL_MS, pollDelay(elapsed)));
      const seen = await api.call('GET', `/api/goals/${id}`);
      if (seen.status !== 200) throw new Error(`GET /api/goals/${id}: ${seen.status} ${JSON.stringify(seen.body)}`);
      const goal = ZGoalSeen.parse(seen.body);
      if (TERMINAL.has(goal.lifecycle)) {
        if (goal.lifecycle !== 'done') throw new Error(`goal ${id} ended ${goal.lifecycle}: ${goal.failure_reason}`);
        if (timedBy === 'seen') return { ms: performance.now() - started, goalId: id };
        const recorded = goal.finished_at ? Date.parse(goal.finished_at) - startedAt : NaN;
        if (!Number.isFinite(recorded)) throw new Error(`goal ${id} is done without a finished_at`);
        return { ms: recorded, goalId: id };
      }
      if (elapsed > SCENARIO_DEADLINE_MS) throw new Error(`goal ${id} still ${goal.lifecycle} after ${SCENARIO_DEADLINE_MS / 60_000} min`);
    }
  }

  let bareIds = 0;
  /** One request: start the bare workflow, wait for its result. */
  async function bare(shape: TShape): Promise<{ ms: number; workflowIds: string[] }> {
    const workflowId = `bare-${shape.kind}-${++bareIds}`;
    const started = performance.now();
    if (shape.kind === 'nested') {
      await temporal.workflow.execute('bareNested', { taskQueue: deps.bareTaskQueue, workflowId, args: [shape.groups, shape.n] });
    } else {
      await temporal.workflow.execute(shape.kind === 'chain' ? 'bareChain' : 'bareFanOut', { taskQueue: deps.bareTaskQueue, workflowId, args: [shape.n] });
    }
    const ms = performance.now() - started;
    return { ms, workflowIds: shape.kind === 'nested' ? [workflowId, ...Array.from({ length: shape.groups }, (_, g) => `${workflowId}-g${g}`)] : [workflowId] };
  }

  const bareStats = async (ids: string[]): Promise<THistoryStats> => statsOf(await Promise.all(ids.map((id) => temporal.workflow.getHandle(id).fetchHistory())));

  /** A repeat: `requests` sequential requests, timed as their median; stats over all of them (read after the timing). */
  async function repeat(s: TEngineScenario, processes: TCpuProcesses, one: () => Promise<{ ms: number; stats: () => Promise<THistoryStats> }>): Promise<TMeasured> {
    const times: number[] = [];
    const stats: (() => Promise<THistoryStats>)[] = [];
    // Each side's batch starts from a settled server (SETTLE_MS).
    await sleep(SETTLE_MS);
    const cpu = measureCpu(processes);
    for (let i = 0; i < s.requests; i++) {
      const r = await one();
      times.push(r.ms);
      stats.push(r.stats);
    }
    const used = cpu(s.requests);
    const all: THistoryStats[] = [];
    for (const read of stats) all.push(await read());
    return { ms: medianOf(times), stats: worstOf(all), ...(used ? { cpu: used } : {}) };
  }

  const side = (measured: TMeasured[]): TSide => {
    const cpu = sumCpu(measured.map((m) => m.cpu));
    return {
      ms: medianOf(measured.map((m) => m.ms)),
      repeatsMs: measured.map((m) => m.ms),
      ...(measured.some((m) => m.stats) ? { stats: worstOf(measured.flatMap((m) => (m.stats ? [m.stats] : []))) } : {}),
      ...(cpu ? { cpu } : {}),
    };
  };

  return {
    /** Bundles loaded, caches and pools filled, on every side. */
    async warmUp(): Promise<void> {
      const shape: TShape = { kind: 'fanOut', n: 1 };
      for (let i = 0; i < 3; i++) {
        await reprise(shape, 'seen');
        await bare(shape);
        if (deps.dbos) await deps.dbos.run(shape);
      }
    },

    async run(s: TEngineScenario): Promise<TScenarioResult> {
      const bareRuns: TMeasured[] = [];
      const ours: TMeasured[] = [];
      const dbosRuns: TMeasured[] = [];
      for (let i = 0; i < deps.repeats; i++) {
        // Alternated, so drift on the machine touches each side alike.
        bareRuns.push(
          await repeat(s, deps.processes.bare, async () => {
            const r = await bare(s.shape);
            return { ms: r.ms, stats: () => bareStats(r.workflowIds) };
          }),
        );
        ours.push(
          await repeat(s, deps.processes.reprise, async () => {
            const r = await reprise(s.shape, s.timedBy);
            return { ms: r.ms, stats: () => treeHistoryStats(temporal, r.goalId) };
          }),
        );
        if (deps.dbos) {
          const times: number[] = [];
          for (let k = 0; k < s.requests; k++) times.push(await deps.dbos.run(s.shape));
          dbosRuns.push({ ms: medianOf(times) });
        }
        const last = (m: TMeasured[]): string => `${((m[m.length - 1]?.ms ?? NaN) / 1000).toFixed(2)} s`;
        deps.log(`  ${s.name}, repeat ${i + 1}/${deps.repeats}: bare ${last(bareRuns)}, reprise ${last(ours)}${deps.dbos ? `, dbos ${last(dbosRuns)}` : ''}`);
      }
      return {
        id: s.id,
        name: s.name,
        unit: 'time',
        leaves: leavesOf(s.shape),
        target: s.target,
        before: s.before,
        bare: side(bareRuns),
        reprise: side(ours),
        ...(deps.dbos ? { dbos: side(dbosRuns) } : {}),
      };
    },
  };
}
