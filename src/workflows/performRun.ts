import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  ContinueAsNew,
  executeChild,
  isCancellation,
  makeContinueAsNewFunc,
  ParentClosePolicy,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import { HISTORY_BYTES_LIMIT } from '../domain/execution';
import { FAILURE_TYPES } from '../domain/errors';
import { pursueGoalStart, type TPursueGoalResult, type TPerformRunInput } from '../temporal/starts';
import { describeError } from './goalEnds';
import { instantiationActivities, instantiationThroughOutages, materializingActivities } from './proxies';
import { pursueGoal } from './pursueGoal';

/** Layers written at once: each is one transaction of up to a plan's children (the worker's pool is 10 connections by default). */
const LAYERS_AT_ONCE = 8;

/** Runs started before instantiation's backoff through long outages (histories without this marker) replay with the old one. */
export const INSTANTIATION_BACKOFF_PATCH = 'instantiation-backoff-through-outages';

/** Runs started before layers were written many per activity (histories without this marker) replay one local activity per layer. */
export const MATERIALIZE_MANY_LAYERS_PATCH = 'materialize-many-layers-per-activity';

/** Plans up to this many goals are written by a local activity: well under a second of inserts, within the run's first workflow task. */
const LOCAL_MATERIALIZE_GOALS = 1000;

/**
 * performRun: one run of a saved workflow (SPEC §4), the Temporal workflow
 * whose id derives from (workflow id, idempotency key), so Temporal refuses a
 * second execution for a key.
 *
 * 1. beginRun: the root goal (id derived from the run id), ledger `materializing`.
 * 2. materializeLayers, breadth first from the root: one call writes every
 *    frozen layer (up to its row budget, then again with the composites it
 *    hands back) and, with the last, moves the ledger to `materialized`; a
 *    local activity for a small plan, a regular one for a big plan. Only goal
 *    ids cross history (never plans). Past the history limit it continues as
 *    new with the ids still to write. (Runs started before: one local
 *    materializeLayer per layer, then finishMaterializing.)
 * 3. Then the tree runs as the root goal's
 *    pursueGoal child, and this execution ends as the tree ends (failing with
 *    the root's own reason when it fails), so the Web UI shows the run's fate.
 *
 * A run that cannot be written as saved (its workflow deleted, a nested
 * workflow gone) ends `failed` in the ledger with the reason, and its root too.
 */
export async function performRun(input: TPerformRunInput): Promise<TPursueGoalResult> {
  const { runId, tuning, version } = input;
  // A start that names its version takes the current paths without a marker (TPerformRunInput.version).
  // Runs started before (no version) ask patched(): those from before the longer backoff (histories without its marker) replay with the old one.
  // Version 2 or any later one: each took these paths without a marker.
  const current = (version ?? 1) >= 2;
  const instantiation = current || patched(INSTANTIATION_BACKOFF_PATCH) ? instantiationThroughOutages(tuning) : instantiationActivities(tuning);
  const begun = await instantiation.beginRun({ runId });
  if (begun.failed !== undefined) throw ApplicationFailure.nonRetryable(`run ${runId} failed: ${begun.failed}`, FAILURE_TYPES.RunInvalid);

  let layers = input.carry?.layers ?? 0;
  let materialized = false;
  const historyFull = (): boolean => {
    const info = workflowInfo();
    return info.historyLength >= tuning.historyLimit || info.historySize >= HISTORY_BYTES_LIMIT || info.continueAsNewSuggested;
  };
  const continueWith = (pending: string[]): Promise<never> =>
    makeContinueAsNewFunc<typeof performRun>({ typedSearchAttributes: workflowInfo().typedSearchAttributes })({ runId, tuning, carry: { pending, layers }, ...(current ? { version } : {}) });
  try {
    if (current || patched(MATERIALIZE_MANY_LAYERS_PATCH)) {
      // A small plan is written within this workflow task (a local activity, no task-queue hop); a big one
      // by regular activities, so no workflow task stays open while Postgres takes its rows.
      const small = begun.planGoals !== undefined && begun.planGoals <= LOCAL_MATERIALIZE_GOALS;
      const materializing = small ? instantiation : materializingActivities(tuning);
      let pending = input.carry?.pending ?? begun.pending;
      while (pending.length) {
        const done = await materializing.materializeLayers({ runId, goalIds: pending, finish: true });
        pending = done.pending;
        layers += done.layers;
        materialized = done.materialized === true;
        if (pending.length && historyFull()) await continueWith(pending);
      }
    } else {
      // A queue read from `next` on: each step's work is its batch, never the whole queue.
      const pending = [...(input.carry?.pending ?? begun.pending)];
      let next = 0;
      while (next < pending.length) {
        const batch = pending.slice(next, next + LAYERS_AT_ONCE);
        next += batch.length;
        const written = await Promise.all(batch.map((goalId) => instantiation.materializeLayer({ goalId })));
        layers += batch.length;
        for (const w of written) for (const id of w.frozen) pending.push(id);
        if (next < pending.length && historyFull()) await continueWith(pending.slice(next));
      }
    }
    if (!materialized) await instantiation.finishMaterializing({ runId });
  } catch (err) {
    if (err instanceof ContinueAsNew || isCancellation(err)) throw err;
    const reason = describeError(err);
    await instantiation.failRun({ runId, reason });
    throw ApplicationFailure.nonRetryable(`run ${runId} could not be instantiated: ${reason}`, FAILURE_TYPES.RunInvalid);
  }

  try {
    return await executeChild(pursueGoal, {
      ...pursueGoalStart(begun.root, tuning),
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
  } catch (err) {
    // The root recorded its own failure: end with that same failure, as a goal's execution would.
    if (err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure && err.cause.type === FAILURE_TYPES.GoalFailed) throw err.cause;
    // The tree was cancelled (its root, through the API): the run ends with it, as pursueGoal ends a cancelled goal.
    if (err instanceof ChildWorkflowFailure && isCancellation(err) && !CancellationScope.current().consideredCancelled) {
      return { goalId: begun.root.id, status: 'failed', lifecycle: 'cancelled' };
    }
    throw err;
  }
}
