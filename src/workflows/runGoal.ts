import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  condition,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { TActivities, TPlanChildRef, TStartedGoal } from '../activities';
import type { TLeafRunOptions } from '../domain/actions';
import { parseOutputObject, type TEdgeContext } from '../domain/expressions';
import { isTerminal, type TGoalOutcome } from '../domain/goals';
import { PlanGraph } from '../domain/graph';
import { SA_GOAL_ID, SA_ROOT_GOAL_ID } from '../domain/searchAttributes';
import { cancelGoalUpdate, completeGoalUpdate, judgeGoalUpdate, planInstalledSignal, type TCompleteGoalInput, type TJudgeGoalInput } from './messages';

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
 */

export interface TRunGoalInput {
  goalId: string;
}

export type TEndStatus = 'succeeded' | 'failed' | 'timed_out';

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

/** How a goal that ended earlier counts for its parent: done as done, anything else as not done. */
function endOfEarlier(lifecycle: string): TEnd {
  if (lifecycle === 'done') return { status: 'succeeded', context: context('succeeded'), outcome: { lifecycle: 'done', doneReason: 'accepted' } };
  if (lifecycle === 'failed') return { status: 'failed', context: context('failed'), outcome: { lifecycle: 'failed', failureReason: 'it had failed before this run reached it' } };
  return cancelledEnd();
}

/** A cancelled child: it counts as not done, and fires none of its edges (a cancel is not a failure). */
function cancelledEnd(): TEnd {
  return { status: 'failed', cancelled: true, context: context('failed'), outcome: { lifecycle: 'cancelled' } };
}

function describeError(err: unknown): string {
  if (err instanceof ActivityFailure) return err.cause?.message ?? err.message;
  return err instanceof Error ? err.message : String(err);
}

/** How one goal ended: its edge context for successors and its recorded outcome. */
interface TEnd {
  status: TEndStatus;
  /** Cancelled: fires no edges at all. */
  cancelled?: boolean;
  context: TEdgeContext;
  outcome: TGoalOutcome;
}

/** Bookkeeping activities: short, retried until Postgres answers. */
const bookkeeping = proxyActivities<TActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['GoalNotFound', 'InvalidAction'] },
});

/** Acceptance checks run a command: long, heartbeating, cancellable. */
const checks = proxyActivities<TActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['GoalNotFound', 'CommandCancelled'] },
});

/** How often a composite waiting for its plan looks in Postgres without a signal (two history events each time). */
const PLAN_RECHECK_INTERVAL = '10 minutes';

/** Time an activity may run past the action's own timeout (kill, collect output, report). */
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

function context(status: TEndStatus, fields: Partial<TEdgeContext> = {}): TEdgeContext {
  return { status, exit_code: null, stdout: '', stderr: '', http_status: null, output: {}, ...fields };
}

/**
 * Edge context from a shell or http result digest (or a failed attempt's
 * details). Digests carry `output` parsed from the full text; histories
 * recorded before digests carry the full text, parsed here.
 */
function resultContext(status: TEndStatus, result: unknown): TEdgeContext {
  const r = (result ?? {}) as { exit_code?: number | null; stdout?: string; stderr?: string; http_status?: number | null; body?: string; output?: Record<string, unknown> };
  return context(status, {
    exit_code: r.exit_code ?? null,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    http_status: r.http_status ?? null,
    output: r.output ?? parseOutputObject(r.stdout ?? r.body),
  });
}

function failed(status: TEndStatus, reason: string, ctx: TEdgeContext, output?: unknown): TEnd {
  return { status, context: ctx, outcome: { lifecycle: 'failed', failureReason: reason, ...(output === undefined ? {} : { output }) } };
}

/** How a leaf's activity failed, read off the failure's type string (never `instanceof` on our classes). */
function classifyActivityFailure(err: ActivityFailure, options: TLeafRunOptions): TEnd {
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) {
    if (cause.timeoutType === 'HEARTBEAT') {
      return failed('failed', 'the worker running it stopped responding (no heartbeat for 30s)', context('failed'));
    }
    return failed('timed_out', `timed out after ${options.timeoutS}s`, context('timed_out'));
  }
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0];
    const attempts = options.retries > 0 ? ` (after ${options.retries + 1} attempts)` : '';
    const status: TEndStatus = cause.type === 'LeafTimedOut' ? 'timed_out' : 'failed';
    // The failed attempt's full result is already stored on the goal.
    return failed(status, `${cause.message}${attempts}`, resultContext(status, details));
  }
  return failed('failed', cause?.message ?? err.message, context('failed'));
}

/** The goal failed: the Temporal workflow fails with the same reason. */
function goalFailure(goalId: string, reason: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`goal ${goalId} failed: ${reason}`, 'GoalFailed', { goalId, reason });
}

