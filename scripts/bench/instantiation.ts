// The instantiation part of `npm run bench`: how fast a run materializes a
// frozen plan, against inserting the same goal rows straight through `pg`,
// and how long a replayed idempotency key takes against GET /healthz. Both
// baselines are measured in the same run, on the same Postgres, through
// the API process and against the worker process `npm run bench` started.
//
// The frozen plans are saved directly (a save through the API needs an
// accepted live tree, and building one is not what is measured). Their
// leaves are manual and every plan runs one child at a time, so once a run
// is materialized its tree only waits; it is cancelled before the next
// measurement.
import type { Client } from '@temporalio/client';
import { createApi, sleep } from './http';
import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import type { Prisma, PrismaClient } from '../../src/db/client';
import { planRows } from '../../src/db/planRows';
import { GOAL_COLUMNS } from '../../src/db/runs';
import { LOCAL_ACTOR } from '../../src/domain/actor';
import { createTokenDirect } from '../../src/services/tokens';
import { isTerminal } from '../../src/domain/goals';
import { goalTemporalWorkflowId, newId } from '../../src/domain/ids';
import type { TPlan } from '../../src/domain/plans';
import { withTimeout } from '../../src/lib/withTimeout';
import { saveFrozenWorkflow } from '../../test/support/frozenWorkflows';
import { historiesOf, statsOf, type THistoryStats } from '../../test/support/historyStats';
import { medianOf, percentile, type TInstantiationResult, type TInstantiationRow, type TReplayRow } from './results';

/** A frozen plan of `goals` goals under its root: `composites` composites of equal leaves (or only leaves). */
interface TSize {
  goals: number;
  composites: number;
}

const SIZES: TSize[] = [
  { goals: 10, composites: 2 },
  { goals: 100, composites: 10 },
  { goals: 1000, composites: 10 },
  { goals: 10_000, composites: 100 },
];

const AGENT_ID = 'agent_bench_runs';
/** Rows per multi-row INSERT in the pg baseline (22 columns: well under Postgres's 65,535 parameters). */
export const PG_CHUNK_ROWS = 1000;
export const REPLAYS = 200;
const WARM_UP_REQUESTS = 20;
const POLL_MS = 20;
const MATERIALIZE_DEADLINE_MS = 120_000;
const STOP_DEADLINE_MS = 60_000;

const ZRunCreated = z.object({ run: z.object({ id: z.string() }), created: z.boolean() });

export interface TInstantiationDeps {
  prisma: PrismaClient;
  pool: Pool;
  temporal: Client;
  apiUrl: string;
  repeats: number;
  small: boolean;
  log(line: string): void;
}

interface TSavedBench {
  id: string;
  version: number;
  size: TSize;
  plan: TPlan;
}

interface TMaterialized {
  ms: number;
  /** The POST's own time (claim and Temporal start), part of `ms`. */
  requestMs: number;
  /** The run's own executions (beginRun, one materializeLayer per layer, finishMaterializing), not the tree's. */
  stats: THistoryStats;
  goals: number;
  runId: string;
  key: string;
}

function frozenTree({ goals, composites }: TSize): TPlan {
  const leaves = (n: number): TPlan['children'] =>
    Array.from({ length: n }, (_, i) => ({ key: `leaf-${i}`, kind: 'leaf' as const, title: `Leaf ${i}`, action: { runtime: 'manual' as const } }));
  return {
    children: Array.from({ length: composites }, (_, g) => ({
      key: `group-${g}`,
      kind: 'composite' as const,
      title: `Group ${g}`,
      plan: { children: leaves(goals / composites - 1), edges: [], parallelism: 1 },
    })),
    edges: [],
    parallelism: 1,
  };
}



