import { Client, Connection } from '@temporalio/client';
import { randomInt } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TCluster } from './cluster';
import { readMarkers } from './cluster';

/**
 * What every fault scenario shares: its sizes (reduced by default, the
 * issue's with FAULTS_SCALE=full), a seeded PRNG for kill moments, the HTTP
 * calls a patient client makes, the tally of runs and leaf executions, and
 * the summary each scenario prints and records for docs/RELIABILITY.md.
 */

export const FULL = process.env.FAULTS_SCALE === 'full';
export const SCALE_NAME = FULL ? 'full' : 'reduced';

/** Sizes of each scenario, per form. The reduced form is what CI runs. */
export const SIZES = FULL
  ? {
      workerKill: { runs: 50, goals: 50 },
      twoWorkers: { rounds: 3, runs: 4, goals: 50 },
      postgres: { runs: 4, goals: 50, bigGoals: 1000 },
      temporal: { runs: 4, goals: 50 },
      apiKill: { keys: 10, concurrent: 20, rounds: 3 },
      twoApis: { keys: 10, concurrent: 10, rounds: 3, goals: 20 },
    }
  : {
      workerKill: { runs: 4, goals: 20 },
      twoWorkers: { rounds: 1, runs: 3, goals: 20 },
      postgres: { runs: 2, goals: 20, bigGoals: 300 },
      temporal: { runs: 2, goals: 20 },
      apiKill: { keys: 5, concurrent: 10, rounds: 1 },
      twoApis: { keys: 5, concurrent: 6, rounds: 1, goals: 10 },
    };

/** How long a leaf's command sleeps before it marks its work: long enough for kills to land mid-command. */
export const LEAF_SLEEP_S = 0.3;

