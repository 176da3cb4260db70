import type { TCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import { isTerminal, TERMINAL_LIFECYCLES, WAIT_REASONS, type TGoalLifecycle, type TGoalOutcome, type TWaitKind } from '../domain/goals';
import type { TPlan } from '../domain/plans';
import { findAgent } from './agents';
import { namedQuery, type Prisma, timestampParam, TRANSACTION_OPTIONS, type Agent, type Goal, type GoalEdge, type PrismaClient, type TDb, type TNamedStatement } from './client';
import { writeNestedAndLayer, type TNestedRunRow } from './runs';
import { subtree, UNFINISHED } from './subtree';

/**
 * Named queries and guarded transitions on goals. Every write moves a goal
 * forward only from the states it expects and never out of a terminal state,
 * so each may run twice (activities retry; requests race) without harm.
 */

const NOT_TERMINAL = { notIn: [...TERMINAL_LIFECYCLES] };

/** What a new root goal is made of; ids and the Temporal workflow id are the caller's (domain/ids). */
export interface TNewRootGoal {
  id: string;
  agentId: string;
  ownerUserId: string;
  kind: Goal['kind'];
  title: string;
  intent: string | null;
  action?: unknown;
  acceptance?: unknown;
  temporalWorkflowId: string;
}

export async function findGoal(db: TDb, id: string): Promise<Goal | null> {
  return db.goal.findUnique({ where: { id } });
}

/** The goal if it is the owner's; NOT_FOUND otherwise (a foreign id never reveals that it exists). */
export async function findOwnedGoal(db: TDb, ownerUserId: string, id: string): Promise<Goal> {
  const goal = await db.goal.findFirst({ where: { id, ownerUserId } });
  if (!goal) throw new DomainError('NOT_FOUND', `goal ${id} not found`);
  return goal;
}

/** Creates a root goal and, for a composite with one, its plan: all or nothing. */
export async function createRootGoal(prisma: PrismaClient, goal: TNewRootGoal, plan?: TPlan | null, nested: TNestedRunRow[] = []): Promise<Goal> {
  const data = {
    id: goal.id,
    rootId: goal.id,
    agentId: goal.agentId,
    ownerUserId: goal.ownerUserId,
    kind: goal.kind,
    title: goal.title,
    intent: goal.intent,
    action: goal.action === undefined ? undefined : (goal.action as Prisma.InputJsonValue),
    acceptance: goal.acceptance === undefined ? undefined : (goal.acceptance as Prisma.InputJsonValue),
    temporalWorkflowId: goal.temporalWorkflowId,
  };
  // A goal without a plan is one row: one statement, no transaction (a leaf's request is a round trip shorter).
  if (!plan) return prisma.goal.create({ data });
  return prisma.$transaction(async (tx) => {
    const created = await tx.goal.create({ data });
    await writeNestedAndLayer(tx, created, plan, nested, { layerOnly: false });
    return tx.goal.findUniqueOrThrow({ where: { id: goal.id } });
  }, TRANSACTION_OPTIONS);
}

/** Removes a root goal that could not start (its subtree goes with it). */
export async function deleteGoal(prisma: PrismaClient, id: string): Promise<void> {
  await prisma.$transaction(async (tx) => {
    // Nested runs its plan claimed go with it (they never started).
    const nested = await tx.$queryRaw<{ id: string }[]>`${subtree(id)} SELECT r.id FROM workflow_runs r JOIN subtree s ON r.root_goal_id = s.id`;
    await tx.goal.delete({ where: { id } });
    if (nested.length) await tx.run.deleteMany({ where: { id: { in: nested.map((r) => r.id) } } });
  }, TRANSACTION_OPTIONS);
}

/**
 * Installs the plan of an unplanned composite, once. The check and the install
 * happen under row locks: the tree's root first (max_goals counts the whole
 * tree, so plans for two composites of one tree must not both pass), then the
 * goal. `validate` sees the locked goal, its agent and the tree's size and
 * throws to refuse; a second submission finds the goal planned.
 */
export async function installPlanOnce(
  prisma: PrismaClient,
  input: {
    id: string;
    ownerUserId: string;
    plan: TPlan;
    /** The submitting agent, recorded on every goal the plan writes (planRows `plannedByAgentId`). */
    plannedByAgentId: string;
    nested?: TNestedRunRow[];
    validate: (goal: Goal, agent: Agent, existingGoals: number) => void;
  },
): Promise<Goal> {
  const { id } = input;
  return prisma.$transaction(async (tx) => {
    const target = await tx.goal.findFirst({ where: { id, ownerUserId: input.ownerUserId }, select: { rootId: true } });
    if (!target) throw new DomainError('NOT_FOUND', `goal ${id} not found`);
    await tx.$queryRaw`SELECT id FROM goals WHERE id = ${target.rootId} FOR UPDATE`;
    if (target.rootId !== id) await tx.$queryRaw`SELECT id FROM goals WHERE id = ${id} FOR UPDATE`;
    const goal = await tx.goal.findUniqueOrThrow({ where: { id } });
    if (goal.kind !== 'composite') throw new DomainError('CONFLICT', `goal ${id} is a leaf; only composites take a plan`);
    if (goal.plannedAt !== null) throw new DomainError('PLAN_ALREADY_INSTALLED', `goal ${id} already has a plan (installed ${goal.plannedAt.toISOString()})`);
    if (goal.planFrozen) throw new DomainError('PLAN_ALREADY_INSTALLED', `goal ${id} takes its plan from workflow ${goal.savedWorkflowId} v${goal.savedWorkflowVersion}; its run installs it, no other plan`);
    if (isTerminal(goal.lifecycle)) throw new DomainError('GOAL_ENDED', `goal ${id} already ended (${goal.lifecycle})`);
    const agent = await findAgent(tx, goal.agentId);
    const existing = await tx.goal.count({ where: { rootId: goal.rootId } });
    input.validate(goal, agent, existing);
    await writeNestedAndLayer(tx, goal, input.plan, input.nested ?? [], { layerOnly: false, plannedByAgentId: input.plannedByAgentId });
    return tx.goal.findUniqueOrThrow({ where: { id } });
  }, TRANSACTION_OPTIONS);
}

export interface TGoalFilters {
  lifecycle?: TGoalLifecycle;
  rootOnly?: boolean;
  savedWorkflowId?: string;
  waitingFor?: TWaitKind;
  /** Agent leaves nobody holds a live lease on: the pool agents claim from. */
  claimable?: boolean;
}

/** One page of the owner's goals, newest first, after `after`; `take` rows at most. */
export async function listOwnedGoals(prisma: PrismaClient, ownerUserId: string, filters: TGoalFilters, after: TCursor | undefined, take: number): Promise<TGoalSummaryRow[]> {
  return prisma.goal.findMany({
    where: {
      ownerUserId,
      ...(filters.lifecycle ? { lifecycle: filters.lifecycle } : {}),
      ...(filters.rootOnly ? { parentId: null } : {}),
      ...(filters.savedWorkflowId ? { savedWorkflowId: filters.savedWorkflowId } : {}),
      // Goals whose plan a run installs are never offered to a planner.
      ...(filters.waitingFor ? { waitingFor: filters.waitingFor, ...(filters.waitingFor === 'plan' ? { planFrozen: false } : {}) } : {}),
      ...(filters.claimable ? { waitingFor: 'agent', OR: [{ claimedBy: null }, { leaseExpiresAt: { lt: new Date() } }] } : {}),
      ...(after ? { AND: [{ OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }] } : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take,
    // Lists show summaries: a page never carries actions or outputs (each can be a megabyte).
    omit: { action: true, output: true },
  });
}

/** A goal as lists show it: no action or output. */
export type TGoalSummaryRow = Omit<Goal, 'action' | 'output'>;

/** Every goal of a tree from `minDepth` down (in plan order per depth) and every edge of the tree. */
export async function loadTreeRows(prisma: PrismaClient, rootId: string, minDepth: number): Promise<{ goals: Goal[]; edges: GoalEdge[] }> {
  const [goals, edges] = await Promise.all([
    prisma.goal.findMany({ where: { rootId, depth: { gte: minDepth } }, orderBy: [{ depth: 'asc' }, { position: 'asc' }] }),
    prisma.goalEdge.findMany({ where: { parent: { rootId } }, orderBy: { position: 'asc' } }),
  ]);
  return { goals, edges };
}

/** A goal as a bounded tree read returns it: its output only when asked for. */
export type TTreeGoal = Omit<Goal, 'output'> & { output?: Goal['output'] };

/** An edge of a plan as a tree read shows it: by the keys of its ends. */
export interface TTreeEdge {
  parentId: string;
  from: string;
  to: string;
  on: unknown;
}

/**
 * A goal and the goals below it down to `depth` levels, breadth first in
 * plan order, at most `limit` of them (the goal included): every goal
 * returned has its parent returned too. With each: how many children it
 * has (a cut one has more than were returned); the edges of the returned
 * composites, by key; and how many goals the whole subtree holds.
 */
export async function loadSubtreePage(
  prisma: PrismaClient,
  goalId: string,
  bounds: { depth: number; limit: number; withOutput: boolean },
): Promise<{ goals: TTreeGoal[]; childCounts: Map<string, number>; edges: TTreeEdge[]; total: number }> {
  const [ordered, [counted]] = await Promise.all([
    prisma.$queryRaw<{ id: string }[]>`
      WITH RECURSIVE sub AS (
        SELECT id, 0 AS level, ARRAY[]::int[] AS path FROM goals WHERE id = ${goalId}
        UNION ALL
        SELECT g.id, s.level + 1, s.path || g.position FROM goals g JOIN sub s ON g.parent_id = s.id WHERE s.level < ${bounds.depth}
      ) SELECT id FROM sub ORDER BY level, path LIMIT ${bounds.limit}`,
    prisma.$queryRaw<{ total: number }[]>`${subtree(goalId)} SELECT count(*)::int AS total FROM subtree`,
  ]);
  const ids = ordered.map((r) => r.id);
  const [rows, counts, edges] = await Promise.all([
    prisma.goal.findMany({ where: { id: { in: ids } }, ...(bounds.withOutput ? {} : { omit: { output: true } }) }),
    prisma.goal.groupBy({ by: ['parentId'], where: { parentId: { in: ids } }, _count: { _all: true } }),
    prisma.$queryRaw<{ parent_id: string; from_key: string; to_key: string; on: unknown }[]>`
      SELECT e.parent_id, coalesce(f.key, f.id) AS from_key, coalesce(t.key, t.id) AS to_key, e."on" FROM goal_edges e
        JOIN goals f ON f.id = e.from_goal_id JOIN goals t ON t.id = e.to_goal_id
       WHERE e.parent_id = ANY(${ids}) ORDER BY e.parent_id, e.position`,
  ]);
  const byId = new Map<string, TTreeGoal>(rows.map((g) => [g.id, g]));
  return {
    goals: ids.map((id) => byId.get(id)).filter((g): g is TTreeGoal => g !== undefined),
    childCounts: new Map(counts.map((c) => [c.parentId as string, c._count._all])),
    edges: edges.map((e) => ({ parentId: e.parent_id, from: e.from_key, to: e.to_key, on: e.on })),
    total: counted?.total ?? 0,
  };
}

/**
 * A digest of a subtree's state: it changes whenever a goal of it is added,
 * removed or updated (every writer of a goal moves its `updated_at`; the
 * lifecycle is in it too, for good measure). One aggregate over the subtree,
 * cheap beside reading and serializing it: a poll of an unchanged tree of
 * thousands of goals stops here (GET /api/goals/{id}/tree's ETag).
 */
export async function subtreeDigest(prisma: PrismaClient, goalId: string): Promise<string> {
  const [row] = await prisma.$queryRaw<{ digest: string | null }[]>`
    ${subtree(goalId)}
    SELECT count(*)::text || '-' || md5(string_agg(g.id || ':' || g.lifecycle::text || ':' || (extract(epoch FROM g.updated_at) * 1000)::bigint::text, ',' ORDER BY g.id)) AS digest
      FROM goals g JOIN subtree s ON s.id = g.id`;
  return row?.digest ?? '0';
}

/** How many goals a tree has (a layer about to be written is checked against max_goals with it). */
export async function countTreeGoals(db: TDb, rootId: string): Promise<number> {
  return db.goal.count({ where: { rootId } });
}

/** One layer of a composite's plan: its children and edges, in plan order. */
export async function loadPlanLayer(prisma: PrismaClient, parentId: string): Promise<{ children: Goal[]; edges: GoalEdge[] }> {
  const [children, edges] = await Promise.all([
    prisma.goal.findMany({ where: { parentId }, orderBy: { position: 'asc' } }),
    prisma.goalEdge.findMany({ where: { parentId }, orderBy: { position: 'asc' } }),
  ]);
  return { children, edges };
}

/**
 * Cancels a never-started goal and its subtree in Postgres; false when the
 * goal itself had started (then nothing changes: cancel it through Temporal).
 * The goal's own row goes first, under its row lock, so a start racing this
 * either wins (and the subtree is left to the running workflow) or finds the
 * goal cancelled.
 */
export async function cancelDraftSubtree(prisma: PrismaClient, id: string): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    const own = await tx.goal.updateMany({ where: { id, lifecycle: 'draft' }, data: { lifecycle: 'cancelled', finishedAt: new Date() } });
    if (own.count === 0) return false;
    await tx.$executeRaw`
      ${subtree(id, { includeRoot: false })}
      UPDATE goals SET lifecycle = 'cancelled', finished_at = now(), updated_at = now()
       WHERE id IN (SELECT id FROM subtree) AND lifecycle = 'draft'`;
    return true;
  }, TRANSACTION_OPTIONS);
}