export async function runGoal({ goalId }: TRunGoalInput): Promise<TRunGoalResult> {
  // Messages from the API, keyed by goal id (this workflow runs its own goal
  // and, for a composite, its leaf children).
  const waiting = new Map<string, 'completion' | 'judgment'>();
  const completions = new Map<string, TCompleteGoalInput>();
  const verdicts = new Map<string, TJudgeGoalInput>();
  const leafScopes = new Map<string, CancellationScope>();
  let planSignalled = false;
  // Versioning: runs recorded before this patch counted a cancelled leaf as
  // failed and tried to record that inside the cancelled scope. Newer runs
  // record it as cancelled, outside the scope. Replays of older histories
  // (test/histories) keep the old path.
  const cancelIsNotFailure = patched('cancelled-leaf-is-not-a-failure');

  // A message is taken once: the handler ends the wait at once, so a second
  // update for the same goal (even in the same activation) is refused.
  setHandler(
    completeGoalUpdate,
    (input) => {
      waiting.delete(input.goalId);
      completions.set(input.goalId, input);
    },
    {
      validator: (input) => {
        if (waiting.get(input.goalId) !== 'completion' || completions.has(input.goalId)) {
          throw new Error(`goal ${input.goalId} is not waiting to be completed`);
        }
      },
    },
  );
  setHandler(
    judgeGoalUpdate,
    (input) => {
      waiting.delete(input.goalId);
      verdicts.set(input.goalId, input);
    },
    {
      validator: (input) => {
        if (waiting.get(input.goalId) !== 'judgment' || verdicts.has(input.goalId)) {
          throw new Error(`goal ${input.goalId} is not waiting for judgment`);
        }
      },
    },
  );
  setHandler(
    cancelGoalUpdate,
    ({ goalId: id }) => {
      leafScopes.get(id)?.cancel();
    },
    {
      validator: ({ goalId: id }) => {
        if (!leafScopes.has(id)) throw new Error(`goal ${id} is not running`);
      },
    },
  );
  setHandler(planInstalledSignal, () => {
    planSignalled = true;
  });

  /**
   * Waits for a message for `id` (recording in Postgres what it waits for);
   * undefined when `timeoutS` passes first. The validator accepts the message
   * from the moment `waiting` is set, so none is lost to the activity's latency.
   */
  async function waitForMessage<T>(
    id: string,
    kind: 'completion' | 'judgment',
    inbox: Map<string, T>,
    waitingFor: 'completion' | 'agent' | 'judgment',
    timeoutS?: number,
  ): Promise<T | undefined> {
    waiting.set(id, kind);
    try {
      await bookkeeping.setWaiting({ goalId: id, waitingFor });
      if (timeoutS === undefined) await condition(() => inbox.has(id));
      else if (!(await condition(() => inbox.has(id), `${timeoutS} seconds`))) return undefined;
      return inbox.get(id);
    } finally {
      waiting.delete(id);
    }
  }

  async function runAction(id: string, options: TLeafRunOptions): Promise<TEnd> {
    if (options.runtime === 'shell' || options.runtime === 'http') {
      const acts = leafActivities(options);
      try {
        const result = options.runtime === 'shell' ? await acts.runShellAction({ goalId: id }) : await acts.runHttpAction({ goalId: id });
        // The activity stored the full result on the goal; the outcome leaves it there.
        return { status: 'succeeded', context: resultContext('succeeded', result), outcome: { lifecycle: 'done', doneReason: 'accepted' } };
      } catch (err) {
        // Inside a cancelled scope every failure is the cancellation's doing.
        if (cancelIsNotFailure && CancellationScope.current().consideredCancelled) throw err;
        if (err instanceof ActivityFailure && !isCancellation(err)) return classifyActivityFailure(err, options);
        throw err;
      }
    }
    // manual and agent: someone outside finishes it through the API.
    const got = await waitForMessage(
      id,
      'completion',
      completions,
      options.runtime === 'agent' ? 'agent' : 'completion',
      options.explicitTimeout ? options.timeoutS : undefined,
    );
    if (!got) return failed('timed_out', `not completed within ${options.timeoutS}s`, context('timed_out'));
    const output = got.output ?? {};
    if (got.outcome === 'failed') return failed('failed', got.reason ?? 'completed as failed', context('failed', { output }), output);
    return { status: 'succeeded', context: context('succeeded', { output }), outcome: { lifecycle: 'done', doneReason: 'accepted', output } };
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
      const verdict = await waitForMessage(id, 'judgment', verdicts, 'judgment');
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
        if (recheck) await condition(() => planSignalled, PLAN_RECHECK_INTERVAL);
        else await condition(() => planSignalled);
        planSignalled = false;
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
    return accept(id, started.acceptance, { status: 'succeeded', context: context('succeeded'), outcome: { lifecycle: 'done', doneReason: 'accepted' } });
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
          workflowId: child.temporalWorkflowId,
          args: [{ goalId: child.id }],
          typedSearchAttributes: [
            { key: SA_GOAL_ID, value: child.id },
            { key: SA_ROOT_GOAL_ID, value: rootId },
          ],
          staticSummary: child.title,
          cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        });
        if (result.status === 'already_ended') return endOfEarlier(result.lifecycle);
        return { status: 'succeeded', context: context('succeeded'), outcome: { lifecycle: 'done', doneReason: 'accepted' } };
      } catch (err) {
        if (CancellationScope.current().consideredCancelled) throw err;
        if (err instanceof ChildWorkflowFailure && isCancellation(err)) {
          await CancellationScope.nonCancellable(() => bookkeeping.cancelSubtree({ goalId: child.id }));
          return cancelledEnd();
        }
        const cause = err instanceof ChildWorkflowFailure ? err.cause : undefined;
        const recorded = cause instanceof ApplicationFailure && cause.type === 'GoalFailed';
        const reason = recorded ? String((cause.details?.[0] as { reason?: string })?.reason) : describeError(cause ?? err);
        // A child that failed normally recorded its own end. One that was
        // terminated, or never started, did not: close its subtree here.
        if (!recorded) await CancellationScope.nonCancellable(() => bookkeeping.failSubtree({ goalId: child.id, reason }));
        return { status: 'failed', context: context('failed'), outcome: { lifecycle: 'failed', failureReason: reason } };
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
