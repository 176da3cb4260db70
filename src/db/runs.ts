import type { TCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import type { TPlan } from '../domain/plans';
import { z } from '../domain/zod';
import type { Goal, Run as TRunRow } from './generated/prisma/client';
import { namedQuery, Prisma, timestampParam, TRANSACTION_OPTIONS, type PrismaClient, type TDb, type TNamedStatement } from './client';
import { insertLayers, insertPlanRows, type TNestedRun, type TPlanLayer, type TPlanParent } from './planRows';
import { parseStored } from './stored';
import { ownerWhere, type TOwner } from './workflows';

/**
 * The run ledger (SPEC §4): one row per (workflow, idempotency key), forever.
 * States move `claimed → materializing → materialized | failed` (or `skipped`), only
 * forward. The row, not Temporal, is what makes a key idempotent: Temporal
 * forgets closed executions after its retention period.
 */

/** A ledger row with its stored inputs parsed. */
export type Run = Omit<TRunRow, 'inputs'> & { inputs: Record<string, string> };

const ZRunInputs = z.record(z.string(), z.string());

/** Parses a run row's inputs once per read (any row shape that carries them). */
function runOf<R extends { id: string; inputs: TRunRow['inputs'] }>(row: R): Omit<R, 'inputs'> & { inputs: Record<string, string> } {
  return { ...row, inputs: parseStored(ZRunInputs, row.inputs, `run ${row.id}'s inputs`, 'start a new run under a new idempotency key') };
}

export type TNewRun = Pick<Prisma.RunUncheckedCreateInput, 'id' | 'savedWorkflowId' | 'idempotencyKey' | 'inputs' | 'inputsHash' | 'temporalWorkflowId'> & {
  scheduleId?: string | null;
  parentRunId?: string | null;
  /** The acting agent: whose request made the run (see the column's doc in prisma/schema.prisma). */
  requestedByAgentId?: string | null;
};

/**
 * Claims (workflow, key): inserts the ledger row unless it exists, then reads
 * it. `created` is true for exactly one of any number of racing claims.
 */
export async function claimRun(prisma: TDb, row: TNewRun): Promise<{ run: Run; created: boolean }> {
  let count: number;
  try {
    ({ count } = await prisma.run.createMany({ data: [{ ...row, state: 'claimed' }], skipDuplicates: true }));
  } catch (err) {
    // The workflow was deleted while this claim waited for its row.
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2003') throw new DomainError('NOT_FOUND', `workflow ${row.savedWorkflowId} not found`);
    throw err;
  }
  const run = await prisma.run.findUniqueOrThrow({ where: { savedWorkflowId_idempotencyKey: { savedWorkflowId: row.savedWorkflowId, idempotencyKey: row.idempotencyKey } } });
  return { run: runOf(run), created: count === 1 };
}

/** findOwnedRunByKey's row: the run's columns, its workflow's identity, its tree's state. */
interface TReplayRow {
  id: string;
  workflow_id: string;
  idempotency_key: string;
  inputs: TRunRow['inputs'];
  inputs_hash: string;
  state: Run['state'];
  root_goal_id: string | null;
  temporal_workflow_id: string;
  schedule_id: string | null;
  parent_run_id: string | null;
  requested_by_agent_id: string | null;
  error: string | null;
  number: number;
  created_at: Date;
  updated_at: Date;
  workflow_name: string;
  workflow_version: number;
  root_lifecycle: Goal['lifecycle'] | null;
  root_done_reason: Goal['doneReason'];
  root_block_reason: string | null;
  root_failure_reason: string | null;
  root_title: string | null;
  blocked_id: string | null;
  blocked_key: string | null;
  blocked_block_reason: string | null;
}

/**
 * A key seen before, as a replay answers it: the run (if the owner owns its
 * workflow), its workflow's identity and its tree's state (runTreeStates'
 * fields), in one statement: a replay is one round trip to Postgres.
 */
export async function findOwnedRunByKey(
  db: TDb,
  owner: TOwner,
  savedWorkflowId: string,
  idempotencyKey: string,
): Promise<(Run & { savedWorkflow: { name: string; version: number }; tree: TRunTreeState }) | null> {
  const rows = await db.$queryRaw<TReplayRow[]>`
    SELECT r.id, r.workflow_id, r.idempotency_key, r.inputs, r.inputs_hash, r.state::text AS state, r.root_goal_id,
           r.temporal_workflow_id, r.schedule_id, r.parent_run_id, r.requested_by_agent_id, r.error, r.number,
           r.created_at, r.updated_at, w.name AS workflow_name, w.version AS workflow_version,
           g.lifecycle::text AS root_lifecycle, g.done_reason::text AS root_done_reason, g.block_reason AS root_block_reason,
           g.failure_reason AS root_failure_reason, g.title AS root_title,
           b.id AS blocked_id, b.key AS blocked_key, b.block_reason AS blocked_block_reason
      FROM workflow_runs r
      JOIN workflows w ON w.id = r.workflow_id
       AND w.owner_user_id IS NOT DISTINCT FROM ${owner.ownerUserId}
       AND w.owner_agent_id IS NOT DISTINCT FROM ${owner.ownerAgentId}
      LEFT JOIN goals g ON g.id = r.root_goal_id
      LEFT JOIN LATERAL (
        SELECT id, key, block_reason FROM goals
         WHERE run_id = r.id AND lifecycle = 'blocked'
         ORDER BY depth, position LIMIT 1) b ON true
     WHERE r.workflow_id = ${savedWorkflowId} AND r.idempotency_key = ${idempotencyKey}`;
  const row = rows[0];
  if (!row) return null;
  const run = runOf({
    id: row.id,
    savedWorkflowId: row.workflow_id,
    idempotencyKey: row.idempotency_key,
    inputs: row.inputs,
    inputsHash: row.inputs_hash,
    state: row.state,
    rootGoalId: row.root_goal_id,
    temporalWorkflowId: row.temporal_workflow_id,
    scheduleId: row.schedule_id,
    parentRunId: row.parent_run_id,
    requestedByAgentId: row.requested_by_agent_id,
    error: row.error,
    number: row.number,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  } satisfies TRunRow);
  const root =
    row.root_goal_id && row.root_lifecycle
      ? { id: row.root_goal_id, lifecycle: row.root_lifecycle, doneReason: row.root_done_reason, blockReason: row.root_block_reason, failureReason: row.root_failure_reason, title: row.root_title as string }
      : null;
  const blocked = row.blocked_id ? { id: row.blocked_id, key: row.blocked_key, blockReason: row.blocked_block_reason } : null;
  return { ...run, savedWorkflow: { name: row.workflow_name, version: row.workflow_version }, tree: { root, blocked } };
}

export async function findRun(db: TDb, id: string): Promise<Run | null> {
  const run = await db.run.findUnique({ where: { id } });
  return run && runOf(run);
}

/** A run's root goal id, its inputs not read (failing a run whose inputs no longer read). */
export async function findRunRootGoalId(db: TDb, id: string): Promise<string | null> {
  const run = await db.run.findUnique({ where: { id }, select: { rootGoalId: true } });
  return run?.rootGoalId ?? null;
}

/** A run whose workflow the owner owns (404 otherwise), with its workflow's identity. */
export async function findOwnedRun(db: TDb, owner: TOwner, id: string): Promise<Run & { savedWorkflow: { name: string; version: number } }> {
  const run = await db.run.findFirst({ where: { id, savedWorkflow: ownerWhere(owner) }, include: { savedWorkflow: { select: { name: true, version: true } } } });
  if (!run) throw new DomainError('NOT_FOUND', `run ${id} not found`);
  return runOf(run);
}

/**
 * A page and its counts read in one snapshot (one repeatable-read batch):
 * read apart, a run written between them showed a total of 2 beside one item.
 */
const ONE_SNAPSHOT = { ...TRANSACTION_OPTIONS, isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead } as const;

/** One workflow's runs, newest first, and how many it has in all. */
export async function listRuns(prisma: PrismaClient, savedWorkflowId: string, after: TCursor | undefined, take: number): Promise<{ runs: Run[]; total: number }> {
  const [runs, total] = await prisma.$transaction([
    prisma.run.findMany({
      where: { savedWorkflowId, ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    }),
    prisma.run.count({ where: { savedWorkflowId } }),
  ], ONE_SNAPSHOT);
  return { runs: runs.map(runOf), total };
}

/** What a run's shown status is derived from: its root goal, and the first of its goals that is blocked. */
export interface TRunTreeState {
  root: Pick<Goal, 'id' | 'lifecycle' | 'doneReason' | 'blockReason' | 'failureReason' | 'title'> | null;
  blocked: Pick<Goal, 'id' | 'key' | 'blockReason'> | null;
}

/** The tree state of several runs in two queries (a page of runs, or one). */
export async function runTreeStates(prisma: PrismaClient, runs: Pick<Run, 'id' | 'rootGoalId'>[]): Promise<Map<string, TRunTreeState>> {
  const rootIds = runs.map((r) => r.rootGoalId).filter((id): id is string => id !== null);
  const [roots, blocked] = await Promise.all([
    prisma.goal.findMany({
      where: { id: { in: rootIds } },
      select: { id: true, lifecycle: true, doneReason: true, blockReason: true, failureReason: true, title: true },
    }),
    runs.length
      ? prisma.$queryRaw<{ run_id: string; id: string; key: string | null; block_reason: string | null }[]>`
          SELECT DISTINCT ON (run_id) run_id, id, key, block_reason FROM goals
           WHERE run_id = ANY(${runs.map((r) => r.id)}) AND lifecycle = 'blocked'
           ORDER BY run_id, depth, position`
      : Promise.resolve([]),
  ]);
  const rootById = new Map(roots.map((g) => [g.id, g]));
  const blockedByRun = new Map(blocked.map((b) => [b.run_id, { id: b.id, key: b.key, blockReason: b.block_reason }]));
  return new Map(runs.map((r) => [r.id, { root: (r.rootGoalId && rootById.get(r.rootGoalId)) || null, blocked: blockedByRun.get(r.id) ?? null }]));
}

/** A run tree's goals counted by lifecycle and depth (one grouped, indexed read: cheap enough to poll). */
export interface TRunProgressRow {
  lifecycle: string;
  depth: number;
  goals: number;
}

export async function runProgressRows(prisma: PrismaClient, rootGoalId: string): Promise<TRunProgressRow[]> {
  return prisma.$queryRaw<TRunProgressRow[]>`
    SELECT lifecycle::text AS lifecycle, depth, count(*)::int AS goals FROM goals WHERE root_id = ${rootGoalId} GROUP BY lifecycle, depth`;
}

/** A run root's row: everything but what the run decides at materialization. */
export type TRunRoot = Omit<Prisma.GoalCreateManyInput, 'parentId' | 'rootId' | 'kind' | 'depth'>;

/**
 * The start of materialization: creates the run's root goal unless it
 * exists (its id derives from the run id, so a retry creates nothing twice),
 * binds it to the run and moves `claimed → materializing`.
 */
export async function beginRun(prisma: PrismaClient, runId: string, root: TRunRoot | null): Promise<Run> {
  return prisma.$transaction(async (tx) => {
    if (root) {
      await tx.goal.createMany({ data: [{ ...root, parentId: null, rootId: root.id, kind: 'composite', depth: 0 }], skipDuplicates: true });
      await tx.run.updateMany({ where: { id: runId, rootGoalId: null }, data: { rootGoalId: root.id } });
    }
    await tx.run.updateMany({ where: { id: runId, state: 'claimed' }, data: { state: 'materializing' } });
    return runOf(await tx.run.findUniqueOrThrow({ where: { id: runId } }));
  }, TRANSACTION_OPTIONS);
}

/** The keys from a run's root down to one of its goals (the goal's place in the frozen plan). */
export async function keyPathFrom(db: TDb, rootGoalId: string, goalId: string): Promise<string[] | undefined> {
  const rows = await db.$queryRaw<{ id: string; parent_id: string | null; key: string | null }[]>`
    WITH RECURSIVE up AS (
      SELECT id, parent_id, key, 0 AS n FROM goals WHERE id = ${goalId}
      UNION ALL
      SELECT g.id, g.parent_id, g.key, up.n + 1 FROM goals g JOIN up ON g.id = up.parent_id WHERE up.id <> ${rootGoalId}
    ) SELECT id, parent_id, key FROM up ORDER BY n DESC`;
  if (rows[0]?.id !== rootGoalId) return undefined;
  return rows.slice(1).map((r) => r.key ?? '');
}

/** A nested run to create with a layer: its ledger row and the child goal that is its root. */
export interface TNestedRunRow {
  run: TNewRun;
  childGoalId: string;
  rows: TNestedRun;
}

/**
 * Writes one composite's layer of a run (or a live plan's rows with nested
 * runs): nested runs' ledger rows first (their roots are goals of this
 * layer), then the goals and edges through the one plan-row writer, then the
 * nested runs' roots. One transaction, holding the composite's row lock; a
 * layer already written is left as it is (`false`).
 */
export async function writeLayer(
  prisma: PrismaClient,
  parent: TPlanParent,
  layer: TPlan,
  nested: TNestedRunRow[],
  options: { layerOnly: boolean; plannedByKey?: ReadonlyMap<string, string> },
): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    const [locked] = await tx.$queryRaw<{ planned_at: Date | null }[]>`SELECT planned_at FROM goals WHERE id = ${parent.id} FOR UPDATE`;
    if (!locked || locked.planned_at !== null) return false;
    await writeNestedAndLayer(tx, parent, layer, nested, options);
    return true;
  }, TRANSACTION_OPTIONS);
}

