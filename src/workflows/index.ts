// Every Temporal workflow the worker registers. Workflow code runs in
// Temporal's deterministic sandbox: it imports @temporalio/workflow, pure
// src/domain code, and only *types* from src/activities.
export { runGoalV2 } from './runGoalV2';
export { runWorkflow } from './runWorkflow';
export { scheduledRun } from './scheduledRun';
