// FROZEN: the first engine (runGoal), kept only so executions it started, and
// their recorded histories (test/histories/v1*), still replay. New work goes
// to runGoalV2; change this only to keep it compiling.
import {
  ActivityFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  condition,
  executeChild,
  isCancellation,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import type { TPlanChildRef, TStartedGoal } from '../../activities';
import type { TLeafRunOptions } from '../../domain/execution';
import { PlanGraph } from './planGraph';
import { isTerminal, type TEndStatus } from '../../domain/goals';
import { SA_ROOT_GOAL_ID } from '../../domain/searchAttributes';
import { runGoalStart } from '../../temporal/starts';
import { bookkeeping, checks, leafActivities } from './activityProxies';
import {
  cancelledEnd,
  classifyActivityFailure,
  context,
  describeError,
  endOfEarlier,
  failed,
  goalFailure,
  recordedFailureReason,
  resultContext,
  succeeded,
  type TEnd,
} from '../goalEnds';
import { openGoalInbox } from './goalInbox';

/**
 * runGoal: the Temporal workflow that carries one goal to its end and records
 * every step in Postgres (through activities: workflow code does no I/O).
 *
 * - A leaf runs its action as an activity (shell, http), or waits for someone
 *   outside to complete it (manual, agent); then its acceptance runs.
 * - A composite walks its plan (src/domain/graph.ts): leaves as activities in
 *   this workflow, composite children as child workflows with the ids stored
 *   on their rows (derived from the goal id, never SDK-generated).
 * - A composite without a plan waits `blocked` until one is installed.
 * When the goal fails, the Temporal workflow fails too, with the goal's
 * reason, so the Web UI tells the same story as the API.
 *
 * How a goal ended is decided by the pure helpers in goalEnds.ts; activity
 * options are in activityProxies.ts.
 */

export interface TRunGoalInput {
  goalId: string;
}

export interface TRunGoalResult {
  goalId: string;
  /** How it ended; `already_ended` when the goal was terminal before this run started. */
  status: TEndStatus | 'already_ended';
  lifecycle: string;
}

/** A goal that had ended before this run reached it. */
interface TAlreadyEnded {
  alreadyEnded: string;
}

/**
 * How often a composite waiting for its plan looks in Postgres without a
 * signal. Each recheck adds about eleven history events (timer, two
 * bookkeeping activities, workflow tasks).
 */
const PLAN_RECHECK_INTERVAL = '10 minutes';

export async function runGoal({ goalId }: TRunGoalInput): Promise<TRunGoalResult> {
  // Versioning: runs recorded before this patch counted a cancelled leaf as
  // failed and tried to record that inside the cancelled scope. Newer runs
  // record it as cancelled, outside the scope. Replays of older histories
  // (test/histories) keep the old path.
  const cancelIsNotFailure = patched('cancelled-leaf-is-not-a-failure');
  // Messages from the API (complete, judge, cancel a leaf, plan installed).
  const inbox = openGoalInbox();
  const { leafScopes } = inbox;

  async function runAction(id: string, options: TLeafRunOptions): Promise<TEnd> {
    if (options.runtime === 'shell' || options.runtime === 'http') {
      const acts = leafActivities(options);
      try {
        const result = options.runtime === 'shell' ? await acts.runShellAction({ goalId: id }) : await acts.runHttpAction({ goalId: id });
        // The activity stored the full result on the goal; the outcome leaves it there.
        return succeeded(resultContext('succeeded', result));
      } catch (err) {
        // Inside a cancelled scope every failure is the cancellation's doing.
        if (cancelIsNotFailure && CancellationScope.current().consideredCancelled) throw err;
        if (err instanceof ActivityFailure && !isCancellation(err)) return classifyActivityFailure(err, options);
        throw err;
      }
    }
    // manual and agent: someone outside finishes it through the API.
    const got = await inbox.waitForCompletion(id, options.runtime === 'agent' ? 'agent' : 'completion', options.explicitTimeout ? options.timeoutS : undefined);
    if (!got) return failed('timed_out', `not completed within ${options.timeoutS}s`, context('timed_out'));
    const output = got.output ?? {};
    if (got.outcome === 'failed') return failed('failed', got.reason ?? 'completed as failed', context('failed', { output }), output);
    return succeeded(context('succeeded', { output }), output);
  }

  /** A goal whose own work succeeded passes its acceptance (check, then judgment) or fails. */
  async function accept(id: string, flags: TStartedGoal['acceptance'] | undefined, end: TEnd): Promise<TEnd> {
    // `flags` is absent in histories recorded before acceptance existed: replay them as "no acceptance".
    if (flags?.check) {
      const check = await checks.runAcceptanceCheck({ goalId: id });
      if (!check.passed) {
        const why = check.timed_out ? 'timed out' : `exited with code ${check.exit_code}`;
        // The check's result is stored beside the action's output by the activity.
        return failed('failed', `acceptance check failed: it ${why}`, { ...end.context, status: 'failed' }, end.outcome.output);
      }
    }
    if (flags?.judgment) {
      const verdict = await inbox.waitForVerdict(id);
      if (verdict?.verdict !== 'accept') {
        return failed('failed', `rejected: ${verdict?.reason || 'no reason given'}`, { ...end.context, status: 'failed' }, end.outcome.output);
      }
    }
    return end;
  }

  async function runComposite(id: string, rootId: string, started: TStartedGoal): Promise<TEnd> {
    let plan = await bookkeeping.loadPlan({ goalId: id });
    if (!plan) {
      await bookkeeping.setWaiting({ goalId: id, waitingFor: 'plan' });
      // The plan-installed signal can be lost (Temporal briefly unreachable
      // when the API sends it), so newer runs also look again now and then.
      const recheck = patched('plan-wait-recheck');
      while (!plan) {
        if (recheck) await condition(() => inbox.state.planSignalled, PLAN_RECHECK_INTERVAL);
        else await condition(() => inbox.state.planSignalled);
        inbox.state.planSignalled = false;
        plan = await bookkeeping.loadPlan({ goalId: id });
      }
      await bookkeeping.setWaiting({ goalId: id, waitingFor: null });
    }
    const children = new Map(plan.children.map((c) => [c.key, c]));
    const graph = new PlanGraph(
      plan.children.map((c) => ({ key: c.key, joinCount: c.joinCount })),
      plan.edges,
    );
    const ends = new Map<string, TEnd>();
    const running = new Map<string, Promise<void>>();
    try {
      await walk();
    } catch (err) {
      // On cancellation, let running children finish their own cleanup (kill
      // commands, close subtrees) before this workflow closes: closing first
      // would terminate child workflows mid-cleanup. Versioned: older runs closed at once.
      if ((isCancellation(err) || CancellationScope.current().consideredCancelled) && patched('cancel-waits-for-children')) {
        await Promise.allSettled(running.values());
      }
      throw err;
    }

    async function walk(): Promise<void> {
      for (;;) {
        let next = graph.decide();
        while (next.skip.length) {
          await bookkeeping.skipGoals({ goals: next.skip.map((k) => ({ goalId: (children.get(k) as TPlanChildRef).id, because: graph.deadReasons(k) })) });
          for (const k of next.skip) graph.ended(k, { skipped: true });
          next = graph.decide();
        }
        for (const key of next.start) {
          graph.started(key);
          const child = children.get(key) as TPlanChildRef;
          running.set(
            key,
            runChild(child, rootId).then((end) => {
              ends.set(key, end);
              graph.ended(key, end.cancelled ? { skipped: true, cancelled: true } : { skipped: false, context: end.context });
              running.delete(key);
            }),
          );
        }
        if (running.size === 0) break;
        await Promise.race(running.values());
      }
    }

    const notDone = plan.children.filter((c) => {
      const end = ends.get(c.key);
      return end !== undefined && end.outcome.lifecycle !== 'done';
    });
    if (notDone.length) {
      const first = notDone[0] as TPlanChildRef;
      const end = ends.get(first.key) as TEnd;
      const what = end.outcome.lifecycle === 'failed' ? `failed: ${end.outcome.failureReason}` : 'was cancelled';
      const more = notDone.length > 1 ? ` (and ${notDone.length - 1} more child${notDone.length > 2 ? 'ren' : ''} did not finish done)` : '';
      return failed('failed', `child "${first.key}" ${what}${more}`, context('failed'));
    }
    return accept(id, started.acceptance, succeeded());
  }

  /**
   * Carries one goal this workflow runs (its own, or a leaf child) from start
   * to its recorded end. Once the end is decided the goal stops being
   * cancellable (`decided`), and the end is recorded even if a cancellation
   * arrives meanwhile: what Postgres says and what the parent counts agree.
   */
  async function executeGoal(id: string, rootId: string, decided: () => void = () => undefined): Promise<TEnd | TAlreadyEnded> {
    let end: TEnd;
    try {
      const started = await bookkeeping.startGoal({ goalId: id });
      // Already ended (cancelled before it started, or a re-delivered start): never run its action twice.
      if (isTerminal(started.lifecycle)) return { alreadyEnded: started.lifecycle };
      if (started.kind === 'composite') {
        end = await runComposite(id, rootId, started);
      } else {
        end = await runAction(id, started.leaf as TLeafRunOptions);
        if (end.status === 'succeeded') end = await accept(id, started.acceptance, end);
      }
    } catch (err) {
      if (isCancellation(err) || (cancelIsNotFailure && CancellationScope.current().consideredCancelled)) throw err;
      // Whatever went wrong is written on the goal: no failure goes unexplained.
      end = failed('failed', describeError(err), context('failed'));
    }
    decided();
    const outcome = end.outcome;
    if (cancelIsNotFailure) await CancellationScope.nonCancellable(() => bookkeeping.finishGoal({ goalId: id, outcome }));
    else await bookkeeping.finishGoal({ goalId: id, outcome });
    return end;
  }

  async function runChild(child: TPlanChildRef, rootId: string): Promise<TEnd> {
    if (child.kind === 'composite') {
      try {
        const result = await executeChild(runGoal, {
          ...runGoalStart({ id: child.id, rootId, title: child.title, temporalWorkflowId: child.temporalWorkflowId }),
          cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        });
        if (result.status === 'already_ended') return endOfEarlier(result.lifecycle);
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
    const scope = new CancellationScope();
    leafScopes.set(child.id, scope);
    try {
      const end = await scope.run(() => executeGoal(child.id, rootId, () => leafScopes.delete(child.id)));
      return 'alreadyEnded' in end ? endOfEarlier(end.alreadyEnded) : end;
    } catch (err) {
      // Only this leaf was cancelled (POST /api/goals/{id}/cancel): record it and go on.
      if (isCancellation(err) && !CancellationScope.current().consideredCancelled) {
        await CancellationScope.nonCancellable(() => bookkeeping.cancelSubtree({ goalId: child.id }));
        return cancelledEnd();
      }
      throw err;
    } finally {
      leafScopes.delete(child.id);
    }
  }

  let end: TEnd | TAlreadyEnded;
  try {
    // The root goal id travels in the start's search attributes.
    end = await executeGoal(goalId, workflowInfo().typedSearchAttributes.get(SA_ROOT_GOAL_ID) ?? goalId);
  } catch (err) {
    if (isCancellation(err) || CancellationScope.current().consideredCancelled) {
      // Cancelled (this goal or an ancestor): everything unfinished below it ends `cancelled`.
      await CancellationScope.nonCancellable(() => bookkeeping.cancelSubtree({ goalId }));
    }
    throw err;
  }
  if ('alreadyEnded' in end) return { goalId, status: 'already_ended', lifecycle: end.alreadyEnded };
  if (end.outcome.lifecycle === 'failed') throw goalFailure(goalId, end.outcome.failureReason);
  return { goalId, status: end.status, lifecycle: end.outcome.lifecycle };
}