/** The body of writeLayer, for callers already inside a transaction holding the parent's lock (a live plan install). */
export async function writeNestedAndLayer(
  tx: TDb,
  parent: TPlanParent,
  layer: TPlan,
  nested: TNestedRunRow[],
  options: { layerOnly: boolean; plannedByAgentId?: string | null; plannedByKey?: ReadonlyMap<string, string> },
): Promise<void> {
  // Each insert takes its workflow's run-number lock (a trigger, to the end of this transaction): in one order
  // (by workflow id), so two layers naming the same workflows never wait on each other in a cycle.
  const rows = nested.map((n) => ({ ...n.run, state: 'claimed' as const })).sort((a, b) => (a.savedWorkflowId < b.savedWorkflowId ? -1 : a.savedWorkflowId > b.savedWorkflowId ? 1 : 0));
  if (rows.length) await tx.run.createMany({ data: rows, skipDuplicates: true });
  await insertPlanRows(tx, parent, layer, new Date(), { layerOnly: options.layerOnly, plannedByAgentId: options.plannedByAgentId, plannedByKey: options.plannedByKey, nestedRuns: new Map(nested.map((n) => [n.childGoalId, n.rows])) });
  for (const n of nested) await tx.run.updateMany({ where: { id: n.run.id, rootGoalId: null }, data: { rootGoalId: n.childGoalId } });
}

