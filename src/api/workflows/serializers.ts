import type { SavedWorkflow } from '../../db/workflows';
import { deriveRunStatus, type TRunState } from '../../domain/runs';
import type { TRunView } from '../../services/workflows';
import { serializeOwner, temporalUiUrl, type TTemporalUi } from '../goals/serializers';
import type { TRunJson, TWorkflowJson, TWorkflowSummaryJson } from './schemas';

export function serializeWorkflowSummary(wf: Omit<SavedWorkflow, 'frozenPlan'> & { runCount: number }): TWorkflowSummaryJson {
  return {
    id: wf.id,
    name: wf.name,
    version: wf.version,
    description: wf.description,
    owner: serializeOwner(wf),
    agent_id: wf.agentId,
    inputs: wf.inputs,
    format: wf.format,
    content_hash: wf.contentHash,
    fully_frozen: wf.fullyFrozen,
    source_goal_id: wf.sourceGoalId,
    source_run_id: wf.sourceRunId,
    run_count: wf.runCount,
    created_at: wf.createdAt.toISOString(),
  };
}

export function serializeWorkflow(wf: SavedWorkflow & { runCount: number }): TWorkflowJson {
  return { ...serializeWorkflowSummary(wf), frozen_plan: wf.frozenPlan };
}

export function serializeRun(run: TRunView, temporalUi: TTemporalUi): TRunJson {
  const status = deriveRunStatus({ state: run.state as TRunState, error: run.error, root: run.tree.root, blocked: run.tree.blocked });
  const uiUrl = temporalUiUrl(temporalUi, run.temporalWorkflowId);
  return {
    id: run.id,
    workflow: { id: run.savedWorkflowId, name: run.workflow.name, version: run.workflow.version },
    title: run.tree.root?.title ?? null,
    idempotency_key: run.idempotencyKey,
    inputs: run.inputs,
    state: run.state,
    error: run.error,
    status: { status: status.status, reason: status.reason, goal_id: status.goalId },
    root_goal_id: run.rootGoalId,
    parent_run_id: run.parentRunId,
    schedule_id: run.scheduleId,
    temporal: { workflow_id: run.temporalWorkflowId, ui_url: uiUrl },
    ...(run.progress
      ? {
          progress: {
            goals: run.progress.goals,
            ended: run.progress.ended,
            by_lifecycle: run.progress.byLifecycle,
            current_layer: run.progress.currentLayer,
            layers: run.progress.layers,
          },
        }
      : {}),
    created_at: run.createdAt.toISOString(),
    updated_at: run.updatedAt.toISOString(),
  };
}
