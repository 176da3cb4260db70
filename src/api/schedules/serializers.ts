import { formatDuration, isSpent } from '../../domain/schedules';
import type { TScheduleView } from '../../services/schedules';
import { serializeRun } from '../runs/serializers';
import type { TTemporalUi } from '../goals/serializers';
import type { TScheduleJson } from './schemas';

export function serializeSchedule(view: TScheduleView, temporalUi: TTemporalUi): TScheduleJson {
  const { row, temporal: t, config } = view;
  const spec = config.spec ?? null;
  return {
    id: row.id,
    workflow: { id: row.savedWorkflowId, name: row.savedWorkflow.name, version: row.savedWorkflow.version },
    follow_latest: config.followLatest ?? row.followLatest,
    created_by_agent_id: row.createdByAgentId,
    allow_replan: config.allowReplan ?? false,
    overlap: config.overlap ?? 'skip',
    inputs: config.inputs ?? {},
    spec,
    paused: t.state.paused,
    note: t.state.note || null,
    spent: isSpent(spec, t.state.remainingActions),
    next_fire_times: t.info.nextActionTimes.map((d) => d.toISOString()),
    recent_fires: t.info.recentActions.map((a) => ({ nominal_time: a.scheduledAt.toISOString(), taken_at: a.takenAt.toISOString(), temporal_workflow_id: a.action.workflow.workflowId })),
    running_fires: t.info.runningActions.map((a) => a.workflow.workflowId),
    fires_taken: t.info.numActionsTaken,
    catchup_window: formatDuration(t.policies.catchupWindow),
    missed_catchup_window: t.info.numActionsMissedCatchupWindow,
    skipped_by_temporal_overlap: t.info.numActionsSkippedOverlap,
    ...(view.runs ? { runs: { items: view.runs.items.map((r) => serializeRun(r, temporalUi)), total: view.runs.total, skipped: view.runs.skipped } } : {}),
    temporal: {
      schedule_id: row.id,
      ui_url: temporalUi.baseUrl ? `${temporalUi.baseUrl}/namespaces/${encodeURIComponent(temporalUi.namespace)}/schedules/${encodeURIComponent(row.id)}` : null,
    },
    created_at: row.createdAt.toISOString(),
  };
}