export async function benchInstantiation(deps: TInstantiationDeps): Promise<TInstantiationResult> {
  const { prisma, pool, temporal, apiUrl } = deps;
  // Every /api route needs a token: the local user's, as npm start's would be.
  const { secret } = await createTokenDirect(prisma, { user: 'local' }, { name: 'bench', scopes: ['admin'] });

  const { call } = createApi(apiUrl, secret);

  async function save(size: TSize): Promise<TSavedBench> {
    const plan = frozenTree(size);
    const saved = await saveFrozenWorkflow(prisma, {
      agentId: AGENT_ID,
      ownerUserId: LOCAL_ACTOR.userId,
      name: `bench-${size.goals}`,
      title: `Bench ${size.goals} goals`,
      description: `npm run bench: ${size.composites} composites under the root`,
      plan,
    });
    return { id: saved.id, version: saved.version, size, plan };
  }

  let keys = 0;
  /** POST to ledger `done`: the end is the row's own updated_at (set as it moved to done), so the 20 ms poll only notices it. */
  async function materialize(workflow: TSavedBench): Promise<TMaterialized> {
    const key = `bench-${++keys}`;
    const started = Date.now();
    const res = await call('POST', `/api/workflows/${workflow.id}/runs`, { idempotency_key: key, inputs: {} });
    const requestMs = Date.now() - started;
    if (res.status !== 201 || !ZRunCreated.parse(res.body).created) throw new Error(`run of ${workflow.size.goals} goals: ${res.status} ${JSON.stringify(res.body)}`);
    const runId = ZRunCreated.parse(res.body).run.id;
    for (;;) {
      const { rows } = await pool.query<{ state: string; error: string | null; updated_at: Date; root_goal_id: string | null; temporal_workflow_id: string }>(
        'SELECT state, error, updated_at, root_goal_id, temporal_workflow_id FROM workflow_runs WHERE id = $1',
        [runId],
      );
      const run = rows[0];
      const seen = Date.now();
      if (run?.state === 'materialized') {
        const ended = run.updated_at.getTime();
        const ms = ended >= started && ended <= seen ? ended - started : seen - started;
        const goals = await countRunGoals(runId);
        if (goals !== workflow.size.goals + 1) throw new Error(`run ${runId} has ${goals} goals, expected ${workflow.size.goals + 1}`);
        await stopTree(runId, run.root_goal_id as string, run.temporal_workflow_id);
        const stats = statsOf(await historiesOf(temporal, `WorkflowId = '${run.temporal_workflow_id}'`));
        return { ms: Math.max(ms, 1), requestMs, stats, goals, runId, key };
      }
      if (run?.state === 'failed') throw new Error(`run ${runId} failed: ${run.error}`);
      if (seen - started > MATERIALIZE_DEADLINE_MS) throw new Error(`run ${runId} still ${run?.state} after ${MATERIALIZE_DEADLINE_MS} ms`);
      await sleep(POLL_MS);
    }
  }

  async function countRunGoals(runId: string): Promise<number> {
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM goals WHERE run_id = $1', [runId]);
    return rows[0]?.n ?? 0;
  }

  /**
   * Cancels the run's tree and waits for its execution to close, so the next
   * measurement has the worker to itself. It first lets the tree settle (its
   * first manual leaf waiting): a cancel racing the root's opening activity
   * only adds a worker warning about a completion nobody waits for.
   */
  async function stopTree(runId: string, rootGoalId: string, temporalWorkflowId: string): Promise<void> {
    const deadline = Date.now() + STOP_DEADLINE_MS;
    for (;;) {
      const { rowCount } = await pool.query("SELECT 1 FROM goals WHERE run_id = $1 AND waiting_for = 'completion' LIMIT 1", [runId]);
      if (rowCount) break;
      if (Date.now() > deadline) throw new Error(`run ${runId}: no manual leaf waiting after ${STOP_DEADLINE_MS} ms`);
      await sleep(POLL_MS);
    }
    const res = await call('POST', `/api/goals/${rootGoalId}/cancel`);
    if (res.status !== 200 && res.status !== 409) throw new Error(`cancel of ${rootGoalId}: ${res.status} ${JSON.stringify(res.body)}`);
    await withTimeout(
      temporal.workflow
        .getHandle(temporalWorkflowId)
        .result()
        .catch(() => undefined),
      STOP_DEADLINE_MS,
      `run ${temporalWorkflowId} did not close within ${STOP_DEADLINE_MS} ms of its cancel`,
    );
    const { rows } = await pool.query<{ lifecycle: string }>('SELECT lifecycle FROM goals WHERE id = $1', [rootGoalId]);
    if (!isTerminal(rows[0]?.lifecycle ?? '')) throw new Error(`root ${rootGoalId} is ${rows[0]?.lifecycle} after its run closed`);
  }

  /**
   * The baseline: the rows planRows gives for the same plan (plus a root like
   * the run's), under a fresh root id so none collides, in multi-row INSERTs
   * in one transaction; same table, indexes and foreign keys (they name the
   * measured run and workflow). Deleted afterwards, outside the time.
   */
  async function insertThroughPg(workflow: TSavedBench, runId: string): Promise<number> {
    const rootId = newId('goal');
    const title = `Bench ${workflow.size.goals} goals`;
    const parent = {
      id: rootId,
      rootId,
      agentId: AGENT_ID,
      ownerUserId: LOCAL_ACTOR.userId,
      ownerAgentId: null,
      depth: 0,
      temporalWorkflowId: goalTemporalWorkflowId({ id: rootId, title }),
      savedWorkflowId: workflow.id,
      savedWorkflowVersion: workflow.version,
      runId,
    };
    const root: Prisma.GoalCreateManyInput = { ...parent, parentId: null, kind: 'composite', position: 0, title, intent: null, planFrozen: true };
    const { goals, edges } = planRows(parent, workflow.plan, new Date());
    if (edges.length) throw new Error('the pg baseline inserts goals only; the bench plans have no edges');
    const rows = [root, ...goals] as Record<string, unknown>[];
    // The columns planRows writes, named as src/db's raw statements name them.
    const written = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    const unmapped = written.filter((k) => !(k in GOAL_COLUMNS));
    if (unmapped.length) throw new Error(`planRows writes ${unmapped.join(', ')}, which is no goal column`);
    const fields = written as (keyof typeof GOAL_COLUMNS)[];

    const client: PoolClient = await pool.connect();
    try {
      const started = performance.now();
      await client.query('BEGIN');
      for (let at = 0; at < rows.length; at += PG_CHUNK_ROWS) {
        const chunk = rows.slice(at, at + PG_CHUNK_ROWS);
        const values = chunk.map((_, r) => `(${fields.map((_f, c) => `$${r * fields.length + c + 1}`).join(', ')})`);
        await client.query(
          `INSERT INTO goals (${fields.map((f) => GOAL_COLUMNS[f]).join(', ')}) VALUES ${values.join(', ')}`,
          chunk.flatMap((row) => fields.map((f) => row[f] ?? null)),
        );
      }
      await client.query('COMMIT');
      const ms = performance.now() - started;
      // The root's foreign key cascades to every row under it.
      await client.query('DELETE FROM goals WHERE id = $1', [rootId]);
      return ms;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async function replayLatency(workflow: TSavedBench, key: string): Promise<{ health: number[]; replay: number[] }> {
    const health: number[] = [];
    const replay: number[] = [];
    // Interleaved, so drift on the machine touches both alike.
    for (let i = 0; i < WARM_UP_REQUESTS + REPLAYS; i++) {
      let started = performance.now();
      const h = await call('GET', '/healthz');
      const healthMs = performance.now() - started;
      if (h.status !== 200) throw new Error(`GET /healthz: ${h.status} ${JSON.stringify(h.body)}`);
      started = performance.now();
      const r = await call('POST', `/api/workflows/${workflow.id}/runs`, { idempotency_key: key, inputs: {} });
      const replayMs = performance.now() - started;
      if (r.status !== 200 || ZRunCreated.parse(r.body).created) throw new Error(`replay of ${key}: ${r.status} ${JSON.stringify(r.body)}`);
      if (i >= WARM_UP_REQUESTS) {
        health.push(healthMs);
        replay.push(replayMs);
      }
    }
    return { health, replay };
  }

  // The bench agent's stored limits allow the biggest plan; its leaves are manual.
  await pool.query(
    `INSERT INTO agents (id, name, owner_user_id, allowed_runtimes, max_depth, max_children, max_goals, default_parallelism)
     VALUES ($1, 'bench-runs', $2, ARRAY['manual'], 4, 5000, 20000, 1)`,
    [AGENT_ID, LOCAL_ACTOR.userId],
  );
  const sizes = deps.small ? SIZES.filter((s) => s.goals <= 100) : SIZES;
  const workflows = [];
  for (const size of sizes) workflows.push(await save(size));

  // Warm-up: the run path's caches and pools, and the baseline's statements.
  const warm = await materialize(workflows[0] as TSavedBench);
  await insertThroughPg(workflows[0] as TSavedBench, warm.runId);

  const plans: TInstantiationRow[] = [];
  const runs = new Map<TSavedBench, TMaterialized>();
  for (const workflow of workflows) {
    const ours: TMaterialized[] = [];
    const pg: number[] = [];
    for (let i = 0; i < deps.repeats; i++) {
      const run = await materialize(workflow);
      ours.push(run);
      pg.push(await insertThroughPg(workflow, run.runId));
      runs.set(workflow, run);
    }
    const mid = [...ours].sort((x, y) => x.ms - y.ms)[Math.floor(ours.length / 2)] as TMaterialized;
    // The slowest workflow task over every repeat: the target holds each run to 1 s.
    const worst = [...ours].sort((x, y) => y.stats.maxTaskMs - x.stats.maxTaskMs)[0] as TMaterialized;
    const row: TInstantiationRow = {
      goals: mid.goals,
      composites: workflow.size.composites,
      pgMs: medianOf(pg),
      repriseMs: mid.ms,
      requestMs: mid.requestMs,
      runEvents: mid.stats.totalEvents,
      maxTaskMs: worst.stats.maxTaskMs,
      ...(worst.stats.slowest ? { slowest: worst.stats.slowest.workflowId } : {}),
    };
    plans.push(row);
    deps.log(`  instantiation of ${workflow.size.goals} goals: pg ${(row.pgMs / 1000).toFixed(3)} s, reprise ${(row.repriseMs / 1000).toFixed(3)} s, slowest task ${row.maxTaskMs} ms`);
  }

  const replays: TReplayRow[] = [];
  const replayed = workflows.length > 1 ? [workflows[0], workflows[workflows.length - 1]] : workflows;
  for (const workflow of replayed as TSavedBench[]) {
    const run = runs.get(workflow) as TMaterialized;
    const { health, replay } = await replayLatency(workflow, run.key);
    const row: TReplayRow = { goals: workflow.size.goals, healthP50: percentile(health, 50), healthP95: percentile(health, 95), replayP50: percentile(replay, 50), replayP95: percentile(replay, 95) };
    replays.push(row);
    deps.log(`  replay of a key (${workflow.size.goals} goals): p50 ${row.replayP50.toFixed(1)} ms against /healthz ${row.healthP50.toFixed(1)} ms`);
  }
  return { plans, replays };
}
