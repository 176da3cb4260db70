import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { temporal } from '@temporalio/proto';
import type { PrismaClient } from '../../src/db/client';
import type { TActor } from '../../src/domain/actor';
import { newId } from '../../src/domain/ids';
import type { TPlan } from '../../src/domain/plans';
import { isTerminalRunStatus } from '../../src/domain/runs';
import { createGoalService, type TGoalService } from '../../src/services/goals';
import { saveFrozenWorkflow } from '../support/frozenWorkflows';
import { statsOf, treeHistoryStats } from '../support/historyStats';
import { freePort } from '../support/ports';
import { authFor, http, startTestApi, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';
import { startWorkerProcess, workflowTaskLatency, type TWorkerProcess } from '../support/workerProcess';

/**
 * The engine at scale, CI-sized (the full sizes are in `npm run bench`):
 * wide layers and big trees complete with every side effect exactly once,
 * every Temporal history under 10,240 events, and workflow tasks at p99 under
 * a second (every one under the sandbox's 5 s); a long plan wait continues as new instead of growing; and a
 * 10,000-goal saved workflow materializes and runs within the same history bound
 * (`SCALE=full npm run test:scale`: the nested tree with 2,000 commands, the
 * 10,000-goal run with every one of its 9,919 leaves run).
 */

/** `SCALE=full`: the nested tree runs 2,000 commands and the 10,000-goal run every leaf (CI's form: see those tests). */
const FULL_SCALE = process.env.SCALE === 'full';

let prisma: PrismaClient;
let worker: TWorkerProcess;
let metricsUrl: string;
let api: Awaited<ReturnType<typeof startTestApi>>;
let goals: TGoalService;
let actor: TActor;
const taskQueue = uniqueTaskQueue('scale');
const effects = mkdtempSync(path.join(tmpdir(), 'reprise-scale-'));

beforeAll(async () => {
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  prisma = testPrisma();
  // The worker runs as `npm run worker` does, in its own process, with its metrics served for Prometheus.
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  metricsUrl = `http://${metricsAddress}/metrics`;
  worker = startWorkerProcess({ TEMPORAL_TASK_QUEUE: taskQueue, REPRISE_DATA_DIR: effects, WORKER_METRICS_ADDRESS: metricsAddress, LOG_LEVEL: 'warn' });
  await waitFor(async () => ((await fetch(metricsUrl).catch(() => undefined))?.ok ? true : undefined), () => `the worker to start:\n${worker.output()}`, 60_000);
  // A plan-recheck of one second and a small history limit make a plan wait cross the limit in seconds.
  api = await startTestApi(prisma, taskQueue, { engine: { planRecheckS: 1, historyLimit: 4000 } });
  goals = createGoalService({ prisma, temporal: api.temporal, taskQueue, engine: { planRecheckS: 1, historyLimit: 4000 } });
  // An agent whose stored limits allow big trees (the default agent's do not).
  const agentId = newId('agent');
  await prisma.agent.create({
    data: { id: agentId, name: agentId, ownerUserId: 'user_local', allowedRuntimes: ['shell', 'http', 'manual'], maxDepth: 4, maxChildren: 5000, maxGoals: 20_000, defaultParallelism: 100 },
  });
  actor = { userId: 'user_local', agentId };
  // Warm the worker (workflow bundle loaded, caches filled): its first tasks are start-up, not the engine.
  const warm = await goals.createGoal(actor, { kind: 'composite', title: 'Warm-up', plan: { children: appendingLeaves('warm', 3, path.join(effects, 'warm.log')), edges: [] }, start: true });
  await ended(warm.id, 60_000);
});

beforeEach(async () => {
  latencyBefore = await workflowTaskLatency(metricsUrl);
});

afterAll(async () => {
  sink.closeAllConnections();
  await new Promise((r) => sink.close(r));
  await api?.close();
  await worker?.stop();
  await prisma?.$disconnect();
});

// HTTP leaves call a counter in this process: the cheapest leaf the engine runs (no process per leaf),
// and a repeated call shows as a count of two.
const hits = new Map<string, number>();
const sink = createServer((req, res) => {
  hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
  res.writeHead(204).end();
});
let sinkUrl: string;

/** Leaves that each call the counter at `/<key>`. */
function countingLeaves(prefix: string, n: number): TPlan['children'] {
  return Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, kind: 'leaf' as const, title: `${prefix}${i}`, action: { runtime: 'http' as const, method: 'GET' as const, url: `${sinkUrl}/${prefix}${i}` } }));
}

