import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  proxyActivities,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { TActivities } from '../activities';
import type { TLeafRunOptions } from '../domain/actions';
import { isTerminal, type TGoalOutcome, type TLeafStatus } from '../domain/goals';

/**
 * runGoal: the Temporal workflow that carries one goal from `active` to its
 * end and records that end in Postgres (through activities: workflow code does
 * no I/O). A leaf's action runs as one activity whose timeout and retries come
 * from the action. When the goal fails, the Temporal workflow fails too, with
 * the goal's failure reason, so the Web UI tells the same story as the API.
 */

export interface TRunGoalInput {
  goalId: string;
}

export interface TRunGoalResult {
  goalId: string;
  /** How the action ended; `already_ended` when the goal was terminal before this run started. */
  status: TLeafStatus | 'already_ended';
  lifecycle: string;
}

/** Bookkeeping activities: short, retried until Postgres answers. */
const bookkeeping = proxyActivities<TActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: ['GoalNotFound', 'InvalidAction'],
  },
});

/** Time the activity may run past the command's own timeout (kill, collect output, report). */
const KILL_GRACE_S = 15;
/**
 * Attempts beyond the leaf's own `retries`, for infrastructure failures only
 * (a worker shut down or lost). The activity makes its own failures
 * non-retryable once the leaf's retries are spent.
 */
const INFRASTRUCTURE_ATTEMPTS = 3;

function leafActivities(options: TLeafRunOptions) {
  return proxyActivities<TActivities>({
    startToCloseTimeout: `${options.timeoutS + KILL_GRACE_S} seconds`,
    heartbeatTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: options.retries + 1 + INFRASTRUCTURE_ATTEMPTS,
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: ['GoalNotFound', 'InvalidAction', 'CommandCancelled'],
    },
  });
}

/** How a leaf ended, read off the activity's failure: a code string, never `instanceof` on our own classes. */
function classifyLeafFailure(err: ActivityFailure, options: TLeafRunOptions): { status: TLeafStatus; outcome: TGoalOutcome } {
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) {
    if (cause.timeoutType === 'HEARTBEAT') {
      return {
        status: 'failed',
        outcome: { lifecycle: 'failed', failureReason: 'the worker running the command stopped responding (no heartbeat for 30s)' },
      };
    }
    return { status: 'timed_out', outcome: { lifecycle: 'failed', failureReason: `timed out after ${options.timeoutS}s` } };
  }
  if (cause instanceof ApplicationFailure) {
    const output = cause.details?.[0];
    const attempts = options.retries > 0 ? ` (after ${options.retries + 1} attempts)` : '';
    if (cause.type === 'LeafTimedOut') {
      return { status: 'timed_out', outcome: { lifecycle: 'failed', failureReason: `${cause.message}${attempts}`, output } };
    }
    return { status: 'failed', outcome: { lifecycle: 'failed', failureReason: `${cause.message}${attempts}`, output } };
  }
  return { status: 'failed', outcome: { lifecycle: 'failed', failureReason: cause?.message ?? err.message } };
}

async function runLeaf(goalId: string, options: TLeafRunOptions): Promise<{ status: TLeafStatus; outcome: TGoalOutcome }> {
  const leaf = leafActivities(options);
  try {
    const output = await leaf.runShellAction({ goalId });
    return { status: 'succeeded', outcome: { lifecycle: 'done', doneReason: 'accepted', output } };
  } catch (err) {
    if (err instanceof ActivityFailure && !isCancellation(err)) return classifyLeafFailure(err, options);
    throw err;
  }
}

export async function runGoal({ goalId }: TRunGoalInput): Promise<TRunGoalResult> {
  let result: { status: TLeafStatus; outcome: TGoalOutcome };
  try {
    const started = await bookkeeping.startGoal({ goalId });
    if (isTerminal(started.lifecycle)) {
      // Already ended (a re-delivered start): never run its action twice.
      return { goalId, status: 'already_ended', lifecycle: started.lifecycle };
    }
    if (started.kind !== 'leaf' || !started.leaf) {
      result = { status: 'failed', outcome: { lifecycle: 'failed', failureReason: 'composite goals are not runnable yet' } };
    } else {
      result = await runLeaf(goalId, started.leaf);
    }
  } catch (err) {
    if (isCancellation(err)) throw err;
    // Whatever went wrong is written on the goal: no failure goes unexplained.
    const reason = err instanceof ActivityFailure ? (err.cause?.message ?? err.message) : err instanceof Error ? err.message : String(err);
    result = { status: 'failed', outcome: { lifecycle: 'failed', failureReason: reason } };
  }

  await bookkeeping.finishGoal({ goalId, outcome: result.outcome });
  if (result.outcome.lifecycle === 'failed') {
    throw ApplicationFailure.nonRetryable(`goal ${goalId} failed: ${result.outcome.failureReason}`, 'GoalFailed', {
      goalId,
      status: result.status,
    });
  }
  return { goalId, status: result.status, lifecycle: result.outcome.lifecycle };
}