/**
 * An agent claims an agent leaf waiting in the pool, or renews the lease it
 * holds: one conditional update (the lease is free, expired, or the
 * worker's). False when the claim did not take.
 */
export async function claimAgentLease(prisma: PrismaClient, input: { id: string; worker: string; now: Date; until: Date }): Promise<boolean> {
  const claimed = await prisma.goal.updateMany({
    where: {
      id: input.id,
      waitingFor: 'agent',
      OR: [{ claimedBy: null }, { leaseExpiresAt: { lt: input.now } }, { claimedBy: input.worker }],
    },
    data: { claimedBy: input.worker, leaseExpiresAt: input.until },
  });
  return claimed.count > 0;
}

/** Marks a draft goal active (once) and returns it as it now is: a cancel may have ended the draft in between. */
export async function markGoalStarted(prisma: PrismaClient, id: string): Promise<Goal | null> {
  await prisma.goal.updateMany({ where: { id, lifecycle: 'draft' }, data: { lifecycle: 'active', startedAt: new Date() } });
  return findGoal(prisma, id);
}

/**
 * Records what a goal waits for: `blocked` with a reason (an agent leaf stays
 * `active`: it is in the pool), or back to `active` with `null`.
 */
export async function setGoalWaiting(prisma: PrismaClient, id: string, waitingFor: TWaitKind | null): Promise<void> {
  await prisma.goal.updateMany({
    // Entering the agent pool clears any old claim, once: a retry must not wipe a claim made meanwhile.
    where: { id, lifecycle: NOT_TERMINAL, ...(waitingFor === 'agent' ? { OR: [{ waitingFor: null }, { waitingFor: { not: 'agent' } }] } : {}) },
    data:
      waitingFor === null
        ? { lifecycle: 'active', waitingFor: null, blockReason: null, claimedBy: null, leaseExpiresAt: null }
        : {
            lifecycle: waitingFor === 'agent' ? 'active' : 'blocked',
            waitingFor,
            blockReason: WAIT_REASONS[waitingFor],
            ...(waitingFor === 'agent' ? { claimedBy: null, leaseExpiresAt: null } : {}),
          },
  });
}