/** The counter's calls whose path starts with `prefix`. */
function hitsUnder(prefix: string): Map<string, number> {
  return new Map([...hits].filter(([url]) => url.startsWith(prefix)));
}

/** Leaves that each append their key to one file: a duplicate run shows as a repeated line. */
function appendingLeaves(prefix: string, n: number, file: string): TPlan['children'] {
  return Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, kind: 'leaf' as const, title: `${prefix}${i}`, action: { runtime: 'shell' as const, command: `echo ${prefix}${i} >> ${file}` } }));
}

let latencyBefore: Awaited<ReturnType<typeof workflowTaskLatency>>;

/**
 * The workflow tasks the worker ran since `latencyBefore` (from the SDK's own
 * task latency histogram, whose bucket bounds include 1 s and 5 s) were fast:
 * - p99 (nearest rank) within `p99Ms` (1 s where asked): the engine's own work
 *   per activation. A bound on every task would fail on a machine that is
 *   merely busy (a GC pause, another process on the two cores, the OS
 *   scheduler can each stall one task past a second); a regression in the
 *   engine (work growing with the layer rather than with what ended) slows
 *   most of the big layer's tasks, which the p99 still catches.
 * - every task within `maxMs`, the sandbox's 5 s: past it a task is a
 *   deadlock failure, however loaded the machine.
 */
async function expectFastWorkflowTasks({ p99Ms, maxMs = 5000 }: { p99Ms?: number; maxMs?: number }): Promise<void> {
  const latency = await workflowTaskLatency(metricsUrl);
  const since = (bound: string) => (latency.buckets[bound] ?? 0) - (latencyBefore.buckets[bound] ?? 0);
  const count = latency.count - latencyBefore.count;
  expect(count).toBeGreaterThan(0);
  const report = { count, buckets: Object.fromEntries(Object.keys(latency.buckets).map((b) => [b, since(b)])) };
  if (p99Ms !== undefined) {
    // p99 ≤ bound ⇔ at least ceil(0.99 × count) tasks within it, i.e. at most floor(1%) over it.
    const allowedOver = count - Math.ceil(count * 0.99);
    expect({ overP99Bound: Math.max(0, count - since(String(p99Ms)) - allowedOver), p99Ms, ...report }).toEqual({ overP99Bound: 0, p99Ms, ...report });
  }
  expect({ overMax: count - since(String(maxMs)), maxMs, ...report }).toEqual({ overMax: 0, maxMs, ...report });
}

async function ended(id: string, timeoutMs: number) {
  return waitFor(
    async () => {
      const g = await prisma.goal.findUniqueOrThrow({ where: { id } });
      return ['done', 'failed', 'cancelled'].includes(g.lifecycle) ? g : undefined;
    },
    `goal ${id} to end`,
    timeoutMs,
  );
}

