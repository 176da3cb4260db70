// FROZEN: the first engine (runGoal), kept only so executions it started, and
// their recorded histories (test/histories/v1*), still replay. New work goes
// to runGoalV2; change this only to keep it compiling.
import { type CancellationScope, condition, setHandler } from '@temporalio/workflow';
import type { TWaitKind } from '../../domain/goals';
import { bookkeeping } from './activityProxies';
import { cancelGoalUpdate, completeGoalUpdate, judgeGoalUpdate, planInstalledSignal, type TCompleteGoalInput, type TJudgeGoalInput } from '../messages';

/**
 * The messages one runGoal execution takes from the API, keyed by goal id
 * (the workflow runs its own goal and, for a composite, its leaf children).
 * A message is taken once: the handler ends the wait at once, so a second
 * update for the same goal (even in the same activation) is refused by its
 * validator and the API answers 409.
 */
export function openGoalInbox() {
  const waiting = new Map<string, 'completion' | 'judgment'>();
  const completions = new Map<string, TCompleteGoalInput>();
  const verdicts = new Map<string, TJudgeGoalInput>();
  /** Running leaves by goal id: a leaf's cancel update cancels its scope. */
  const leafScopes = new Map<string, CancellationScope>();
  const state = { planSignalled: false };

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
    state.planSignalled = true;
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
    waitingFor: Exclude<TWaitKind, 'plan'>,
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

  return {
    leafScopes,
    state,
    /** A manual leaf's completion, or an agent leaf's (`agent`: it waits in the pool). */
    waitForCompletion: (id: string, waitingFor: 'completion' | 'agent', timeoutS?: number) => waitForMessage(id, 'completion', completions, waitingFor, timeoutS),
    /** An accept or reject for a goal waiting for judgment. */
    waitForVerdict: (id: string) => waitForMessage(id, 'judgment', verdicts, 'judgment'),
  };
}