/**
 * Writes many layers of a run (no nested runs among their children) in one
 * transaction: the rows of every layer whose parent is not yet planned,
 * holding the parents' row locks (taken in id order, so two writers never
 * wait on each other in a cycle). Layers already written are left as they are.
 */
export async function writeLayers(prisma: PrismaClient, layers: readonly TPlanLayer[]): Promise<void> {
  if (!layers.length) return;
  const ids = layers.map((l) => l.parent.id).sort();
  await prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM goals WHERE id = ANY(${ids}::text[]) ORDER BY id FOR UPDATE`;
    await insertLayers(tx, layers);
  }, TRANSACTION_OPTIONS);
}

/** Which of these goals already have their plan (a layer written). */
export async function plannedAmong(db: TDb, ids: readonly string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = await db.goal.findMany({ where: { id: { in: [...ids] }, plannedAt: { not: null } }, select: { id: true } });
  return new Set(rows.map((r) => r.id));
}

/** The goals with these ids (those that exist). */
export async function findGoals(db: TDb, ids: readonly string[]): Promise<Goal[]> {
  if (!ids.length) return [];
  return db.goal.findMany({ where: { id: { in: [...ids] } } });
}

/** The frozen composites of a written layer that this run materializes next (nested runs' roots are their own runs'). */
export async function frozenChildren(db: TDb, parentId: string, runId: string): Promise<string[]> {
  const rows = await db.goal.findMany({ where: { parentId, runId, planFrozen: true }, select: { id: true }, orderBy: { position: 'asc' } });
  return rows.map((r) => r.id);
}

export async function markRunMaterialized(prisma: PrismaClient, runId: string): Promise<void> {
  await prisma.run.updateMany({ where: { id: runId, state: { in: ['claimed', 'materializing'] } }, data: { state: 'materialized' } });
}

export async function markRunFailed(prisma: PrismaClient, runId: string, error: string): Promise<void> {
  await prisma.run.updateMany({ where: { id: runId, state: { in: ['claimed', 'materializing'] } }, data: { state: 'failed', error } });
}

/** The runs rooted at these goals (children that run another workflow), by root goal id, with their workflow's identity. */
export async function nestedRunsRootedAt(db: TDb, goalIds: string[]): Promise<Map<string, Run & { savedWorkflow: { name: string; version: number } }>> {
  if (!goalIds.length) return new Map();
  const runs = await db.run.findMany({ where: { rootGoalId: { in: goalIds } }, include: { savedWorkflow: { select: { name: true, version: true } } } });
  return new Map(runs.map((r) => [r.rootGoalId as string, runOf(r)]));
}

/** An agent as a leaf's privilege check needs it. */
export interface TLeafAgent {
  name: string;
  allowedRuntimes: string[];
}

/**
 * What a leaf runs under, in one round trip: its goal's agent, the acting
 * agent of its run (whose request made the run; null for a goal outside a run,
 * or a run made before the acting agent was kept), the agent that submitted
 * the plan that wrote the goal (null for a goal no submitted plan wrote), and
 * the run's stored inputs (unparsed: only a command's environment reads them,
 * through `parseRunInputs`).
 */
export interface TLeafContext {
  agent: TLeafAgent;
  actingAgent: TLeafAgent | null;
  plannedBy: TLeafAgent | null;
  runId: string | null;
  inputs: unknown;
}

type TLeafContextRow = {
  name: string;
  allowed_runtimes: string[];
  run_id: string | null;
  inputs: unknown;
  acting_name: string | null;
  acting_runtimes: string[] | null;
  planner_name: string | null;
  planner_runtimes: string[] | null;
};

export async function findLeafContext(db: TDb, goalId: string): Promise<TLeafContext | null> {
  const [row] = await db.$queryRaw<TLeafContextRow[]>`
    SELECT a.name, a.allowed_runtimes, r.id AS run_id, r.inputs, ra.name AS acting_name, ra.allowed_runtimes AS acting_runtimes,
           pa.name AS planner_name, pa.allowed_runtimes AS planner_runtimes
      FROM goals g
      JOIN agents a ON a.id = g.agent_id
      LEFT JOIN workflow_runs r ON r.id = g.run_id
      LEFT JOIN agents ra ON ra.id = r.requested_by_agent_id
      LEFT JOIN agents pa ON pa.id = g.planned_by_agent_id
     WHERE g.id = ${goalId}`;
  return row ? leafContextOf(row) : null;
}

function leafContextOf(row: TLeafContextRow): TLeafContext {
  return {
    agent: { name: row.name, allowedRuntimes: row.allowed_runtimes },
    actingAgent: row.acting_name === null ? null : { name: row.acting_name, allowedRuntimes: row.acting_runtimes ?? [] },
    plannedBy: row.planner_name === null ? null : { name: row.planner_name, allowedRuntimes: row.planner_runtimes ?? [] },
    runId: row.run_id,
    inputs: row.inputs,
  };
}

/** Each column of a goal row, as the Goal its client reads names it: a raw statement that returns or writes goals names these. */
export const GOAL_COLUMNS: { [K in keyof Goal]-?: string } = {
  id: 'id',
  parentId: 'parent_id',
  rootId: 'root_id',
  agentId: 'agent_id',
  ownerUserId: 'owner_user_id',
  ownerAgentId: 'owner_agent_id',
  kind: 'kind',
  key: 'key',
  position: 'position',
  depth: 'depth',
  title: 'title',
  intent: 'intent',
  action: 'action',
  acceptance: 'acceptance',
  joinCount: 'join_count',
  lifecycle: 'lifecycle',
  doneReason: 'done_reason',
  blockReason: 'block_reason',
  waitingFor: 'waiting_for',
  claimedBy: 'claimed_by',
  leaseExpiresAt: 'lease_expires_at',
  failureReason: 'failure_reason',
  plannedAt: 'planned_at',
  parallelism: 'parallelism',
  actionEndedAt: 'action_ended_at',
  actionAttempts: 'action_attempts',
  output: 'output',
  temporalWorkflowId: 'temporal_workflow_id',
  savedWorkflowId: 'workflow_id',
  savedWorkflowVersion: 'workflow_version',
  runId: 'run_id',
  planFrozen: 'plan_frozen',
  plannedByAgentId: 'planned_by_agent_id',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
};

const RETURNING_GOAL = Prisma.raw(Object.entries(GOAL_COLUMNS).map(([field, column]) => `${column} AS "${field}"`).join(', '));

/** startLeaf's one statement: the draft marked started ($2), and the goal's context, by its id ($1). */
const START_LEAF: TNamedStatement = {
  name: 'reprise-start-leaf',
  text: `
    WITH s AS (
      UPDATE goals SET lifecycle = 'active', started_at = $2, updated_at = $2 WHERE id = $1 AND lifecycle = 'draft'
      RETURNING ${RETURNING_GOAL.sql}
    )
    SELECT s.*, a.name, a.allowed_runtimes, r.id AS run_id, r.inputs, ra.name AS acting_name, ra.allowed_runtimes AS acting_runtimes,
           pa.name AS planner_name, pa.allowed_runtimes AS planner_runtimes
      FROM goals g
      LEFT JOIN s ON true
      JOIN agents a ON a.id = g.agent_id
      LEFT JOIN workflow_runs r ON r.id = g.run_id
      LEFT JOIN agents ra ON ra.id = r.requested_by_agent_id
      LEFT JOIN agents pa ON pa.id = g.planned_by_agent_id
     WHERE g.id = $1`,
};

/**
 * A leaf about to run: its goal, marked active (started now) if it was a
 * draft, as it now is, and who it runs for (`findLeafContext`). Null when
 * there is no such goal. A draft (the first attempt) takes one statement:
 * the update returns the row as it wrote it (after any transaction it waited
 * for), and the context is read by the goal's key (every join an index
 * lookup; those columns never change). Any other state (a retry, a goal
 * cancelled or ended meanwhile) is read again by a statement of its own:
 * this one's snapshot predates a transaction the update waited for (a
 * cancel committing as the leaf starts), and would show the goal as it was.
 */
export async function startLeaf(prisma: PrismaClient, goalId: string, now: Date): Promise<{ goal: Goal; context: TLeafContext } | null> {
  const {
    rows: [row],
  } = await namedQuery<(Goal | { [K in keyof Goal]: null }) & TLeafContextRow>(prisma, START_LEAF, [goalId, timestampParam(now)]);
  if (!row) return null;
  const context = leafContextOf(row);
  if (row.id === null) {
    const goal = await prisma.goal.findUnique({ where: { id: goalId } });
    return goal && { goal, context };
  }
  const goal = Object.fromEntries(Object.keys(GOAL_COLUMNS).map((field) => [field, row[field as keyof Goal]])) as Goal;
  return { goal, context };
}

/** A run's stored inputs as `findLeafContext` read them, parsed (a CONFLICT when they no longer read). */
export function parseRunInputs(context: Pick<TLeafContext, 'runId' | 'inputs'>): Record<string, string> {
  return context.runId === null ? {} : runOf({ id: context.runId, inputs: context.inputs as TRunRow['inputs'] }).inputs;
}

/** A run's resolved inputs (for a leaf's environment). */
export async function runInputs(db: TDb, runId: string): Promise<Record<string, string>> {
  const run = await db.run.findUnique({ where: { id: runId }, select: { id: true, inputs: true } });
  return run ? runOf(run).inputs : {};
}

/** The run (or skipped fire) a schedule's fire already made, whatever workflow version it ran. */
export async function findScheduleFire(db: TDb, scheduleId: string, idempotencyKey: string): Promise<Run | null> {
  const run = await db.run.findFirst({ where: { scheduleId, idempotencyKey } });
  return run && runOf(run);
}

/** A schedule's latest fire that made (or is making) a tree: what the overlap policy looks at. */
export async function latestScheduleRun(db: TDb, scheduleId: string): Promise<(Run & { rootGoal: { lifecycle: string } | null }) | null> {
  const run = await db.run.findFirst({
    where: { scheduleId, state: { not: 'skipped' } },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    include: { rootGoal: { select: { lifecycle: true } } },
  });
  return run && runOf(run);
}

/** Records a fire that made no tree, with its nominal time (in the key) and why. A duplicate fire records nothing twice. */
export async function recordSkippedFire(prisma: TDb, row: TNewRun & { reason: string }): Promise<Run> {
  const { reason, ...rest } = row;
  await prisma.run.createMany({ data: [{ ...rest, state: 'skipped', error: reason }], skipDuplicates: true });
  return runOf(await prisma.run.findUniqueOrThrow({ where: { savedWorkflowId_idempotencyKey: { savedWorkflowId: row.savedWorkflowId, idempotencyKey: row.idempotencyKey } } }));
}

/** A schedule's fires, newest first (skipped ones included), and how many in all. */
export async function listScheduleRuns(
  prisma: PrismaClient,
  scheduleId: string,
  take: number,
): Promise<{ runs: (Run & { savedWorkflow: { name: string; version: number } })[]; total: number; skipped: number }> {
  const [runs, total, skipped] = await prisma.$transaction([
    prisma.run.findMany({
      where: { scheduleId },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
      include: { savedWorkflow: { select: { name: true, version: true } } },
    }),
    prisma.run.count({ where: { scheduleId } }),
    prisma.run.count({ where: { scheduleId, state: 'skipped' } }),
  ], ONE_SNAPSHOT);
  return { runs: runs.map(runOf), total, skipped };
}