function linesOf(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

describe('the engine at scale', () => {
  it('a 2,000-wide layer with parallelism 100 completes: each leaf once, histories bounded, tasks fast', async () => {
    // HTTP leaves: the layer's walk is what is measured here, not process spawning (the nested tree below runs commands).
    const goal = await goals.createGoal(actor, { kind: 'composite', title: 'Wide layer', plan: { parallelism: 100, children: countingLeaves('layer-', 2000), edges: [] }, start: true });
    expect(await ended(goal.id, 240_000)).toMatchObject({ lifecycle: 'done', doneReason: 'accepted' });
    const calls = hitsUnder('/layer-');
    expect(calls.size).toBe(2000);
    expect([...calls.values()].filter((n) => n !== 1)).toEqual([]);
    expect(await prisma.goal.count({ where: { rootId: goal.id, lifecycle: 'done' } })).toBe(2001);
    const stats = await treeHistoryStats(api.temporal, goal.id);
    // The layer's events pass the history limit, so the walk continued as new at least once.
    expect(stats.executions).toBeGreaterThan(1);
    expect(stats.maxEvents).toBeLessThan(10_240);
    await expectFastWorkflowTasks({ p99Ms: 1000 });
  }, 300_000);

  it('a nested tree (20 composites of commands) completes: each command once, histories bounded', async () => {
    // 20 x 25 commands in CI's form (each a process or two: the cost here is spawning), 20 x 100 with SCALE=full.
    const perGroup = FULL_SCALE ? 100 : 25;
    const file = path.join(effects, 'nested.log');
    const plan: TPlan = {
      children: Array.from({ length: 20 }, (_, g) => ({ key: `g${g}`, kind: 'composite' as const, title: `Group ${g}`, plan: { children: appendingLeaves(`g${g}-`, perGroup, file), edges: [] } })),
      edges: [],
    };
    const goal = await goals.createGoal(actor, { kind: 'composite', title: 'Nested tree', plan, start: true });
    expect(await ended(goal.id, 240_000)).toMatchObject({ lifecycle: 'done' });
    const lines = linesOf(file);
    expect(lines).toHaveLength(20 * perGroup);
    expect(new Set(lines).size).toBe(20 * perGroup);
    const stats = await treeHistoryStats(api.temporal, goal.id);
    expect(stats.executions).toBeGreaterThanOrEqual(21);
    expect(stats.maxEvents).toBeLessThan(10_240);
    await expectFastWorkflowTasks({ p99Ms: 1000 });
  }, 300_000);

  it('a completion storm: manual leaves completed by 50 concurrent callers are all done, none lost or applied twice', async () => {
    const n = Number(process.env.SCALE_STORM_LEAVES ?? 500);
    const children = Array.from({ length: n }, (_, i) => ({ key: `m${i}`, kind: 'leaf' as const, title: `Manual ${i}`, action: { runtime: 'manual' as const } }));
    const goal = await goals.createGoal(actor, { kind: 'composite', title: 'Completion storm', plan: { parallelism: 100, children, edges: [] }, start: true });
    const statuses: Record<number, number> = {};
    const completed = new Set<string>();
    let busy = 0;
    const deadline = Date.now() + 300_000;
    let finished = false;
    // One poller finds waiting leaves (as a UI would list them) and hands each out once; 50 callers complete them
    // concurrently, backing off as Retry-After says when Temporal is busy. Some leaves are handed out twice on
    // purpose (a retried request from a second caller): it must not be applied twice.
    const queue: { id: string; key: string | null }[] = [];
    const handedOut = new Map<string, number>();
    let polling = true;
    const poller = (async () => {
      while (polling && Date.now() < deadline) {
        const root = await prisma.goal.findUniqueOrThrow({ where: { id: goal.id }, select: { lifecycle: true } });
        finished = ['done', 'failed', 'cancelled'].includes(root.lifecycle);
        const waiting = await prisma.goal.findMany({ where: { parentId: goal.id, waitingFor: 'completion' }, select: { id: true, key: true } });
        for (const leaf of waiting) {
          const times = handedOut.get(leaf.id) ?? 0;
          if (times === 0 || (times === 1 && leaf.key?.endsWith('7'))) {
            handedOut.set(leaf.id, times + 1);
            queue.push(leaf);
          }
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const caller = async (): Promise<void> => {
      while (!finished && Date.now() < deadline) {
        const leaf = queue.shift();
        if (!leaf) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        for (;;) {
          const res = await fetch(`${api.url}/api/goals/${leaf.id}/complete`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...authFor(api.url) },
            body: JSON.stringify({ outcome: 'succeeded', output: { key: leaf.key } }),
          });
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status === 429 || res.status === 503) {
            busy += 1;
            expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
            await new Promise((r) => setTimeout(r, 200));
            continue;
          }
          if (res.status === 200) completed.add(leaf.id);
          // 409 GOAL_ENDED: an earlier attempt (an answer lost to a deadline, or a second caller) already completed it.
          break;
        }
      }
    };
    await Promise.all(Array.from({ length: 50 }, () => caller()));
    polling = false;
    await poller;
    expect(finished).toBe(true);
    expect(await ended(goal.id, 120_000)).toMatchObject({ lifecycle: 'done' });
    console.log(`completion storm: ${n} leaves, statuses ${JSON.stringify(statuses)}, ${busy} busy answers`);
    // Never a 500: a caller only ever saw success, "busy, retry", or (a stale list) "not waiting".
    expect(Object.keys(statuses).filter((s) => !['200', '409', '429', '503'].includes(s))).toEqual([]);
    const leaves = await prisma.goal.findMany({ where: { parentId: goal.id }, select: { key: true, lifecycle: true, output: true } });
    expect(leaves.filter((l) => l.lifecycle === 'done')).toHaveLength(n);
    for (const l of leaves) expect(l.output).toEqual({ key: l.key });
    expect(await prisma.goalCompletion.count({ where: { goal: { parentId: goal.id } } })).toBe(0);
    const stats = await treeHistoryStats(api.temporal, goal.id);
    expect(stats.maxEvents).toBeLessThan(10_240);
    // The storm saturates this 2-core machine (the API, 50 callers, Temporal, Postgres and the worker at
    // once; Temporal answers some callers 429/503), and a few tasks wait for CPU past 1 s (at most 2 of
    // ~180 measured, all under 2.5 s at 500 leaves). What must never happen is a task reaching the sandbox's 5 s.
    await expectFastWorkflowTasks({ maxMs: 5000 });
    console.log(`completion storm: ${stats.executions} runs, max ${stats.maxEvents} events`);
  }, 400_000);

  it('a composite waiting for its plan continues as new instead of growing its history, then runs the plan', async () => {
    const tinyLimit = { planRecheckS: 1, historyLimit: 60 };
    const waiting = createGoalService({ prisma, temporal: api.temporal, taskQueue, engine: tinyLimit });
    const goal = await waiting.createGoal(actor, { kind: 'composite', title: 'Waits for a plan', start: true });
    // Each recheck adds about ten events: past 60, the wait carries on in a fresh run.
    await waitFor(async () => {
      const runs = await treeHistoryStats(api.temporal, goal.id);
      return runs.executions >= 3 ? runs : undefined;
    }, 'the plan wait to continue as new twice', 60_000);
    const file = path.join(effects, 'late.log');
    await waiting.installPlan(actor, goal.id, { children: appendingLeaves('late', 3, file), edges: [] });
    expect(await ended(goal.id, 60_000)).toMatchObject({ lifecycle: 'done' });
    expect(linesOf(file).sort()).toEqual(['late0', 'late1', 'late2']);
    const stats = await treeHistoryStats(api.temporal, goal.id);
    expect(stats.maxEvents).toBeLessThan(200);
  }, 120_000);
});

const { EventType } = temporal.api.enums.v1;

function eventMs(e: temporal.api.history.v1.IHistoryEvent | undefined): number {
  return Number(e?.eventTime?.seconds ?? 0) * 1000 + Math.floor((e?.eventTime?.nanos ?? 0) / 1e6);
}

function goalsIn(plan: TPlan | null | undefined): number {
  return (plan?.children ?? []).reduce((n, c) => n + 1 + (c.kind === 'composite' ? goalsIn(c.plan) : 0), 0);
}

let latencyByTypeBefore: Record<string, Record<string, number>> = {};

/** The worker's workflow task latency histogram (ms) by workflow type: bucket bound → count. */
async function taskLatencyByType(): Promise<Record<string, Record<string, number>>> {
  const text = await (await fetch(metricsUrl)).text();
  const byType: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n')) {
    const m = /^temporal_workflow_task_execution_latency_bucket\{(.*)\} (\d+)/.exec(line);
    const type = m && /workflow_type="([^"]+)"/.exec(m[1] as string)?.[1];
    const le = m && /le="([^"]+)"/.exec(m[1] as string)?.[1];
    if (!m || !type || !le) continue;
    byType[type] = { ...byType[type], [le]: (byType[type]?.[le] ?? 0) + Number(m[2]) };
  }
  return byType;
}

