import { ActivityCancellationType, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { TActivities, TLayerLeaf } from '../activities';
import { FAILURE_TYPES } from '../domain/errors';
import { CHECK_ACTIVITY_TIMEOUT_S, HEARTBEAT_TIMEOUT_S, infraRetryWindowS, LEAF_HEARTBEAT_TIMEOUT_S, RETRY_BACKOFF, type TEngineTuning } from '../domain/execution';

/**
 * How the engine's workflows call activities: timeouts, heartbeats, retries.
 * The non-retryable failure types come from the one closed list (FAILURE_TYPES).
 *
 * Infrastructure failures (Postgres down or unreachable, a transient
 * conflict, a worker lost: the activities' error boundary makes them
 * `InfrastructureUnavailable`) never fail a goal while the engine's
 * infrastructure window lasts (`tuning.infraRetryHours`, INFRA_RETRY_HOURS):
 * every proxy retries without an attempt limit, backing off 1 s doubling to
 * 30 s, bounded by a schedule-to-close of that window plus its own work.
 * Retry options are not part of a workflow's command sequence: changing
 * them never breaks the replay of a recorded history.
 */

/** Schedule-to-close (milliseconds): the infrastructure window plus the activity's own work. */
function budget(tuning: TEngineTuning, ownWorkS: number): number {
  return (infraRetryWindowS(tuning) + ownWorkS) * 1000;
}

/** Bookkeeping activities: short, retried until Postgres answers. */
export function bookkeepingActivities(tuning: TEngineTuning) {
  return proxyActivities<TActivities>({
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: budget(tuning, 0),
    retry: { ...RETRY_BACKOFF, nonRetryableErrorTypes: [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.InvalidAction] },
  });
}

/**
 * A root goal's own steps: opening it (openGoal, the first step of its
 * pursueGoal execution) and recording its end (finishGoal, for roots whose
 * start says so: TPursueGoalInput.ownStepsLocal). Local activities, so the
 * workflow task that decides a step runs it and goes on at once, with no
 * task-queue hop and no workflow task of its own. Retried until Postgres
 * answers; past a minute of backoff each retry waits on a timer (as
 * instantiationThroughOutages), not on workflow-task heartbeats.
 */
export function rootStepActivities(tuning: TEngineTuning) {
  return localThroughOutages(tuning, '2 minutes', [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.InvalidAction]);
}

/**
 * Local activities retried until Postgres answers: past a minute of backoff
 * each retry waits on a timer (a few events per `maximumInterval`) rather
 * than keeping the workflow task alive with heartbeats.
 */
function localThroughOutages(tuning: TEngineTuning, maximumInterval: '2 minutes' | '5 minutes', nonRetryableErrorTypes: string[]) {
  return proxyLocalActivities<TActivities>({
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: budget(tuning, 0),
    localRetryThreshold: '1 minute',
    retry: { ...RETRY_BACKOFF, maximumInterval, nonRetryableErrorTypes },
  });
}

/**
 * A composite's or a manual leaf's acceptance check runs a command: long,
 * heartbeating, cancellable. A failing check is a result, not an error: only
 * infrastructure (or a lost worker) makes it throw, and that is retried.
 */
export function checkActivities(tuning: TEngineTuning) {
  return proxyActivities<TActivities>({
    startToCloseTimeout: `${CHECK_ACTIVITY_TIMEOUT_S} seconds`,
    scheduleToCloseTimeout: budget(tuning, CHECK_ACTIVITY_TIMEOUT_S),
    heartbeatTimeout: `${HEARTBEAT_TIMEOUT_S} seconds`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...RETRY_BACKOFF, nonRetryableErrorTypes: [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.CommandCancelled] },
  });
}

