import { type CancellationScope, condition, setHandler } from '@temporalio/workflow';
import { isTerminal, type TWaitKind } from '../domain/goals';
import type { TOutsideWait } from '../domain/runtimes';
import { cancelGoalUpdate, completeGoalUpdate, judgeGoalUpdate, planInstalledSignal, type TCompleteGoalInput, type TJudgeGoalInput } from './messages';
import type { bookkeepingActivities } from './proxies';

/**
 * The messages one pursueGoal execution takes from the API, keyed by goal id
 * (the execution runs its own goal and, for a composite, its leaf children).
 * A message is taken once: the handler ends the wait at once, so a second
 * update for the same goal (even in the same activation) is refused by its
 * validator and the API answers 409. Handlers are synchronous, so none is
 * ever unfinished when the execution continues as new.
 */
export function openInbox(bookkeeping: ReturnType<typeof bookkeepingActivities>) {
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
   * Waits for a message for `id` after recording what it waits for (and
   * marking it started). `{ ended }` when it had ended before (cancelled as
   * a draft); `{ timedOut }` when `timeoutS` passes first. The validator
   * accepts the message from the moment `waiting` is set, so none is lost to
   * the activity's latency.
   */
  async function waitForMessage<T>(
    id: string,
    kind: 'completion' | 'judgment',
    inbox: Map<string, T>,
    waitingFor: Exclude<TWaitKind, 'plan'>,
    timeoutS?: number,
  ): Promise<{ message: T } | { ended: string } | { timedOut: true }> {
    waiting.set(id, kind);
    try {
      const { lifecycle } = await bookkeeping.enterWait({ goalId: id, waitingFor });
      if (isTerminal(lifecycle)) return { ended: lifecycle };
      if (timeoutS === undefined) await condition(() => inbox.has(id));
      else if (!(await condition(() => inbox.has(id), `${timeoutS} seconds`))) return { timedOut: true };
      const message = inbox.get(id) as T;
      inbox.delete(id);
      return { message };
    } finally {
      waiting.delete(id);
    }
  }

  return {
    leafScopes,
    state,
    /** A manual leaf's completion, or an agent leaf's (`agent`: it waits in the pool). */
    waitForCompletion: (id: string, waitingFor: TOutsideWait, timeoutS?: number) => waitForMessage(id, 'completion', completions, waitingFor, timeoutS),
    /** An accept or reject for a goal waiting for judgment. */
    waitForVerdict: (id: string) => waitForMessage(id, 'judgment', verdicts, 'judgment'),
  };
}

export type TInbox = ReturnType<typeof openInbox>;
