import { userReason } from '../../domain/errors';
import { deriveRunStatus, type TRunState } from '../../domain/runs';
import type { TRunView } from '../../services/runs';
import { temporalUiUrl, type TTemporalUi } from '../goals/serializers';
import type { TRunJson } from './schemas';

export function serializeRun(run: TRunView, temporalUi: TTemporalUi): TRunJson {
  const status = deriveRunStatus({ state: run.state as TRunState, error: run.error, root: run.tree.root, blocked: run.tree.blocked });
  const uiUrl = temporalUiUrl(temporalUi, run.temporalWorkflowId);
  return {
    id: run.id,
    number: run.number,
    workflow: { id: run.savedWorkflowId, name: run.workflow.name, version: run.workflow.version },
    title: run.tree.root?.title ?? null,
    idempotency_key: run.idempotencyKey,
    inputs: run.inputs,
    state: run.state,
    error: userReason(run.error),
    status: { status: status.status, reason: userReason(status.reason), goal_id: status.goalId },
    root_goal_id: run.rootGoalId,
    parent_run_id: run.parentRunId,
    schedule_id: run.scheduleId,
    requested_by_agent_id: run.requestedByAgentId,
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
