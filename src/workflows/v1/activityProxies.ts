// FROZEN: the first engine (runGoal), kept only so executions it started, and
// their recorded histories (test/histories/v1*), still replay. New work goes
// to runGoalV2; change this only to keep it compiling.
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { TActivities } from '../../activities';
import { FAILURE_TYPES } from '../../domain/errors';
import { CHECK_ACTIVITY_TIMEOUT_S, HEARTBEAT_TIMEOUT_S, INFRASTRUCTURE_ATTEMPTS, KILL_GRACE_S, type TLeafRunOptions } from '../../domain/execution';

/**
 * How workflow code calls activities: timeouts, heartbeats, retries. The
 * non-retryable failure types come from the one closed list (FAILURE_TYPES).
 */

/** Bookkeeping activities: short, retried until Postgres answers. */
export const bookkeeping = proxyActivities<TActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.InvalidAction] },
});

/** Acceptance checks run a command: long, heartbeating, cancellable. */
export const checks = proxyActivities<TActivities>({
  startToCloseTimeout: `${CHECK_ACTIVITY_TIMEOUT_S} seconds`,
  heartbeatTimeout: `${HEARTBEAT_TIMEOUT_S} seconds`,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.CommandCancelled] },
});

/** A shell or http leaf's action: its own timeout plus a grace to kill and report, its own retries plus infrastructure ones. */
export function leafActivities(options: TLeafRunOptions) {
  return proxyActivities<TActivities>({
    startToCloseTimeout: `${options.timeoutS + KILL_GRACE_S} seconds`,
    heartbeatTimeout: `${HEARTBEAT_TIMEOUT_S} seconds`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: options.retries + 1 + INFRASTRUCTURE_ATTEMPTS,
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.InvalidAction, FAILURE_TYPES.CommandCancelled],
    },
  });
}