/** Workflow tasks the worker measured over `boundMs` since this test began, by workflow type. */
async function tasksOver(boundMs: number): Promise<Record<string, number>> {
  const now = await taskLatencyByType();
  const over = (b: Record<string, number> | undefined) => (b?.['+Inf'] ?? 0) - (b?.[String(boundMs)] ?? 0);
  return Object.fromEntries(Object.keys(now).map((type) => [type, over(now[type]) - over(latencyByTypeBefore[type])]));
}

describe('a saved workflow at scale', () => {
  beforeEach(async () => {
    latencyByTypeBefore = await taskLatencyByType();
  });

  it('a 10,000-goal frozen plan instantiates and completes: each goal once, only ids in histories, none over 10,240 events', async () => {
    // One 1,999-leaf layer (one layer's materialization in one batch, and a walk long enough to continue as new)
    // beside 80 composites of 99 leaves: 1 + 1,999 + 80 × (1 + 99) = 10,000 goals under the run's root.
    // In CI's form each small composite runs its first leaf and skips the other 98 (an edge on `failed` from the
    // first): every goal is still materialized and ended, and the 2,079 leaves that run are what CI can afford.
    // SCALE=full runs all 9,919 leaves.
    const composite = (key: string, n: number, skipAfterFirst: boolean) => ({
      key,
      kind: 'composite' as const,
      title: key,
      plan: { children: countingLeaves(`${key}-`, n), edges: skipAfterFirst ? Array.from({ length: n - 1 }, (_, i) => ({ from: `${key}-0`, to: `${key}-${i + 1}`, on: 'failed' as const })) : [] },
    });
    const plan: TPlan = { children: [composite('wide', 1999, false), ...Array.from({ length: 80 }, (_, g) => composite(`g${g}`, 99, !FULL_SCALE))], edges: [] };
    expect(goalsIn(plan)).toBe(10_000);
    // Saved straight through the database: the API's save would first need an accepted live tree of the same size.
    const workflow = await saveFrozenWorkflow(prisma, { agentId: actor.agentId, name: `scale-frozen-${randomBytes(4).toString('hex')}`, title: 'Ten thousand goals', plan });
    const planBytes = Buffer.byteLength(JSON.stringify(workflow.frozenPlan));

    const started = Date.now();
    const created = await http('POST', `${api.url}/api/workflows/${workflow.id}/runs`, { idempotency_key: 'scale-1', inputs: {} });
    expect(created.status).toBe(201);
    const runId: string = created.body.run.id;
    // The same key again while it materializes: the same run, nothing started twice.
    const replayed = await http('POST', `${api.url}/api/workflows/${workflow.id}/runs`, { idempotency_key: 'scale-1', inputs: {} });
    expect([replayed.status, replayed.body.run.id, replayed.body.created]).toEqual([200, runId, false]);
    // A poll once a second: this run saturates both cores, and a tighter poll would only compete with it.
    const deadline = started + 420_000;
    let run = created.body.run;
    while (!isTerminalRunStatus(run.status.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      run = (await http('GET', `${api.url}/api/runs/${runId}`)).body;
    }
    const totalMs = Date.now() - started;
    expect({ state: run.state, status: run.status }).toMatchObject({ state: 'materialized', status: { status: 'done' } });

    const rootId: string = run.root_goal_id;
    expect(await prisma.goal.count({ where: { runId } })).toBe(10_001);
    expect(await prisma.goal.count({ where: { runId, lifecycle: 'done' } })).toBe(10_001);
    expect(await prisma.goal.count({ where: { rootId } })).toBe(10_001);
    // Ids derive from (parent, key): a second writer of any layer would show as a key twice under one parent.
    const twice = await prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM (SELECT 1 FROM goals WHERE run_id = ${runId} GROUP BY parent_id, key HAVING count(*) > 1) d`;
    expect(Number(twice[0]?.n)).toBe(0);
    const byDepth = await prisma.goal.groupBy({ by: ['depth'], where: { runId }, _count: { _all: true }, orderBy: { depth: 'asc' } });
    expect(byDepth.map((d) => [d.depth, d._count._all])).toEqual([[0, 1], [1, 81], [2, 9919]]);
    // Each leaf that ran called the counter once; in CI's form the rest were skipped, never run.
    expect(hitsUnder('/g').size + hitsUnder('/wide-').size).toBe(FULL_SCALE ? 9919 : 1999 + 80);
    expect([...hitsUnder('/g').values(), ...hitsUnder('/wide-').values()].filter((n) => n !== 1)).toEqual([]);
    expect(await prisma.goal.count({ where: { runId, doneReason: 'skipped' } })).toBe(FULL_SCALE ? 0 : 80 * 98);

    // Every execution of the run: the run's own workflow (search attributes name the run's root goal too),
    // the root's and each composite's pursueGoal, every continue-as-new run of each.
    const executions: { workflowId: string; type: string; history: temporal.api.history.v1.IHistory }[] = [];
    for await (const e of api.temporal.workflow.list({ query: `RepriseRootGoalId = '${rootId}'` })) {
      executions.push({ workflowId: e.workflowId, type: e.type, history: await api.temporal.workflow.getHandle(e.workflowId, e.runId).fetchHistory() });
    }
    const composites = await prisma.goal.findMany({ where: { runId, kind: 'composite' }, select: { key: true, temporalWorkflowId: true } });
    expect(composites).toHaveLength(82);
    expect(new Set(executions.map((e) => e.workflowId))).toEqual(new Set([run.temporal.workflow_id, ...composites.map((c) => c.temporalWorkflowId)]));
    const runExecutions = executions.filter((e) => e.workflowId === run.temporal.workflow_id);
    expect(runExecutions.every((e) => e.type === 'performRun')).toBe(true);
    const stats = statsOf(executions.map((e) => e.history));
    expect(stats.maxEvents).toBeLessThanOrEqual(10_240);
    // The wide layer's walk passed the history limit and continued as new.
    const wide = composites.find((c) => c.key === 'wide')?.temporalWorkflowId;
    expect(executions.filter((e) => e.workflowId === wide).length).toBeGreaterThan(1);
    // The plan (over a megabyte) never crossed a history: the run's workflow passed goal ids to its activities.
    const runStats = statsOf(runExecutions.map((e) => e.history));
    expect(runStats.maxBytes).toBeLessThan(planBytes / 10);

    // Materialization: from the run's start to the root goal's start, by the server's clock.
    const runEvents = runExecutions.flatMap((e) => e.history.events ?? []);
    const begun = Math.min(...runEvents.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED).map(eventMs));
    const rootStart = runEvents.find((e) => e.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED);
    expect(rootStart?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId).toBe(composites.find((c) => c.key === null)?.temporalWorkflowId);
    const rootStarted = eventMs(rootStart);
    const largest = executions.reduce((a, b) => ((b.history.events?.length ?? 0) > (a.history.events?.length ?? 0) ? b : a));
    console.log(
      `10,000-goal run: materialized in ${((rootStarted - begun) / 1000).toFixed(1)} s (${runStats.executions} performRun execution(s), ` +
        `max ${runStats.maxEvents} events / ${runStats.maxBytes} bytes, for a plan of ${planBytes} bytes); done in ${(totalMs / 1000).toFixed(1)} s.\n` +
        `${stats.executions} executions, max ${stats.maxEvents} events (${largest.type} ${largest.workflowId}), max ${stats.maxBytes} bytes; ` +
        `slowest workflow task ${stats.maxTaskMs} ms (${stats.slowest?.workflowId ?? '-'}, event ${stats.slowest?.eventId ?? '-'}); ` +
        `${stats.activities.count} activities, mean queue ${stats.activities.meanQueueMs} ms + run ${stats.activities.meanRunMs} ms`,
    );
    // A plan this size is written by regular activities (materializeLayers), so no workflow task waits on Postgres:
    // the run's tasks, like the tree's, are held to the sandbox's 5 s (like the storm, 10,000 leaves saturate both cores).
    const slowTasks = await tasksOver(5000);
    expect(Object.keys(slowTasks).filter((type) => slowTasks[type])).toEqual([]);
    console.log(`worker: workflow tasks over 1 s by type ${JSON.stringify(await tasksOver(1000))}, over 5 s ${JSON.stringify(slowTasks)}`);
  }, 480_000);
});
