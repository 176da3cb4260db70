/**
 * Goal lifecycle facts, pure and shared by API, services, db, activities and
 * workflows. SPEC §2: draft → active → done | failed | cancelled, with
 * `blocked` as a non-terminal wait; `done` carries `accepted` or `skipped`.
 * Each list here is the only one: schemas, SQL and workflow code import it.
 */

export const GOAL_KINDS = ['leaf', 'composite'] as const;
export type TGoalKind = (typeof GOAL_KINDS)[number];

export const GOAL_LIFECYCLES = ['draft', 'active', 'blocked', 'done', 'failed', 'cancelled'] as const;
export type TGoalLifecycle = (typeof GOAL_LIFECYCLES)[number];

export const TERMINAL_LIFECYCLES = ['done', 'failed', 'cancelled'] as const satisfies readonly TGoalLifecycle[];

export function isTerminal(lifecycle: string): boolean {
  return (TERMINAL_LIFECYCLES as readonly string[]).includes(lifecycle);
}

export const DONE_REASONS = ['accepted', 'skipped'] as const;
export type TDoneReason = (typeof DONE_REASONS)[number];

/** What an unfinished goal waits for (the `waiting_for` column and API field). */
export const WAIT_KINDS = ['plan', 'completion', 'agent', 'judgment'] as const;
export type TWaitKind = (typeof WAIT_KINDS)[number];

/** The block reason recorded for each wait (an agent leaf stays `active`: it is in the pool). */
export const WAIT_REASONS: Record<TWaitKind, string> = {
  plan: 'needs a plan',
  completion: 'waiting for someone to complete it',
  agent: 'waiting for an agent to claim and complete it',
  judgment: 'waiting for judgment (accept or reject)',
};

/** How a goal's own work ended, as its outgoing edges see it (SPEC §2 "Execution graph"). */
export const END_STATUSES = ['succeeded', 'failed', 'timed_out'] as const;
export type TEndStatus = (typeof END_STATUSES)[number];

/**
 * How a goal ended, as a workflow reports it to finishGoal. `output` replaces
 * the stored output; `completionId` takes it from the completion the API kept
 * under that update id (so a completion's output crosses history once).
 */
export type TGoalOutcome =
  | { lifecycle: 'done'; doneReason: TDoneReason; output?: unknown; completionId?: string }
  | { lifecycle: 'failed'; failureReason: string; output?: unknown; completionId?: string }
  | { lifecycle: 'cancelled'; output?: unknown };