/**
 * Stores the result of a leaf's action that succeeded (its `attempt`-th
 * action outcome), and marks it so: a re-delivered activity finds the mark
 * and never runs the action again.
 */
export async function recordActionSucceeded(prisma: PrismaClient, id: string, attempt: number, output: unknown): Promise<void> {
  await prisma.goal.updateMany({ where: { id, lifecycle: NOT_TERMINAL }, data: { output: output as Prisma.InputJsonValue, actionEndedAt: new Date(), actionAttempts: attempt } });
}

/**
 * Counts a leaf's failed action attempt (its `attempt`-th action outcome) and
 * stores its result. Idempotent: an attempt already counted changes nothing,
 * so a write retried after a lost answer never spends a retry twice.
 */
export async function recordActionFailed(prisma: PrismaClient, id: string, attempt: number, output: unknown): Promise<void> {
  await prisma.goal.updateMany({
    where: { id, lifecycle: NOT_TERMINAL, actionEndedAt: null, actionAttempts: { lt: attempt } },
    data: { output: output as Prisma.InputJsonValue, actionAttempts: attempt },
  });
}

/** recordLeafDone's statement: output $2, its attempt number $4, ended at $3, for goal $1 if unfinished. */
const RECORD_LEAF_DONE: TNamedStatement = {
  name: 'reprise-record-leaf-done',
  text: `UPDATE goals SET output = $2::jsonb, action_ended_at = $3, action_attempts = $4, lifecycle = 'done', done_reason = 'accepted',
                        failure_reason = NULL, block_reason = NULL, waiting_for = NULL, finished_at = $3, updated_at = now()
          WHERE id = $1 AND ${UNFINISHED.sql}`,
};