/** The suite's seed: FAULTS_SEED reproduces a run's kill moments; each scenario derives its own stream from it. */
export const SEED = process.env.FAULTS_SEED ? Number(process.env.FAULTS_SEED) : randomInt(1, 2 ** 31 - 1);

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed: number, scenario: string): () => number {
  let a = seed >>> 0;
  for (const ch of scenario) a = (Math.imul(a ^ ch.charCodeAt(0), 2654435761) + 1) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface THttpResult {
  status: number;
  body: any;
}

/** One request to the cluster's API with its admin token; a refused or reset connection is status 0. */
export async function call(cluster: Pick<TCluster, 'apiUrl' | 'token'>, method: string, route: string, body?: unknown): Promise<THttpResult> {
  try {
    const res = await fetch(`${cluster.apiUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${cluster.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  } catch {
    return { status: 0, body: undefined };
  }
}

/**
 * POST a run as a careful client does: the same idempotency key again after a
 * lost connection, a 503 or a 5xx, until an answer (2xx or 4xx) or the
 * deadline. Returns the answers it got on the way too, and which API gave the
 * final one. With several `apiUrls` (a client behind a load balancer, or one
 * that knows every API), each attempt goes to the next of them in turn, so a
 * dead API's clients go on at another; by default every attempt goes to
 * `cluster.apiUrl`.
 */
export async function instantiate(
  cluster: Pick<TCluster, 'apiUrl' | 'token'>,
  workflowId: string,
  key: string,
  deadlineMs = 180_000,
  apiUrls: readonly string[] = [cluster.apiUrl],
): Promise<{ runId: string; created: boolean; attempts: number[]; answeredBy: string }> {
  const deadline = Date.now() + deadlineMs;
  const attempts: number[] = [];
  for (;;) {
    const apiUrl = apiUrls[attempts.length % apiUrls.length] ?? cluster.apiUrl;
    const res = await call({ apiUrl, token: cluster.token }, 'POST', `/api/workflows/${workflowId}/runs`, { idempotency_key: key, inputs: {} });
    attempts.push(res.status);
    if (res.status === 200 || res.status === 201) return { runId: res.body.run.id as string, created: res.body.created as boolean, attempts, answeredBy: apiUrl };
    if (res.status >= 400 && res.status < 500) throw new Error(`POST run ${key}: ${res.status} ${JSON.stringify(res.body)}`);
    if (Date.now() > deadline) throw new Error(`POST run ${key}: no answer by the deadline (answers ${attempts.join(', ')})`);
    await sleep(250);
  }
}

export interface TRunTally {
  completed: number;
  failed: number;
  lost: number;
  /** Runs that did not end done, with what they showed last. */
  notDone: { runId: string; status: string; reason: string | null }[];
}

/**
 * Waits until every run's status (GET /api/runs/{id}, status.status) is
 * terminal or the deadline passes. `done` is completed; any other terminal
 * status is a failure (every leaf of these plans succeeds, so only the
 * infrastructure can fail one); still not terminal at the deadline is lost.
 */
export async function awaitRuns(cluster: Pick<TCluster, 'apiUrl' | 'token'>, runIds: readonly string[], deadlineMs: number): Promise<TRunTally> {
  const deadline = Date.now() + deadlineMs;
  const last = new Map<string, { status: string; reason: string | null }>();
  const open = new Set(runIds);
  while (open.size && Date.now() < deadline) {
    for (const runId of [...open]) {
      const res = await call(cluster, 'GET', `/api/runs/${runId}`);
      if (res.status !== 200) continue;
      const status = res.body.status as { status: string; reason: string | null };
      last.set(runId, status);
      if (['done', 'failed', 'cancelled', 'skipped'].includes(status.status)) open.delete(runId);
    }
    if (open.size) await sleep(1000);
  }
  const tally: TRunTally = { completed: 0, failed: 0, lost: 0, notDone: [] };
  for (const runId of runIds) {
    const status = last.get(runId) ?? { status: 'unknown', reason: null };
    if (open.has(runId)) tally.lost += 1;
    else if (status.status === 'done') tally.completed += 1;
    else tally.failed += 1;
    if (status.status !== 'done') tally.notDone.push({ runId, ...status });
  }
  return tally;
}

/** A marker line (readMarkers): the pids that may be its worker's, and when its command ended. */
type TLine = { pids: number[]; at: number };

/**
 * Leaves whose command ran to its end more than once. A command's launcher
 * writes its exit status the moment it ends (shellCommand.ts, attemptFiles.ts),
 * so a worker that dies after a command ended but before it recorded the
 * outcome costs no second run: the next attempt reads that status. What is
 * left is the instant between the command's last act (here, the marker line)
 * and its launcher's one write, against the watchdog that kills a dead
 * worker's commands: a few microseconds, stretched only when the launcher
 * is starved of CPU at exactly that moment. A second execution whose first
 * ended within `beforeKillMs` before its worker's SIGKILL or `afterKillMs`
 * after it (the watchdog's reaction, slow under load) is counted apart
 * (`lostOutcomes`, each with the kill's distance); any other second execution
 * is a leaf executed twice (`twice`). A line that names no worker of the
 * cluster, and did not end just after a worker's kill (a helper orphaned by
 * it), is `unattributed` and fails its scenario: its kill could never be found.
 */
export function tallyLeaves(
  cluster: Pick<TCluster, 'killed' | 'workerPids'> & { effectsDir: string },
  window = { beforeKillMs: 100, afterKillMs: 1000 },
): { leaves: number; twice: string[]; lostOutcomes: string[]; unattributed: string[] } {
  const markers = readMarkers(cluster.effectsDir);
  const twice: string[] = [];
  const lostOutcomes: string[] = [];
  // The grandparent first: when it is a worker, the parent is its helper, whose pid may be a dead worker's reused.
  const workerOf = (line: TLine): number | undefined => [...line.pids].reverse().find((pid) => cluster.workerPids.has(pid));
  const workerKills = cluster.killed.filter((k) => cluster.workerPids.has(k.pid));
  const inWindow = (at: number, kill: { at: number }): boolean => at >= kill.at - window.beforeKillMs && at <= kill.at + window.afterKillMs;
  // The kills that may have cut a line's command short. A worker pid may be reused by a later worker: any kill
  // of it counts. A line naming no worker was started by a helper whose worker had just been killed (it then
  // reads init as its grandparent): the worker kills it ended just after are its candidates.
  const killsOf = (line: TLine) => {
    const worker = workerOf(line);
    return worker === undefined ? workerKills.filter((k) => line.at >= k.at && inWindow(line.at, k)) : workerKills.filter((k) => k.pid === worker);
  };
  // A line naming no worker, and no worker's kill just before it, means the process tree changed under
  // markerPlan: a re-run could then never be matched to its worker's kill.
  const unattributed = [...markers].flatMap(([goalId, lines]) =>
    lines.filter((l) => workerOf(l) === undefined && killsOf(l).length === 0).map((l) => `${goalId}: pids ${l.pids.join(' ')} at ${l.at}`),
  );
  for (const [goalId, lines] of markers) {
    if (lines.length < 2) continue;
    const excused = lines.slice(0, -1).every((line) => killsOf(line).some((kill) => inWindow(line.at, kill)));
    const described = lines.map((l) => {
      const worker = workerOf(l);
      const nearest = killsOf(l).sort((a, b) => Math.abs(a.at - l.at) - Math.abs(b.at - l.at))[0];
      const who = worker === undefined ? `pids ${l.pids.join(' ')} (a helper orphaned by a worker's kill)` : `worker pid ${worker}`;
      const when = nearest && (nearest.at >= l.at ? `${nearest.at - l.at} ms later` : `${l.at - nearest.at} ms before`);
      return `${who} at ${l.at}${when ? ` (that worker SIGKILLed ${when})` : ' (that worker was not SIGKILLed)'}`;
    });
    (excused ? lostOutcomes : twice).push(`${goalId}: ${described.join('; ')}`);
  }
  return { leaves: markers.size, twice, lostOutcomes, unattributed };
}

export interface TScenarioSummary {
  scenario: string;
  title: string;
  trials: number;
  runsCompleted: number;
  runsFailed: number;
  leavesTwice: number;
  runsLost: number;
  /** Leaves run again because a kill landed between their command's end and its outcome being kept (see tallyLeaves). */
  lostOutcomes: number;
  leaves: number;
  kills: number;
  sizes: string;
  seed: number;
  seconds: number;
  notes: string[];
}

const resultsDir = path.resolve(__dirname, '../../../.data/faults/results');

/**
 * Forgets a scenario's figures from an earlier invocation as it starts, so a
 * scenario that fails before recording leaves none behind; the others' stay,
 * so one scenario can be run again alone (`-t <name>`) into the same report.
 */
export function forgetScenario(scenario: string): void {
  rmSync(path.join(resultsDir, `${scenario}.json`), { force: true });
}

/** Prints the scenario's line and keeps its figures for the report (test/faults/support/report.ts). */
export function recordScenario(summary: TScenarioSummary): void {
  const line =
    `${summary.scenario}: trials ${summary.trials}, runs completed ${summary.runsCompleted}, runs failed ${summary.runsFailed}, ` +
    `leaves executed twice ${summary.leavesTwice}, runs lost ${summary.runsLost}` +
    ` (re-run after a kill lost the outcome: ${summary.lostOutcomes}; leaves ${summary.leaves}; kills ${summary.kills}; ${summary.sizes}; seed ${summary.seed}; ${summary.seconds.toFixed(0)} s)`;
  console.log([line, ...summary.notes.map((n) => `  ${n}`)].join('\n'));
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    path.join(resultsDir, `${summary.scenario}.json`),
    `${JSON.stringify({ ...summary, scale: SCALE_NAME, finishedAt: new Date().toISOString(), machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}` }, null, 2)}\n`,
  );
}

export { resultsDir };

/** Every tally folded into one: a scenario with rounds or trials awaits each round's runs apart. */
export function sumTallies(tallies: readonly TRunTally[]): TRunTally {
  return {
    completed: tallies.reduce((s, t) => s + t.completed, 0),
    failed: tallies.reduce((s, t) => s + t.failed, 0),
    lost: tallies.reduce((s, t) => s + t.lost, 0),
    notDone: tallies.flatMap((t) => t.notDone),
  };
}

/**
 * Runs whose tree does not hold exactly the plan's number of goals: a tree
 * written twice (or half) shows here. A run with no goal row at all counts
 * as a tree of 0 goals.
 */
export async function wrongSizedTrees(cluster: Pick<TCluster, 'prisma'>, sized: readonly { runId: string; goals: number }[]): Promise<string[]> {
  const counts = await cluster.prisma.goal.groupBy({ by: ['runId'], where: { runId: { in: sized.map((s) => s.runId) } }, _count: true });
  const byRun = new Map(counts.map((g) => [g.runId, g._count]));
  return sized.filter(({ runId, goals }) => (byRun.get(runId) ?? 0) !== goals).map(({ runId, goals }) => `${runId}: ${byRun.get(runId) ?? 0} goals, not ${goals}`);
}

/**
 * What "exactly one run per key" rests on, counted once every run ended
 * (Temporal's visibility is eventually consistent): the ledger's rows for the
 * workflow, the root goals of its runs, and its `performRun` executions.
 */
export async function countPerKey(
  cluster: Pick<TCluster, 'prisma' | 'temporalAddress'>,
  workflow: { id: string; name: string },
  runIds: readonly string[],
): Promise<{ actual: { ledger: number; perKey: boolean; roots: number; executions: number }; note: string }> {
  const ledger = await cluster.prisma.run.groupBy({ by: ['idempotencyKey'], where: { savedWorkflowId: workflow.id }, _count: true });
  const roots = await cluster.prisma.goal.count({ where: { runId: { in: [...runIds] }, parentId: null } });
  const connection = await Connection.connect({ address: cluster.temporalAddress });
  const executions = await new Client({ connection }).workflow
    .count(`WorkflowType = 'performRun' AND RepriseWorkflowName = '${workflow.name}'`)
    .finally(() => connection.close());
  return {
    actual: { ledger: ledger.length, perKey: ledger.every((l) => l._count === 1), roots, executions: executions.count },
    note: `ledger rows ${ledger.length} (max per key ${Math.max(...ledger.map((l) => l._count))}), root goals ${roots}, performRun executions ${executions.count}`,
  };
}

/** What a scenario found, beyond what every scenario counts the same way. */
export interface TScenarioOutcome {
  title: string;
  trials: number;
  sizes: string;
  /** The awaited runs: one tally, or one per round or trial. */
  runs: TRunTally | readonly TRunTally[];
  /** The scenario's own observations, listed first. */
  notes?: readonly string[];
  /** Keys that got more than one run (scenarios that share idempotency keys). */
  splitKeys?: readonly string[];
  /** Trees not written exactly once (wrongSizedTrees). */
  wrongSized?: readonly string[];
  /** Runs that should exist and never were made (a missed fire): reported as lost, checked by the scenario's own `checks`. */
  missedRuns?: number;
  /**
   * Whether a leaf re-run after a kill lost its outcome (tallyLeaves) is
   * allowed: only a worker's death can lose one, so a scenario that kills no
   * worker requires none.
   */
  lostOutcomesExcused: boolean;
  /** How many runs must have completed, when the scenario checks it. */
  completed?: number;
  /** The scenario's own figures and what they must be, checked with the common ones. */
  checks?: { actual: Record<string, unknown>; expected: Record<string, unknown> };
}

export interface TScenario {
  cluster: TCluster;
  /** The scenario's own seeded stream of kill moments. */
  rand: () => number;
  /** Where its leaves mark their work (markerPlan). */
  effects: string;
  /** Seconds from the scenario's start until its cluster was ready. */
  readyS: number;
  /** Tallies the leaves, prints and records the summary, and checks what every scenario must hold plus the scenario's own checks. */
  finish(outcome: TScenarioOutcome): void;
}

/**
 * Starts a scenario: forgets its earlier figures, derives its PRNG stream
 * (`stream` keeps the seeds of earlier reports reproducible), readies the
 * cluster and notes the kills so far, so `finish` counts only its own.
 */
export async function startScenario(scenario: string, stream: string, ready: () => Promise<TCluster>): Promise<TScenario> {
  forgetScenario(scenario);
  const started = Date.now();
  const rand = prng(SEED, stream);
  const cluster = await ready();
  const readyS = (Date.now() - started) / 1000;
  const killsBefore = cluster.killed.length;
  const effects = cluster.effectsFor(scenario);
  const finish = (o: TScenarioOutcome): void => {
    const tally = Array.isArray(o.runs) ? sumTallies(o.runs) : (o.runs as TRunTally);
    const leaves = tallyLeaves({ effectsDir: effects, killed: cluster.killed, workerPids: cluster.workerPids });
    recordScenario({
      scenario,
      title: o.title,
      trials: o.trials,
      runsCompleted: tally.completed,
      runsFailed: tally.failed,
      leavesTwice: leaves.twice.length,
      runsLost: tally.lost + (o.missedRuns ?? 0),
      lostOutcomes: leaves.lostOutcomes.length,
      leaves: leaves.leaves,
      kills: cluster.killed.length - killsBefore,
      sizes: o.sizes,
      seed: SEED,
      seconds: (Date.now() - started) / 1000,
      notes: [
        ...(o.notes ?? []),
        ...(o.splitKeys ?? []).map((k) => `more than one run for ${k}`),
        ...tally.notDone.map((r) => `not done: ${r.runId} ${r.status} ${r.reason ?? ''}`),
        ...leaves.twice.map((l) => `executed twice: ${l}`),
        ...leaves.lostOutcomes.map((l) => `re-run, outcome lost with its worker: ${l}`),
        ...leaves.unattributed.map((l) => `marker naming no worker of this cluster: ${l}`),
        ...(o.wrongSized ?? []).map((w) => `tree not written once: ${w}`),
      ],
    });
    const optional = (key: string, value: readonly string[] | undefined): Record<string, readonly string[]> => (value === undefined ? {} : { [key]: value });
    expect({
      ...o.checks?.actual,
      failed: tally.failed,
      lost: tally.lost,
      twice: leaves.twice,
      unattributed: leaves.unattributed,
      ...(o.lostOutcomesExcused ? {} : { lostOutcomes: leaves.lostOutcomes }),
      ...optional('splitKeys', o.splitKeys),
      ...optional('wrongSized', o.wrongSized),
    }).toEqual({
      ...o.checks?.expected,
      failed: 0,
      lost: 0,
      twice: [],
      unattributed: [],
      ...(o.lostOutcomesExcused ? {} : { lostOutcomes: [] }),
      ...optional('splitKeys', o.splitKeys && []),
      ...optional('wrongSized', o.wrongSized && []),
    });
    if (o.completed !== undefined) expect(tally.completed).toBe(o.completed);
  };
  return { cluster, rand, effects, readyS, finish };
}
