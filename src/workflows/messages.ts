import { defineSignal, defineUpdate } from '@temporalio/workflow';

/**
 * Messages into a running pursueGoal workflow. The API sends them to the
 * workflow that runs the goal (a leaf's is its parent composite's). Updates
 * carry validators: a goal that is not waiting for the message is refused
 * before anything changes, and the API answers 409.
 */

export interface TCompleteGoalInput {
  goalId: string;
  outcome: 'succeeded' | 'failed';
  output?: Record<string, unknown>;
  /** Why it failed, when it did. */
  reason?: string;
  /**
   * The update id the API kept `output` under in Postgres (goal_completions):
   * the end is recorded with that output, which so crosses history only once.
   * Absent in updates sent before it existed.
   */
  completionId?: string;
}

export interface TJudgeGoalInput {
  goalId: string;
  verdict: 'accept' | 'reject';
  reason?: string;
}

/** A manual or agent leaf is finished by someone outside Reprise. */
export const completeGoalUpdate = defineUpdate<void, [TCompleteGoalInput]>('completeGoal');
/** A leaf or composite waiting for judgment is accepted or rejected. */
export const judgeGoalUpdate = defineUpdate<void, [TJudgeGoalInput]>('judgeGoal');
/** Cancels one leaf this workflow runs (composites and roots are cancelled through Temporal cancellation). */
export const cancelGoalUpdate = defineUpdate<void, [{ goalId: string }]>('cancelGoal');
/** A plan was installed for the composite this workflow runs, which may be waiting for it. */
export const planInstalledSignal = defineSignal<[{ goalId: string }]>('planInstalled');