/** A leaf whose action succeeded (its `attempt`-th outcome) and needs no further acceptance: its result and its end, in one write. */
export async function recordLeafDone(prisma: PrismaClient, id: string, attempt: number, output: unknown): Promise<void> {
  // Every leaf ends through here: one prepared statement (namedQuery), the same columns an end writes,
  // its times from this process's clock as a goal's start is.
  await namedQuery(prisma, RECORD_LEAF_DONE, [id, JSON.stringify(output), timestampParam(new Date()), attempt]);
}

/** Stores a leaf's full result on its row (not once it has ended). */
export async function storeLeafOutput(prisma: PrismaClient, id: string, output: unknown): Promise<void> {
  await prisma.goal.updateMany({ where: { id, lifecycle: NOT_TERMINAL }, data: { output: output as Prisma.InputJsonValue } });
}

/** Stores a failed acceptance check beside the action's own output (not carried through history). */
export async function storeAcceptanceCheck(prisma: PrismaClient, id: string, check: unknown): Promise<void> {
  await prisma.$executeRaw`UPDATE goals SET output = coalesce(output, '{}'::jsonb) || jsonb_build_object('acceptance_check', ${JSON.stringify(check)}::jsonb), updated_at = now()
                            WHERE id = ${id} AND ${UNFINISHED}`;
}

