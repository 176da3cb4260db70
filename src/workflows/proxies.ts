import { ActivityCancellationType, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { TActivities, TLayerLeaf } from '../activities';
import { FAILURE_TYPES } from '../domain/errors';
import { CHECK_ACTIVITY_TIMEOUT_S, HEARTBEAT_TIMEOUT_S, INFRASTRUCTURE_ATTEMPTS, LEAF_HEARTBEAT_TIMEOUT_S } from '../domain/execution';

/**
 * How pursueGoal calls activities: timeouts, heartbeats, retries. The
 * non-retryable failure types come from the one closed list (FAILURE_TYPES).
 */

/** Bookkeeping activities: short, retried until Postgres answers. */
export const bookkeeping = proxyActivities<TActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.InvalidAction] },
});

/** A composite's or a manual leaf's acceptance check runs a command: long, heartbeating, cancellable. */
export const checks = proxyActivities<TActivities>({
  startToCloseTimeout: `${CHECK_ACTIVITY_TIMEOUT_S} seconds`,
  heartbeatTimeout: `${HEARTBEAT_TIMEOUT_S} seconds`,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.CommandCancelled] },
});

/**
 * A shell or http leaf in one activity (runLeaf): its action, check and
 * bookkeeping within `activityTimeoutS`; the leaf's own retries plus a few
 * for infrastructure failures (the activity makes its own failures final
 * once the leaf's retries are spent). Heartbeats every second: a cancel
 * reaches the command within about a second (the worker's heartbeat throttle).
 */
export function leafRunner(leaf: TLayerLeaf) {
  return proxyActivities<TActivities>({
    startToCloseTimeout: `${leaf.activityTimeoutS} seconds`,
    heartbeatTimeout: `${LEAF_HEARTBEAT_TIMEOUT_S} seconds`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: leaf.retries + 1 + INFRASTRUCTURE_ATTEMPTS,
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.InvalidAction, FAILURE_TYPES.CommandCancelled],
    },
  }).runLeaf;
}

/**
 * A run's instantiation steps (performRun): one transaction each, run as
 * local activities (in the worker that runs the workflow, no task-queue hop
 * per step), retried until Postgres answers; a run that cannot be written as
 * saved is final. A step lost with its worker is run again by the worker that
 * takes the workflow over; a 5,000-child layer takes a few seconds.
 */
export const instantiation = proxyLocalActivities<TActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.RunInvalid] },
});
