import type { SearchAttributePair } from '@temporalio/common';
import { SA_GOAL_ID, SA_ROOT_GOAL_ID } from '../domain/searchAttributes';

/**
 * The start options of each Temporal workflow type, built once: the API's
 * client starts (services) and parent workflows' child starts use the same
 * builder, so ids, search attributes and summaries never drift apart.
 *
 * Pure, and imported by workflow code: only `@temporalio/common` types and
 * pure domain modules here.
 */

/** What any start of `runGoal` needs from the goal it runs. */
export interface TRunGoalTarget {
  id: string;
  rootId: string;
  title: string;
  /** Stored on the goal row (domain/ids), never re-derived from a title. */
  temporalWorkflowId: string;
}

/** The options shared by a root start and a child start of `runGoal`. */
export function runGoalStart(goal: TRunGoalTarget): {
  workflowId: string;
  args: [{ goalId: string }];
  typedSearchAttributes: SearchAttributePair[];
  staticSummary: string;
} {
  return {
    workflowId: goal.temporalWorkflowId,
    args: [{ goalId: goal.id }],
    typedSearchAttributes: [
      { key: SA_GOAL_ID, value: goal.id },
      { key: SA_ROOT_GOAL_ID, value: goal.rootId },
    ],
    staticSummary: goal.title,
  };
}

/**
 * A root goal started from the API: a repeated start of the same goal attaches
 * to the running execution; a closed one is never run again (a goal runs once).
 * Client starts only: child workflows take no conflict policy.
 */
export const ROOT_GOAL_START_POLICY = {
  workflowIdConflictPolicy: 'USE_EXISTING',
  workflowIdReusePolicy: 'REJECT_DUPLICATE',
} as const;