/**
 * Keeps a completion's output under its update id until the goal's workflow
 * records the end (idempotent). Only while the goal is unfinished and
 * waiting for `waitingFor` (false otherwise, and nothing is written): the
 * row lock (FOR SHARE) orders it against the end's transaction, so a retried
 * request arriving as the goal ends never leaves a stray row behind.
 */
export async function keepCompletion(prisma: PrismaClient, goalId: string, updateId: string, output: unknown, waitingFor: TWaitKind): Promise<boolean> {
  const [row] = await prisma.$queryRaw<{ waiting: boolean }[]>`
    WITH waiting AS (SELECT id FROM goals WHERE id = ${goalId} AND waiting_for = ${waitingFor}::goal_wait AND ${UNFINISHED} FOR SHARE),
         kept AS (
           INSERT INTO goal_completions (goal_id, update_id, output)
           SELECT id, ${updateId}, ${JSON.stringify(output ?? {})}::jsonb FROM waiting
           ON CONFLICT DO NOTHING RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM waiting) AS waiting`;
  return row?.waiting === true;
}

/** Forgets the output kept for a completion the goal's workflow refused. */
export async function dropCompletion(prisma: PrismaClient, goalId: string, updateId: string): Promise<void> {
  await prisma.goalCompletion.deleteMany({ where: { goalId, updateId } });
}

/** Records a goal's end. A goal already in a terminal state is left alone. */
export async function recordGoalEnd(prisma: PrismaClient, id: string, outcome: TGoalOutcome): Promise<void> {
  const completionId = 'completionId' in outcome ? outcome.completionId : undefined;
  if (completionId !== undefined) {
    // The output the API kept for the completion that was accepted; the others for this goal go with it.
    await prisma.$transaction(async (tx) => {
      const kept = await tx.goalCompletion.findUnique({ where: { goalId_updateId: { goalId: id, updateId: completionId } } });
      const { completionId: _kept, ...rest } = outcome as TGoalOutcome & { completionId?: string };
      await endGoal(tx, id, { ...rest, output: kept?.output ?? undefined } as TGoalOutcome);
      await tx.goalCompletion.deleteMany({ where: { goalId: id } });
    }, TRANSACTION_OPTIONS);
    return;
  }
  await namedQuery(prisma, RECORD_GOAL_END, endParams(id, outcome));
  // Then any completion kept for an update that was refused, or for a leaf that then timed out or was cancelled.
  // A statement of its own: one kept while the end waited for the row (keepCompletion holds it FOR SHARE) is
  // newer than the end's snapshot, so a DELETE beside the UPDATE in one statement would not see it.
  await namedQuery(prisma, DROP_COMPLETIONS, [id]);
}

/** What a goal's end writes, the one statement for it ($5, the output, replaces the stored one only when given: a leaf's full output was stored by the activity that ran it). */
const RECORD_GOAL_END: TNamedStatement = {
  name: 'reprise-record-goal-end',
  text: `UPDATE goals SET lifecycle = $2, done_reason = $3, failure_reason = $4, block_reason = NULL, waiting_for = NULL, claimed_by = NULL,
                          lease_expires_at = NULL, output = coalesce($5::jsonb, output), finished_at = $6, updated_at = $6
          WHERE id = $1 AND ${UNFINISHED.sql}`,
};

