import type { Prisma } from './generated/prisma/client';
import { childGoalId, goalTemporalWorkflowId } from '../domain/ids';
import type { TAcceptance, TPlan } from '../domain/plans';
import type { TDb } from './client';

/**
 * The one plan-row writer: the rows a plan installs (every child goal, nested
 * plans included, and every edge), built purely by `planRows` and written by
 * `insertPlanRows` inside the caller's transaction. A live plan install and a
 * run's materialization both go through it. Child ids derive from
 * (parent id, key), so installing the same plan twice yields the same rows:
 * inserts with duplicates skipped are idempotent, and a crash mid-install
 * never mints a second tree.
 */

export interface TPlanParent {
  id: string;
  rootId: string;
  agentId: string;
  ownerUserId: string | null;
  ownerAgentId: string | null;
  depth: number;
  /** The Temporal workflow that runs this composite (and its leaf children). */
  temporalWorkflowId: string;
  savedWorkflowId?: string | null;
  savedWorkflowVersion?: number | null;
  runId?: string | null;
}

export interface TPlanRows {
  goals: Prisma.GoalCreateManyInput[];
  edges: Prisma.GoalEdgeCreateManyInput[];
}

/** A plan child that names a saved workflow becomes the root of a nested run: its identity, by child goal id. */
export interface TNestedRun {
  runId: string;
  savedWorkflowId: string;
  savedWorkflowVersion: number;
  /** Whether the named workflow's root has a plan (the child is then frozen: its run materializes it). */
  planned: boolean;
}

export interface TPlanRowOptions {
  /**
   * Write only this plan's own children (a run materializes one layer per
   * step). A composite child with a saved plan is then created unplanned but
   * frozen: its own step installs that plan, and the API refuses any other.
   */
  layerOnly?: boolean;
  /** Children that name a saved workflow, by child goal id (see TNestedRun). */
  nestedRuns?: ReadonlyMap<string, TNestedRun>;
  /**
   * The agent that submitted this plan (POST /goals/{id}/plan), recorded on
   * every goal it writes: its leaves run under the parent's agent but are the
   * submitter's work, so they need its runtimes too (activities/leaves.ts).
   */
  plannedByAgentId?: string | null;
  /**
   * A run's layer: who planned each child, by key, as its saved version
   * recorded (domain/runtimeRequirements `TPlanners`), where that was another
   * agent than the workflow's: its leaves keep needing that agent's runtimes.
   */
  plannedByKey?: ReadonlyMap<string, string>;
}

function acceptanceJson(acceptance: TAcceptance | undefined): Prisma.InputJsonValue | undefined {
  return acceptance && (acceptance.check !== undefined || acceptance.judgment !== undefined) ? (acceptance as Prisma.InputJsonValue) : undefined;
}

export function planRows(parent: TPlanParent, plan: TPlan, now: Date, options: TPlanRowOptions = {}, into: TPlanRows = { goals: [], edges: [] }): TPlanRows {
  const ids = new Map(plan.children.map((c) => [c.key, childGoalId(parent.id, c.key)]));
  plan.children.forEach((child, position) => {
    const id = ids.get(child.key) as string;
    const composite = child.kind === 'composite';
    const nested = options.nestedRuns?.get(id);
    // Installed now: a composite's plan given inline (not when only this layer is written).
    const installed = composite && !nested && !!child.plan && !options.layerOnly;
    const frozen = nested ? nested.planned : composite && !!child.plan && !!options.layerOnly;
    const temporalWorkflowId = composite ? goalTemporalWorkflowId({ id, title: child.key }) : parent.temporalWorkflowId;
    into.goals.push({
      id,
      parentId: parent.id,
      rootId: parent.rootId,
      agentId: parent.agentId,
      ownerUserId: parent.ownerUserId,
      ownerAgentId: parent.ownerAgentId,
      kind: child.kind,
      key: child.key,
      position,
      depth: parent.depth + 1,
      title: child.title,
      intent: child.intent ?? null,
      action: child.kind === 'leaf' ? (child.action as Prisma.InputJsonValue) : undefined,
      acceptance: acceptanceJson(child.acceptance),
      joinCount: typeof child.join === 'number' ? child.join : null,
      plannedAt: installed ? now : null,
      parallelism: installed ? (child.plan?.parallelism ?? null) : null,
      planFrozen: frozen,
      temporalWorkflowId,
      savedWorkflowId: nested ? nested.savedWorkflowId : (parent.savedWorkflowId ?? null),
      savedWorkflowVersion: nested ? nested.savedWorkflowVersion : (parent.savedWorkflowVersion ?? null),
      runId: nested ? nested.runId : (parent.runId ?? null),
      plannedByAgentId: options.plannedByKey?.get(child.key) ?? options.plannedByAgentId ?? null,
    });
    if (installed && child.kind === 'composite' && child.plan) {
      planRows({ ...parent, id, depth: parent.depth + 1, temporalWorkflowId }, child.plan, now, options, into);
    }
  });
  plan.edges.forEach((edge, position) => {
    into.edges.push({
      parentId: parent.id,
      fromGoalId: ids.get(edge.from) as string,
      toGoalId: ids.get(edge.to) as string,
      on: edge.on as Prisma.InputJsonValue,
      position,
    });
  });
  return into;
}

/** Rows per statement: one JSON parameter each, so no bind-parameter limit; a few MB at most. */
const ROWS_PER_STATEMENT = 2000;

function chunks<T>(rows: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) out.push(rows.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}

const iso = (d: unknown): string | null => (d instanceof Date ? d.toISOString() : null);

/**
 * Writes a plan's rows under `parent` and marks the parent planned (see
 * insertRows). Pass the transaction's client: a second pooled connection
 * could deadlock against waiters holding the rest.
 */
