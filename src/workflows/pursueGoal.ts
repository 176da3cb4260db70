import {
  ActivityFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  condition,
  ContinueAsNew,
  executeChild,
  isCancellation,
  makeContinueAsNewFunc,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import type { TLayer, TLayerChild, TLayerLeaf } from '../activities';
import { assertNever } from '../domain/assertNever';
import { HISTORY_BYTES_LIMIT, LEAF_HEARTBEAT_TIMEOUT_S } from '../domain/execution';
import { isTerminal } from '../domain/goals';
import { RUNTIMES } from '../domain/runtimes';
import { SA_ROOT_GOAL_ID } from '../domain/searchAttributes';
import { PERFORM_RUN_TYPE, pursueGoalStart, performRunStart, type TGoalCarry, type TPursueGoalResult, type TPursueGoalInput } from '../temporal/starts';
import {
  cancelledEnd,
  classifyActivityFailure,
  context,
  describeError,
  endOfEarlier,
  failed,
  goalFailure,
  recordedFailureReason,
  succeeded,
  type TEnd,
  type TWorkEnd,
} from './goalEnds';
import { openInbox } from './inbox';
import { bookkeepingActivities, checkActivities, leafRunner, rootStepActivities } from './proxies';
import type { performRun } from './performRun';
import { walkLayer } from './walk';

/** Root executions started before a root was opened by a local activity (histories without this marker) open it with a regular one. */
export const OPEN_GOAL_LOCALLY_PATCH = 'open-goal-locally';

/** An end whose recorded outcome also sets the output (or names the kept completion it comes from). */
function withOutcome(end: TWorkEnd, recorded: { output?: unknown; completionId?: string }): TWorkEnd {
  return { ...end, outcome: { ...end.outcome, ...recorded } };
}

/** What an earlier end recorded as output (its own, or a kept completion's), carried to a later one. */
function recordedOf(end: TWorkEnd): { output?: unknown; completionId?: string } {
  const { outcome } = end;
  return { ...(outcome.output === undefined ? {} : { output: outcome.output }), ...(outcome.completionId === undefined ? {} : { completionId: outcome.completionId }) };
}

/**
 * pursueGoal: the Temporal workflow that carries one goal to its end, the
 * engine at scale. Every step is recorded in Postgres through activities.
 *
 * - A leaf the worker runs (shell, http: domain/runtimes) is one activity
 *   (runLeaf: start, action, check, end); one completed from outside
 *   (manual, agent) waits for a message from the API.
 * - A composite walks its plan layer (walk.ts): at most `parallelism`
 *   children at once, leaves as activities in this workflow, composite
 *   children as child workflows (ids stored on their rows).
 * - Histories stay bounded: past `tuning.historyLimit` events a walk (or a
 *   plan wait) continues as new, carrying only what the walk needs.
 * - When the goal fails, the Temporal workflow fails too, with the goal's
 *   reason, so the Web UI tells the same story as the API.
 */
export async function pursueGoal(input: TPursueGoalInput): Promise<TPursueGoalResult> {
  const { goalId, tuning } = input;
  const bookkeeping = bookkeepingActivities(tuning);
  const checks = checkActivities(tuning);
  const inbox = openInbox(bookkeeping);
  // The root goal id travels in the start's search attributes.
  const rootId = workflowInfo().typedSearchAttributes.get(SA_ROOT_GOAL_ID) ?? goalId;
  // A root whose start says so opens and finishes its own goal by local activities (TPursueGoalInput.ownStepsLocal).
  const ownStepsLocal = goalId === rootId && input.ownStepsLocal === true;

  /** Whether this execution's history is big enough to continue as new. */
  const shouldContinueAsNew = (): boolean => {
    const info = workflowInfo();
    return info.historyLength >= tuning.historyLimit || info.historySize >= HISTORY_BYTES_LIMIT || info.continueAsNewSuggested;
  };
  // The next execution keeps this one's search attributes, so the Web UI and our queries find every execution of the goal.
  // A cancel requested meanwhile wins: Temporal would carry a continue-as-new past it.
  const continueAsNew = (carry: TGoalCarry): Promise<never> => {
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('the goal was cancelled');
    return makeContinueAsNewFunc<typeof pursueGoal>({ typedSearchAttributes: workflowInfo().typedSearchAttributes })({
      goalId,
      tuning,
      carry,
      ...(input.ownStepsLocal ? { ownStepsLocal: true as const } : {}),
    });
  };

  /** A goal whose own work succeeded passes its acceptance (check, then judgment) or fails. */
  async function accept(id: string, flags: { check: boolean; judgment: boolean }, end: TWorkEnd): Promise<TEnd> {
    if (flags.check) {
      const check = await checks.runAcceptanceCheck({ goalId: id });
      if (!check.passed) {
        const why = check.timed_out ? 'timed out' : `exited with code ${check.exit_code}`;
        // The check's result is stored beside the action's output by the activity.
        return withOutcome(failed('failed', `acceptance check failed: it ${why}`, { ...end.context, status: 'failed' }), recordedOf(end));
      }
    }
    if (flags.judgment) return judge(id, end);
    return end;
  }

  async function judge(id: string, end: TWorkEnd): Promise<TEnd> {
    const got = await inbox.waitForVerdict(id);
    if (!('message' in got)) return 'ended' in got ? endOfEarlier(got.ended) : cancelledEnd();
    if (got.message.verdict !== 'accept') {
      return withOutcome(failed('failed', `rejected: ${got.message.reason || 'no reason given'}`, { ...end.context, status: 'failed' }), recordedOf(end));
    }
    return end;
  }

  /**
   * Carries a leaf (this execution's own, or a child) to its recorded end.
   * Once the end is decided the leaf stops being cancellable (`decided`),
   * and the end is recorded even if a cancellation arrives meanwhile.
   */
  async function runLeafGoal(id: string, leaf: TLayerLeaf, decided: () => void = () => undefined): Promise<TEnd> {
    let end: TEnd;
    try {
      const runtime = RUNTIMES[leaf.runtime];
      switch (runtime.executedBy) {
        case 'worker': {
          const result = await leafRunner(leaf, tuning)({ goalId: id, ...(leaf.defaultTimeoutS === undefined ? {} : { defaultTimeoutS: leaf.defaultTimeoutS }) });
          if (result.status === 'cancelled') return cancelledEnd();
          end = result.status === 'succeeded' ? succeeded(result.context) : failed(result.status, result.failureReason ?? 'it failed', result.context);
          if (result.recorded) return end;
          end = await judge(id, end);
          break;
        }
        case 'outside': {
          // Someone outside finishes it through the API (a manual leaf: anyone; an agent leaf: an agent from the pool).
          const got = await inbox.waitForCompletion(id, runtime.waitingFor, leaf.explicitTimeout ? leaf.timeoutS : undefined);
          if ('ended' in got) return endOfEarlier(got.ended);
          if ('timedOut' in got) end = failed('timed_out', `not completed within ${leaf.timeoutS}s`, context('timed_out'));
          else {
            const { output = {}, completionId } = got.message;
            // The output is recorded from what the API kept under the completion's id (it crosses history once, in the update).
            const recorded = completionId === undefined ? { output } : { completionId };
            end =
              got.message.outcome === 'failed'
                ? withOutcome(failed('failed', got.message.reason ?? 'completed as failed', context('failed', { output })), recorded)
                : withOutcome(succeeded(context('succeeded', { output })), recorded);
            if (end.status === 'succeeded') end = await accept(id, leaf, end);
          }
          break;
        }
        default:
          return assertNever(runtime, 'runtime');
      }
    } catch (err) {
      if (isCancellation(err) || CancellationScope.current().consideredCancelled) throw err;
      // Whatever went wrong is written on the goal: no failure goes unexplained.
      end = err instanceof ActivityFailure ? classifyActivityFailure(err, leaf, LEAF_HEARTBEAT_TIMEOUT_S) : failed('failed', describeError(err), context('failed'));
    }
    decided();
    const outcome = end.outcome;
    await CancellationScope.nonCancellable(() => bookkeeping.finishGoal({ goalId: id, outcome }));
    return end;
  }

  async function runChild(child: TLayerChild): Promise<TEnd> {
    if (child.composite) {
      try {
        // A child naming another saved workflow runs as that workflow's nested run (its own performRun).
        const result = child.composite.run
          ? await executeChild<typeof performRun>(PERFORM_RUN_TYPE, {
              ...performRunStart(child.composite.run, tuning),
              cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            })
          : await executeChild(pursueGoal, {
              ...pursueGoalStart({ id: child.id, rootId, title: child.composite.title, temporalWorkflowId: child.composite.temporalWorkflowId }, tuning),
              cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            });
        if (result.status === 'already_ended' || result.lifecycle !== 'done') return endOfEarlier(result.lifecycle);
        return succeeded();
      } catch (err) {
        if (CancellationScope.current().consideredCancelled) throw err;
        if (err instanceof ChildWorkflowFailure && isCancellation(err)) {
          await CancellationScope.nonCancellable(() => bookkeeping.cancelSubtree({ goalId: child.id }));
          return cancelledEnd();
        }
        const cause = err instanceof ChildWorkflowFailure ? err.cause : undefined;
        const recorded = recordedFailureReason(cause);
        const reason = recorded ?? describeError(cause ?? err);
        // A child that failed normally recorded its own end. One that was
        // terminated, or never started, did not: close its subtree here.
        if (recorded === undefined) await CancellationScope.nonCancellable(() => bookkeeping.failSubtree({ goalId: child.id, reason }));
        return failed('failed', reason, context('failed'));
      }
    }
    const leaf = child.leaf as TLayerLeaf;
    if (leaf.invalid !== undefined) {
      // Its stored action no longer parses: this leaf fails, naming why; its siblings run on.
      const end = failed('failed', leaf.invalid, context('failed'));
      await bookkeeping.finishGoal({ goalId: child.id, outcome: end.outcome });
      return end;
    }
    const scope = new CancellationScope();
    inbox.leafScopes.set(child.id, scope);
    try {
      return await scope.run(() => runLeafGoal(child.id, leaf, () => inbox.leafScopes.delete(child.id)));
    } catch (err) {
      // Only this leaf was cancelled (POST /api/goals/{id}/cancel): record it and go on.
      if (isCancellation(err) && !CancellationScope.current().consideredCancelled) {
        await CancellationScope.nonCancellable(() => bookkeeping.cancelSubtree({ goalId: child.id }));
        return cancelledEnd();
      }
      throw err;
    } finally {
      inbox.leafScopes.delete(child.id);
    }
  }

  /** Waits `blocked` for a plan (a signal, or a periodic look); continues as new past the history limit. */
  async function waitForPlan(resumed: boolean): Promise<TLayer> {
    if (!resumed) await bookkeeping.setWaiting({ goalId, waitingFor: 'plan' });
    for (;;) {
      await condition(() => inbox.state.planSignalled, `${tuning.planRecheckS} seconds`);
      inbox.state.planSignalled = false;
      const { layer } = await bookkeeping.openGoal({ goalId, start: false });
      if (layer) {
        await bookkeeping.setWaiting({ goalId, waitingFor: null });
        return layer;
      }
      if (shouldContinueAsNew()) await continueAsNew({ stage: 'plan' });
    }
  }

  /** Walks the layer to its end (continuing as new as often as its history needs), then the composite's acceptance. */
  async function runComposite(layer: TLayer, acceptance: { check: boolean; judgment: boolean }, carry?: Extract<TGoalCarry, { stage: 'walk' }>): Promise<TEnd> {
    const result = await walkLayer({
      layer,
      carry,
      runChild,
      skip: (goals) => bookkeeping.skipGoals({ goals }),
      shouldContinueAsNew,
    });
    if (!result.finished) return continueAsNew({ stage: 'walk', acceptance, ...result.carry, executions: (carry?.executions ?? 1) + 1 });
    if (result.faults.length) {
      const more = result.faults.length > 1 ? ` (and ${result.faults.length - 1} more)` : '';
      return failed('failed', `${result.faults[0]}${more}`, context('failed'));
    }
    const { count, first } = result.notDone;
    if (count > 0 && first) {
      const key = (layer.children[first.index] as TLayerChild).key;
      const more = count > 1 ? ` (and ${count - 1} more child${count > 2 ? 'ren' : ''} did not finish done)` : '';
      return failed('failed', `child "${key}" ${first.what}${more}`, context('failed'));
    }
    return accept(goalId, acceptance, succeeded());
  }

  /** This execution's own goal, to its end; `recorded` when its end is already in Postgres. */
  async function runOwnGoal(): Promise<{ end: TEnd; recorded: boolean } | { alreadyEnded: string }> {
    const carry = input.carry;
    // A root leaf the worker runs came with how to run it (TPursueGoalInput.leaf): it starts at once, unopened. A goal
    // that ended before (cancelled while its start was on its way) is only reported by the leaf's activity.
    if (input.leaf && carry === undefined) return { end: await runLeafGoal(goalId, input.leaf), recorded: true };
    // A root opens in its first workflow task (one hop less before a tree's first work). Not a child: a wide
    // layer's children opening at once would hold every workflow-task slot of the worker while they read.
    // Roots started before ownStepsLocal decide by the patch (their histories hold its marker, or not).
    const opening = ownStepsLocal || (goalId === rootId && patched(OPEN_GOAL_LOCALLY_PATCH)) ? rootStepActivities(tuning) : bookkeeping;
    const opened = await opening.openGoal({ goalId, start: carry === undefined });
    if (carry?.stage === 'walk') return { end: await runComposite(opened.layer as TLayer, carry.acceptance, carry), recorded: false };
    if (isTerminal(opened.lifecycle)) return { alreadyEnded: opened.lifecycle };
    if (opened.kind === 'leaf') {
      const leaf = opened.leaf as TLayerLeaf;
      if (leaf.invalid !== undefined) return { end: failed('failed', leaf.invalid, context('failed')), recorded: false };
      return { end: await runLeafGoal(goalId, leaf), recorded: true };
    }
    if (carry?.stage === 'plan' && opened.layer) await bookkeeping.setWaiting({ goalId, waitingFor: null });
    const layer = opened.layer ?? (await waitForPlan(carry?.stage === 'plan'));
    return { end: await runComposite(layer, opened.acceptance), recorded: false };
  }

  let own: Awaited<ReturnType<typeof runOwnGoal>>;
  try {
    try {
      own = await runOwnGoal();
    } catch (err) {
      if (err instanceof ContinueAsNew || isCancellation(err) || CancellationScope.current().consideredCancelled) throw err;
      // Whatever went wrong (an activity out of retries, a plan that no longer loads) is written on the goal:
      // no failure goes unexplained, and no goal stays active after its workflow ended.
      own = { end: failed('failed', describeError(err), context('failed')), recorded: false };
    }
    if ('end' in own && !own.recorded) {
      const outcome = own.end.outcome;
      // A root finishes in the workflow task that decided its end (its run shows done a hop sooner).
      const finishing = ownStepsLocal ? rootStepActivities(tuning) : bookkeeping;
      await CancellationScope.nonCancellable(() => finishing.finishGoal({ goalId, outcome }));
    }
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err) || CancellationScope.current().consideredCancelled) {
      // Cancelled (this goal or an ancestor): everything unfinished below it ends `cancelled`.
      await CancellationScope.nonCancellable(() => bookkeeping.cancelSubtree({ goalId }));
    }
    throw err;
  }
  if ('alreadyEnded' in own) return { goalId, status: 'already_ended', lifecycle: own.alreadyEnded };
  const { end } = own;
  if (end.outcome.lifecycle === 'failed') throw goalFailure(goalId, end.outcome.failureReason);
  // The execution's result keeps its shape (status: the goal's work did not succeed; lifecycle: it was cancelled).
  if (end.status === 'cancelled') return { goalId, status: 'failed', lifecycle: 'cancelled' };
  return { goalId, status: end.status, lifecycle: end.outcome.lifecycle };
}
