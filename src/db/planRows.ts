import type { Prisma } from '../generated/prisma/client';
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

/**
 * Writes a plan's rows under `parent` and marks the parent planned. Pass the
 * transaction's client: a second pooled connection could deadlock against
 * waiters holding the rest.
 */
export async function insertPlanRows(tx: TDb, parent: TPlanParent, plan: TPlan, now: Date = new Date(), options: TPlanRowOptions = {}): Promise<void> {
  const rows = planRows(parent, plan, now, options);
  await tx.goal.createMany({ data: rows.goals, skipDuplicates: true });
  await tx.goalEdge.createMany({ data: rows.edges, skipDuplicates: true });
  await tx.goal.update({ where: { id: parent.id }, data: { plannedAt: now, parallelism: plan.parallelism ?? null } });
}
