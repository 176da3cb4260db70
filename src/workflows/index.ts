// Every Temporal workflow the worker registers. Workflow code runs in
// Temporal's deterministic sandbox: it imports @temporalio/workflow, pure
// src/domain code, and only *types* from src/activities.
export { pursueGoal } from './pursueGoal';
export { performRun } from './performRun';
export { fireSchedule } from './fireSchedule';
