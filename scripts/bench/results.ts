// What `npm run bench` measured, as data: the console tables and
// docs/PERFORMANCE.md (report.ts) are both rendered from it.
import type { THistoryStats } from '../../test/support/historyStats';
import type { TCpuUse } from './cpu';

/** One side of a scenario (Reprise, bare Temporal, DBOS): the median of its repeats, and the worst history and task over all of them. */
export interface TSide {
  /** Median over repeats of the measured time (one leaf: of each repeat's p50; throughput: the wall time of the batch). */
  ms: number;
  /** Every repeat's time, in the order run. */
  repeatsMs: number[];
  /** Longest history, slowest workflow task, activity queue and run times, over every repeat. */
  stats?: THistoryStats;
  /** The CPU its timed requests used, by process, summed over every repeat (cpu.ts). */
  cpu?: TCpuUse;
}

export interface TTarget {
  /** `max`: the ratio must stay at or under `ratio` (times); `min`: at or over (throughput). */
  direction: 'max' | 'min';
  ratio: number;
}

export interface TScenarioResult {
  id: string;
  name: string;
  /** `time`: the ratio is Reprise's time over bare Temporal's; `rate`: Reprise's runs/s over bare's. */
  unit: 'time' | 'rate';
  /** Throughput: runs per batch (for runs/s). */
  runs?: number;
  /** Leaves one request (throughput: one run) runs, for the CPU per leaf. */
  leaves?: number;
  target: TTarget;
  /** The measured ratio before this work (issue 19), as text. */
  before: string;
  bare: TSide;
  reprise: TSide;
  dbos?: TSide;
}

export interface TInstantiationRow {
  goals: number;
  composites: number;
  /** Median pg baseline, ms. */
  pgMs: number;
  /** Median Reprise materialization (POST to ledger `materialized`), ms. */
  repriseMs: number;
  /** The POST's own time in that run. */
  requestMs: number;
  /** The run's own executions: events, slowest workflow task. */
  runEvents: number;
  maxTaskMs: number;
  slowest?: string;
}

export interface TReplayRow {
  goals: number;
  healthP50: number;
  healthP95: number;
  replayP50: number;
  replayP95: number;
}

export interface TInstantiationResult {
  plans: TInstantiationRow[];
  replays: TReplayRow[];
}

/** Machine CPU and wall time per start, ms. */
export interface TStartCost {
  cpuMs: number;
  wallMs: number;
}

/** What starting a command costs (scripts/bench/spawnCost.ts, `BENCH_SPAWN_JSON=1`): starts measured, the ballast they were made from, each way's cost. */
export interface TSpawnCost {
  starts: number;
  rssMb: number;
  bare: TStartCost;
  launcherDirect: TStartCost;
  helper: TStartCost;
}

export interface TMachine {
  date: string;
  cpu: string;
  cores: number;
  ramGb: number;
  node: string;
  temporal: string;
  postgres: string;
  dbos: string;
  /** Load average (1 min) when the bench started and when it ended. */
  loadStart: number;
  loadEnd: number;
  /** What starting a leaf's command cost, measured first (`npm run bench:spawn`); absent in results recorded before it was. */
  starts?: TSpawnCost;
  commit: string;
}

export interface TBenchResult {
  machine: TMachine;
  repeats: number;
  small: boolean;
  parts: string[];
  /** BENCH_ONLY: the engine scenarios run, when not all. */
  only?: string[];
  workerSettings: { activities: number; workflowTasks: number; cachedWorkflows: number; heapMb: number; poolSize: number };
  /** BENCH_SETTLE_MS and BENCH_RECORDED_POLL_MS as the run had them (absent from runs made before they existed: no settle, polls at most ten a second). */
  settleMs?: number;
  recordedPollMs?: number;
  scenarios: TScenarioResult[];
  instantiation?: TInstantiationResult;
  /** Why DBOS was left out, when it was. */
  dbosNote?: string;
  minutes: number;
}

export function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** The worst of several runs' stats: longest history, slowest task; activity and workflow-task means weighted by count. */
export function worstOf(all: THistoryStats[]): THistoryStats | undefined {
  if (!all.length) return undefined;
  const out: THistoryStats = { executions: 0, activities: { count: 0, meanQueueMs: 0, meanRunMs: 0 }, totalEvents: 0, maxEvents: 0, maxBytes: 0, maxTaskMs: 0 };
  let queue = 0;
  let run = 0;
  const tasks = { count: 0, queue: 0, run: 0 };
  for (const s of all) {
    if (s.workflowTasks) {
      tasks.count += s.workflowTasks.count;
      tasks.queue += s.workflowTasks.meanQueueMs * s.workflowTasks.count;
      tasks.run += s.workflowTasks.meanRunMs * s.workflowTasks.count;
    }
    out.executions = Math.max(out.executions, s.executions);
    out.totalEvents = Math.max(out.totalEvents, s.totalEvents);
    out.maxEvents = Math.max(out.maxEvents, s.maxEvents);
    out.maxBytes = Math.max(out.maxBytes, s.maxBytes);
    if (s.maxTaskMs >= out.maxTaskMs) {
      out.maxTaskMs = s.maxTaskMs;
      if (s.slowest) out.slowest = s.slowest;
    }
    out.activities.count += s.activities.count;
    queue += s.activities.meanQueueMs * s.activities.count;
    run += s.activities.meanRunMs * s.activities.count;
  }
  if (out.activities.count) {
    out.activities.meanQueueMs = Math.round(queue / out.activities.count);
    out.activities.meanRunMs = Math.round(run / out.activities.count);
  }
  if (tasks.count) out.workflowTasks = { count: tasks.count, meanQueueMs: Math.round((tasks.queue / tasks.count) * 10) / 10, meanRunMs: Math.round((tasks.run / tasks.count) * 10) / 10 };
  return out;
}

/** The reported ratio: time scenarios Reprise/bare (lower is better), rate scenarios Reprise's runs/s over bare's (higher is better). */
export function ratioOf(s: Pick<TScenarioResult, 'unit'>, ours: TSide, bare: TSide): number {
  return s.unit === 'time' ? ours.ms / bare.ms : bare.ms / ours.ms;
}

export function meetsTarget(target: TTarget, ratio: number): boolean {
  return target.direction === 'max' ? ratio <= target.ratio : ratio >= target.ratio;
}