export async function insertPlanRows(tx: TDb, parent: TPlanParent, plan: TPlan, now: Date = new Date(), options: TPlanRowOptions = {}): Promise<void> {
  await insertRows(tx, planRows(parent, plan, now, options));
  await tx.$executeRaw`UPDATE goals SET planned_at = ${now}, parallelism = ${plan.parallelism ?? null}, updated_at = now() WHERE id = ${parent.id}`;
}

/** One layer of a run, as materializeLayers writes many at once: its parent, its plan, who planned its children. */
export interface TPlanLayer {
  parent: TPlanParent;
  plan: TPlan;
  plannedByKey?: ReadonlyMap<string, string>;
}

/**
 * Writes many layers' rows (each layer only: its composite children stay
 * frozen) in as few statements as their rows need, then marks each parent
 * planned, unless it already was. Idempotent: rows already there are
 * skipped. Pass the transaction's client.
 */
export async function insertLayers(tx: TDb, layers: readonly TPlanLayer[], now: Date = new Date()): Promise<void> {
  const rows: TPlanRows = { goals: [], edges: [] };
  for (const { parent, plan, plannedByKey } of layers) planRows(parent, plan, now, { layerOnly: true, plannedByKey }, rows);
  await insertRows(tx, rows);
  const planned = JSON.stringify(layers.map(({ parent, plan }) => ({ id: parent.id, parallelism: plan.parallelism ?? null })));
  await tx.$executeRaw`
    UPDATE goals g SET planned_at = ${now}, parallelism = r.parallelism, updated_at = now()
      FROM json_to_recordset(${planned}::json) AS r(id text, parallelism int)
     WHERE g.id = r.id AND g.planned_at IS NULL`;
}

/**
 * Each table's rows go in one statement per ROWS_PER_STATEMENT (`INSERT …
 * SELECT FROM json_to_recordset($1) ON CONFLICT DO NOTHING`): one round trip
 * and one parameter however many rows, duplicates skipped. The parameter is
 * `json`, not `jsonb`: Postgres reads it once as it makes the rows, where
 * `jsonb` would first convert the whole document (a quarter of the
 * statement's time at 2,000 rows). Each statement's JSON is built while the
 * one before runs in Postgres.
 */
async function insertRows(tx: TDb, rows: TPlanRows): Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const send = async (statement: () => PromiseLike<unknown>): Promise<void> => {
    await running;
    // A Prisma statement starts when it is awaited: start it, and let it reach Postgres before the next JSON is built.
    running = Promise.resolve(statement());
    // Awaited by the next send or at the end; meanwhile a rejection (an expired transaction rejects at once) is held,
    // never an unhandled rejection, which would end the process.
    running.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
  };
  for (const part of chunks(rows.goals)) {
    const json = goalsJson(part);
    await send(
      () => tx.$executeRaw`
      INSERT INTO goals (id, parent_id, root_id, agent_id, owner_user_id, owner_agent_id, kind, key, position, depth, title, intent,
                         action, acceptance, join_count, planned_at, parallelism, plan_frozen, temporal_workflow_id, workflow_id, workflow_version, run_id, planned_by_agent_id)
      SELECT id, parent_id, root_id, agent_id, owner_user_id, owner_agent_id, kind::goal_kind, key, position, depth, title, intent,
             action, acceptance, join_count, planned_at, parallelism, plan_frozen, temporal_workflow_id, workflow_id, workflow_version, run_id, planned_by_agent_id
        FROM json_to_recordset(${json}::json) AS r(id text, parent_id text, root_id text, agent_id text, owner_user_id text, owner_agent_id text,
             kind text, key text, position int, depth int, title text, intent text, action jsonb, acceptance jsonb, join_count int,
             planned_at timestamptz, parallelism int, plan_frozen boolean, temporal_workflow_id text, workflow_id text, workflow_version int, run_id text,
             planned_by_agent_id text)
      ON CONFLICT DO NOTHING`,
    );
  }
  for (const part of chunks(rows.edges)) {
    const json = JSON.stringify(part.map((e) => ({ parent_id: e.parentId, from_goal_id: e.fromGoalId, to_goal_id: e.toGoalId, on: e.on, position: e.position })));
    await send(
      () => tx.$executeRaw`
      INSERT INTO goal_edges (parent_id, from_goal_id, to_goal_id, "on", position)
      SELECT parent_id, from_goal_id, to_goal_id, "on", position
        FROM json_to_recordset(${json}::json) AS r(parent_id text, from_goal_id text, to_goal_id text, "on" jsonb, position int)
      ON CONFLICT DO NOTHING`,
    );
  }
  await running;
}

/** Goal rows as the JSON insertRows sends, named as their columns. */
function goalsJson(part: TPlanRows['goals']): string {
  return JSON.stringify(
    part.map((g) => ({
      id: g.id,
      parent_id: g.parentId,
      root_id: g.rootId,
      agent_id: g.agentId,
      owner_user_id: g.ownerUserId,
      owner_agent_id: g.ownerAgentId,
      kind: g.kind,
      key: g.key,
      position: g.position,
      depth: g.depth,
      title: g.title,
      intent: g.intent,
      action: g.action ?? null,
      acceptance: g.acceptance ?? null,
      join_count: g.joinCount,
      planned_at: iso(g.plannedAt),
      parallelism: g.parallelism,
      plan_frozen: g.planFrozen ?? false,
      temporal_workflow_id: g.temporalWorkflowId,
      workflow_id: g.savedWorkflowId,
      workflow_version: g.savedWorkflowVersion,
      run_id: g.runId,
      planned_by_agent_id: g.plannedByAgentId ?? null,
    })),
  );
}