function endParams(id: string, outcome: TGoalOutcome): unknown[] {
  return [
    id,
    outcome.lifecycle,
    outcome.lifecycle === 'done' ? outcome.doneReason : null,
    outcome.lifecycle === 'failed' ? outcome.failureReason : null,
    outcome.output === undefined ? null : JSON.stringify(outcome.output),
    timestampParam(new Date()),
  ];
}

const DROP_COMPLETIONS: TNamedStatement = { name: 'reprise-drop-completions', text: 'DELETE FROM goal_completions WHERE goal_id = $1' };

/** A goal's end inside a transaction (a named statement runs on a pooled connection of its own): the same statement, unprepared. */
async function endGoal(tx: TDb, id: string, outcome: TGoalOutcome): Promise<void> {
  await tx.$executeRawUnsafe(RECORD_GOAL_END.text, ...endParams(id, outcome));
}

/**
 * Ends goals whose join can no longer be met: done/skipped, with why in
 * `output`. Everything below a skipped composite is skipped with it.
 */
export async function skipGoals(prisma: PrismaClient, goals: { goalId: string; because: string[] }[]): Promise<void> {
  await prisma.$transaction(
    goals.flatMap((g) => [
      prisma.goal.updateMany({
        where: { id: g.goalId, lifecycle: NOT_TERMINAL },
        data: { lifecycle: 'done', doneReason: 'skipped', output: { skipped_because: g.because }, waitingFor: null, blockReason: null, finishedAt: new Date() },
      }),
      prisma.$executeRaw`
        ${subtree(g.goalId, { includeRoot: false })}
        UPDATE goals SET lifecycle = 'done', done_reason = 'skipped', output = ${JSON.stringify({ skipped_because: ['its parent was skipped'] })}::jsonb,
               waiting_for = NULL, block_reason = NULL, finished_at = now(), updated_at = now()
         WHERE id IN (SELECT id FROM subtree) AND ${UNFINISHED}`,
      settleUnstartedRuns(prisma, g.goalId, 'skipped', 'its goal was skipped before it ran'),
    ]),
  );
}

/**
 * Nested runs whose root goal (a child naming another workflow) ended before
 * the engine reached it never start: their ledger rows leave `claimed` for
 * `skipped` (or `failed`), saying why, instead of looking stalled forever.
 */
function settleUnstartedRuns(prisma: PrismaClient, goalId: string, state: 'skipped' | 'failed', reason: string) {
  return prisma.$executeRaw`
    ${subtree(goalId)}
    UPDATE workflow_runs SET state = ${state}::run_state, error = ${reason}, updated_at = now()
     WHERE state = 'claimed' AND root_goal_id IN (SELECT id FROM subtree)`;
}

/** Fails a goal and everything unfinished below it; a goal that recorded its own end is left alone. */
export async function failSubtree(prisma: PrismaClient, id: string, reason: string): Promise<number> {
  const [failed] = await prisma.$transaction([
    prisma.$executeRaw`
    ${subtree(id)}
    UPDATE goals SET lifecycle = 'failed', failure_reason = CASE WHEN id = ${id} THEN ${reason} ELSE 'its parent ended: ' || ${reason} END,
           waiting_for = NULL, block_reason = NULL, claimed_by = NULL, lease_expires_at = NULL, done_reason = NULL,
           finished_at = now(), updated_at = now()
     WHERE id IN (SELECT id FROM subtree) AND ${UNFINISHED}`,
    settleUnstartedRuns(prisma, id, 'failed', `its goal failed before it ran: ${reason}`),
  ]);
  return failed;
}

/** Marks a goal and every unfinished goal below it `cancelled`. */
export async function cancelSubtree(prisma: PrismaClient, id: string): Promise<number> {
  const [cancelled] = await prisma.$transaction([
    prisma.$executeRaw`
    ${subtree(id)}
    UPDATE goals SET lifecycle = 'cancelled', waiting_for = NULL, block_reason = NULL,
           claimed_by = NULL, lease_expires_at = NULL, done_reason = NULL,
           finished_at = now(), updated_at = now()
     WHERE id IN (SELECT id FROM subtree) AND ${UNFINISHED}`,
    settleUnstartedRuns(prisma, id, 'skipped', 'its goal was cancelled before it ran'),
  ]);
  return cancelled;
}
