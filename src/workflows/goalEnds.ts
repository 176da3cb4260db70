import { ActivityFailure, ApplicationFailure, log, TemporalFailure, TimeoutFailure, workflowInfo } from '@temporalio/workflow';
import { FAILURE_TYPES, internalReason, isOurFailureType, looksInternal } from '../domain/errors';
import { HEARTBEAT_TIMEOUT_S, type TLeafRunOptions } from '../domain/execution';
import { parseOutputObject, type TEdgeContext } from '../domain/expressions';
import type { TEndStatus, TGoalOutcome } from '../domain/goals';

/**
 * How a goal ended, as pursueGoal reasons about it: the edge context its
 * successors see and the outcome recorded in Postgres. Pure functions over
 * results and failures (no activities, no timers).
 */

/** A goal's own work ended (succeeded, failed or timed out): its edges fire on this context. */
export interface TWorkEnd {
  status: TEndStatus;
  context: TEdgeContext;
  outcome: Exclude<TGoalOutcome, { lifecycle: 'cancelled' }>;
}

/** A goal was cancelled: it counts as not done and fires none of its edges, so it has no edge context (a cancel is not a failure). */
export interface TCancelledEnd {
  status: 'cancelled';
  outcome: Extract<TGoalOutcome, { lifecycle: 'cancelled' }>;
}

export type TEnd = TWorkEnd | TCancelledEnd;

export function context(status: TEndStatus, fields: Partial<TEdgeContext> = {}): TEdgeContext {
  return { status, exit_code: null, stdout: '', stderr: '', http_status: null, output: {}, ...fields };
}

export function succeeded(ctx: TEdgeContext = context('succeeded'), output?: unknown): TWorkEnd {
  return { status: 'succeeded', context: ctx, outcome: { lifecycle: 'done', doneReason: 'accepted', ...(output === undefined ? {} : { output }) } };
}

export function failed(status: TEndStatus, reason: string, ctx: TEdgeContext, output?: unknown): TWorkEnd {
  return { status, context: ctx, outcome: { lifecycle: 'failed', failureReason: reason, ...(output === undefined ? {} : { output }) } };
}

/** A cancelled goal: it counts as not done, and fires none of its edges (a cancel is not a failure). */
export function cancelledEnd(): TCancelledEnd {
  return { status: 'cancelled', outcome: { lifecycle: 'cancelled' } };
}

/** How a goal that ended earlier counts for its parent: done as done, anything else as not done. */
export function endOfEarlier(lifecycle: string): TEnd {
  if (lifecycle === 'done') return succeeded();
  if (lifecycle === 'failed') return failed('failed', 'it had failed before this run reached it', context('failed'));
  return cancelledEnd();
}

/**
 * The reason written on a goal or a run for an error the workflow caught:
 * only text we wrote for users. Our own failures (a FAILURE_TYPES type, made
 * by the activities' error boundary or by us) and Temporal's own (a timeout,
 * a termination) say what they say; anything else, such as an old history's
 * failure carrying raw driver text, is logged here and named only by a
 * reference to that log entry.
 */
export function describeError(err: unknown): string {
  const failure = err instanceof ActivityFailure ? (err.cause ?? err) : err;
  if (failure instanceof ApplicationFailure) {
    if (isOurFailureType(failure.type) && !looksInternal(failure.message)) return failure.message;
    return unexpected(err, failure.message);
  }
  if (failure instanceof TimeoutFailure && err instanceof ActivityFailure && failure.timeoutType === 'SCHEDULE_TO_CLOSE') {
    return `${err.activityType} could not complete: the infrastructure (Postgres, a worker) stayed unavailable for longer than its retry window`;
  }
  if (failure instanceof TemporalFailure && !looksInternal(failure.message)) return failure.message;
  return unexpected(err, failure instanceof Error ? failure.message : String(failure));
}

/** An error whose text is not ours: logged in full (the worker's log), and named by a reference. */
function unexpected(err: unknown, detail: string): string {
  const info = workflowInfo();
  const where = err instanceof ActivityFailure ? `${err.activityType}#${err.activityId}` : 'workflow';
  const ref = `${info.workflowId}/${where}`;
  log.error(`unexpected error (ref ${ref}): ${detail}`, { ref, workflowId: info.workflowId, runId: info.runId });
  return internalReason(ref);
}

/**
 * Edge context from a shell or http result digest (or a failed attempt's
 * details). Digests carry `output` parsed from the full text; histories
 * recorded before digests carry the full text, parsed here.
 */
export function resultContext(status: TEndStatus, result: unknown): TEdgeContext {
  const r = (result ?? {}) as { exit_code?: number | null; stdout?: string; stderr?: string; http_status?: number | null; body?: string; output?: Record<string, unknown> };
  return context(status, {
    exit_code: r.exit_code ?? null,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    http_status: r.http_status ?? null,
    output: r.output ?? parseOutputObject(r.stdout ?? r.body),
  });
}

/** How a leaf's activity failed, read off the failure's type string (never `instanceof` on our classes). */
export function classifyActivityFailure(err: ActivityFailure, options: TLeafRunOptions, heartbeatTimeoutS = HEARTBEAT_TIMEOUT_S): TEnd {
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) {
    if (cause.timeoutType === 'SCHEDULE_TO_CLOSE') return failed('failed', describeError(err), context('failed'));
    if (cause.timeoutType === 'HEARTBEAT') {
      return failed('failed', `the worker running it stopped responding (no heartbeat for ${heartbeatTimeoutS}s)`, context('failed'));
    }
    return failed('timed_out', `timed out after ${options.timeoutS}s`, context('timed_out'));
  }
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0];
    const attempts = options.retries > 0 ? ` (after ${options.retries + 1} attempts)` : '';
    const status: TEndStatus = cause.type === FAILURE_TYPES.LeafTimedOut ? 'timed_out' : 'failed';
    const ours = cause.type === FAILURE_TYPES.CommandFailed || cause.type === FAILURE_TYPES.HttpFailed || cause.type === FAILURE_TYPES.LeafTimedOut;
    // The failed attempt's full result is already stored on the goal.
    if (ours && !looksInternal(cause.message)) return failed(status, `${cause.message}${attempts}`, resultContext(status, details));
    return failed('failed', describeError(err), context('failed'));
  }
  return failed('failed', describeError(err), context('failed'));
}

/** The goal failed: the Temporal workflow fails with the same reason. */
export function goalFailure(goalId: string, reason: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`goal ${goalId} failed: ${reason}`, FAILURE_TYPES.GoalFailed, { goalId, reason });
}

/** Whether a child workflow's failure is one its goal recorded itself (GoalFailed), and the reason it gave. */
export function recordedFailureReason(cause: unknown): string | undefined {
  if (cause instanceof ApplicationFailure && cause.type === FAILURE_TYPES.GoalFailed) {
    return String((cause.details?.[0] as { reason?: string } | undefined)?.reason);
  }
  return undefined;
}
