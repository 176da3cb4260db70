// Every Temporal workflow the worker registers. Workflow code runs in
// Temporal's deterministic sandbox: it imports @temporalio/workflow, pure
// src/domain code, and only *types* from src/activities.
//
// runGoalV2 runs every goal started now. runGoal (v1) stays registered,
// frozen, so executions it started (and their recorded histories) still run.
export { runGoalV2 } from './runGoalV2';
export { runWorkflow } from './runWorkflow';
export { scheduledRun } from './scheduledRun';
export { runGoal } from './v1/runGoal';
