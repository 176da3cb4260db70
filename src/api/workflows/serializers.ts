import type { SavedWorkflow } from '../../db/workflows';
import { serializeOwner } from '../goals/serializers';
import type { TWorkflowJson, TWorkflowSummaryJson } from './schemas';

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
    required_runtimes: wf.requiredRuntimes,
    source_goal_id: wf.sourceGoalId,
    source_run_id: wf.sourceRunId,
    run_count: wf.runCount,
    created_at: wf.createdAt.toISOString(),
  };
}

export function serializeWorkflow(wf: SavedWorkflow & { runCount: number }): TWorkflowJson {
  return { ...serializeWorkflowSummary(wf), frozen_plan: wf.frozenPlan };
}
