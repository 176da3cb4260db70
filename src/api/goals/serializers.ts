import type { Goal } from '../../db/client';
import type { TTreeGoal } from '../../db/goals';
import { userReason } from '../../domain/errors';
import { ZEdgeOn } from '../../domain/plans';
import type { TGoalTree, TGoalTreePage } from '../../services/goals';
import type { TGoalJson, TGoalTreeJson, TGoalTreeRootJson } from './schemas';

/** Where links into the Temporal Web UI point. */
export interface TTemporalUi {
  baseUrl: string | undefined;
  namespace: string;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** A Temporal workflow's page in the Web UI, when the UI's address is known. */
export function temporalUiUrl(temporalUi: TTemporalUi, workflowId: string): string | null {
  return temporalUi.baseUrl ? `${temporalUi.baseUrl}/namespaces/${encodeURIComponent(temporalUi.namespace)}/workflows/${encodeURIComponent(workflowId)}` : null;
}

/** Who owns a row: a user XOR an agent. */
export function serializeOwner(row: { ownerUserId: string | null; ownerAgentId: string | null }): { type: 'user' | 'agent'; id: string } {
  return row.ownerUserId ? { type: 'user', id: row.ownerUserId } : { type: 'agent', id: row.ownerAgentId ?? '' };
}

export function serializeGoal(goal: Goal, temporalUi: TTemporalUi): TGoalJson;
export function serializeGoal(goal: TTreeGoal, temporalUi: TTemporalUi): Omit<TGoalJson, 'output'> & { output?: unknown };
export function serializeGoal(goal: TTreeGoal, temporalUi: TTemporalUi): Omit<TGoalJson, 'output'> & { output?: unknown } {
  const uiUrl = temporalUiUrl(temporalUi, goal.temporalWorkflowId);
  return {
    id: goal.id,
    parent_id: goal.parentId,
    root_id: goal.rootId,
    agent_id: goal.agentId,
    owner: serializeOwner(goal),
    kind: goal.kind,
    key: goal.key,
    depth: goal.depth,
    title: goal.title,
    intent: goal.intent,
    action: (goal.action as Record<string, unknown> | null) ?? null,
    acceptance: goal.acceptance ?? null,
    join: goal.joinCount ?? 'all',
    lifecycle: goal.lifecycle,
    waiting_for: goal.waitingFor,
    lease: goal.claimedBy && goal.leaseExpiresAt ? { claimed_by: goal.claimedBy, expires_at: goal.leaseExpiresAt.toISOString() } : null,
    done_reason: goal.doneReason,
    block_reason: goal.blockReason,
    failure_reason: userReason(goal.failureReason),
    planned_at: iso(goal.plannedAt),
    // A tree read without outputs leaves them out (undefined), which is not "no output" (null).
    ...('output' in goal ? { output: goal.output ?? null } : {}),
    temporal: { workflow_id: goal.temporalWorkflowId, ui_url: uiUrl },
    attribution: goal.savedWorkflowId
      ? { workflow_id: goal.savedWorkflowId, workflow_version: goal.savedWorkflowVersion, run_id: goal.runId, plan_frozen: goal.planFrozen }
      : null,
    created_at: goal.createdAt.toISOString(),
    updated_at: goal.updatedAt.toISOString(),
    started_at: iso(goal.startedAt),
    finished_at: iso(goal.finishedAt),
  };
}

export function serializeTree(tree: TGoalTree, temporalUi: TTemporalUi): TGoalTreeJson {
  return {
    ...serializeGoal(tree.goal, temporalUi),
    child_count: tree.childCount,
    children: tree.children.map((c) => serializeTree(c, temporalUi)),
    edges: tree.edges.map((e) => ({ from: e.from, to: e.to, on: ZEdgeOn.parse(e.on) })),
  };
}

export function serializeTreePage(page: TGoalTreePage, temporalUi: TTemporalUi): TGoalTreeRootJson {
  return { ...serializeTree(page.tree, temporalUi), truncated: page.truncated, goals: { shown: page.shown, total: page.total } };
}
