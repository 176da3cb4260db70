/**
 * Goal lifecycle facts, pure and shared by API, activities and workflows.
 * SPEC §2: draft → active → done | failed | cancelled, with `blocked` as a
 * non-terminal wait; `done` carries `accepted` or `skipped`.
 */

export const GOAL_LIFECYCLES = ['draft', 'active', 'blocked', 'done', 'failed', 'cancelled'] as const;
export type TGoalLifecycle = (typeof GOAL_LIFECYCLES)[number];

export const TERMINAL_LIFECYCLES = ['done', 'failed', 'cancelled'] as const satisfies readonly TGoalLifecycle[];

export function isTerminal(lifecycle: string): boolean {
  return (TERMINAL_LIFECYCLES as readonly string[]).includes(lifecycle);
}

/** How a goal ended, as a workflow reports it to finishGoal. */
export type TGoalOutcome =
  | { lifecycle: 'done'; doneReason: 'accepted' | 'skipped'; output?: unknown }
  | { lifecycle: 'failed'; failureReason: string; output?: unknown }
  | { lifecycle: 'cancelled'; output?: unknown };

/** What an edge can fire on, from the predecessor's end (SPEC §2 "Execution graph"). */
export type TLeafStatus = 'succeeded' | 'failed' | 'timed_out';