/**
 * A shell or http leaf in one activity (runLeaf): its action, check and
 * bookkeeping within `activityTimeoutS`. Attempts are unlimited: the
 * activity counts the leaf's own retries itself (action outcomes, on the
 * goal row) and makes the action's failure final once they are spent, so
 * infrastructure failures and lost workers retry without spending them, for
 * the infrastructure window plus the time the leaf's own attempts may take.
 * Heartbeats every second: a cancel reaches the command within about a
 * second (the worker's heartbeat throttle).
 */
export function leafRunner(leaf: TLayerLeaf, tuning: TEngineTuning) {
  return proxyActivities<TActivities>({
    startToCloseTimeout: `${leaf.activityTimeoutS} seconds`,
    scheduleToCloseTimeout: budget(tuning, (leaf.retries + 1) * (leaf.activityTimeoutS + 30)),
    heartbeatTimeout: `${LEAF_HEARTBEAT_TIMEOUT_S} seconds`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...RETRY_BACKOFF, nonRetryableErrorTypes: [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.InvalidAction, FAILURE_TYPES.CommandCancelled] },
  }).runLeaf;
}

/**
 * A run's instantiation steps (performRun): one transaction each, run as
 * local activities (in the worker that runs the workflow, no task-queue hop
 * per step), retried until Postgres answers; a run that cannot be written as
 * saved is final. A step lost with its worker is run again by the worker that
 * takes the workflow over; a 5,000-child layer takes a few seconds.
 */
export function instantiationActivities(tuning: TEngineTuning) {
  return proxyLocalActivities<TActivities>({
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: budget(tuning, 0),
    retry: { ...RETRY_BACKOFF, nonRetryableErrorTypes: [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.RunInvalid] },
  });
}

/**
 * The same, for a long outage (as schedulingThroughOutages): past a minute of
 * backoff each retry waits on a timer, a few events every two minutes, rather
 * than keeping the run's workflow task alive with heartbeats (three events
 * every ~8 s, past Temporal's history limit within two days of Postgres
 * down). Instantiation resumes at most two minutes after Postgres is back.
 */
export function instantiationThroughOutages(tuning: TEngineTuning) {
  return localThroughOutages(tuning, '2 minutes', [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.RunInvalid]);
}

/**
 * A run's layers, many per call (materializeLayers): a regular activity, so
 * the run's workflow task ends while Postgres takes the rows (a local one
 * keeps it open: a 10,000-goal plan held it 1.7 s). Heartbeats every 2 s, so a
 * lost worker's call is retried within half a minute; retried until Postgres
 * answers, on Temporal's timers however long the outage (no workflow task per
 * retry); a run that cannot be written as saved is final.
 */
export function materializingActivities(tuning: TEngineTuning) {
  return proxyActivities<TActivities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '30 seconds',
    scheduleToCloseTimeout: budget(tuning, 5 * 60),
    retry: { ...RETRY_BACKOFF, maximumInterval: '2 minutes', nonRetryableErrorTypes: [FAILURE_TYPES.GoalNotFound, FAILURE_TYPES.RunInvalid] },
  });
}

/**
 * A schedule fire's decision (fireSchedule): one short transaction, a local
 * activity, retried until Postgres answers, for a long outage. A local activity retrying with backoffs under
 * localRetryThreshold keeps its workflow task alive with heartbeats, three
 * history events every ~8 s: a day of Postgres down would fill the fire's
 * history past Temporal's limit (51,200 events) within two. Past the
 * threshold each retry waits on a timer instead, a few events per
 * maximumInterval (~1,700 a day), and the fire still runs at most five
 * minutes after Postgres is back.
 */
export function schedulingThroughOutages(tuning: TEngineTuning) {
  return localThroughOutages(tuning, '5 minutes', [FAILURE_TYPES.RunInvalid]);
}

export function schedulingActivities(tuning: TEngineTuning) {
  return proxyLocalActivities<TActivities>({
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: budget(tuning, 0),
    retry: { ...RETRY_BACKOFF, nonRetryableErrorTypes: [FAILURE_TYPES.RunInvalid] },
  });
}
