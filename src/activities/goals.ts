import { ApplicationFailure } from '@temporalio/activity';
import type { Goal, PrismaClient } from '../db/client';
import * as goals from '../db/goals';
import { ZAction } from '../domain/actions';
import { FAILURE_TYPES } from '../domain/errors';
import { leafRunOptions, type TLeafRunOptions } from '../domain/execution';
import type { TGoalKind, TGoalOutcome, TWaitKind } from '../domain/goals';
import { ZAcceptance, ZEdgeOn, type TEdgeOn } from '../domain/plans';

/**
 * Bookkeeping activities: a goal's lifecycle in Postgres, recorded for the
 * workflow that runs it. Each may run more than once (retries, a worker lost
 * mid-call), so each is a guarded transition (src/db/goals.ts).
 */

export interface TStartedGoal {
  kind: TGoalKind;
  lifecycle: string;
  leaf?: TLeafRunOptions;
  acceptance: { check: boolean; judgment: boolean };
}

export interface TPlanChildRef {
  id: string;
  key: string;
  kind: TGoalKind;
  title: string;
  temporalWorkflowId: string;
  joinCount: number | null;
  lifecycle: string;
}

export interface TLoadedPlan {
  children: TPlanChildRef[];
  edges: { from: string; to: string; on: TEdgeOn }[];
}

export interface TGoalActivityDeps {
  prisma: PrismaClient;
  leaf: { defaultTimeoutS: number };
}

export async function loadGoal(prisma: PrismaClient, goalId: string): Promise<Goal> {
  const goal = await goals.findGoal(prisma, goalId);
  if (!goal) throw ApplicationFailure.nonRetryable(`goal ${goalId} does not exist`, FAILURE_TYPES.GoalNotFound);
  return goal;
}

/** A goal's stored action, parsed; a permanent failure when it does not parse. */
export function actionOf(goal: Pick<Goal, 'id' | 'action'>) {
  const parsed = ZAction.safeParse(goal.action);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`goal ${goal.id} has an invalid action: ${parsed.error.message}`, FAILURE_TYPES.InvalidAction);
  return parsed.data;
}

export function createGoalActivities(deps: TGoalActivityDeps) {
  const { prisma } = deps;
  return {
    /** Marks a goal active (once) and tells the workflow how to run it. */
    async startGoal({ goalId }: { goalId: string }): Promise<TStartedGoal> {
      let goal = await loadGoal(prisma, goalId);
      if (goal.lifecycle === 'draft') goal = (await goals.markGoalStarted(prisma, goalId)) ?? (await loadGoal(prisma, goalId));
      const lifecycle: string = goal.lifecycle;
      const acceptance = ZAcceptance.safeParse(goal.acceptance ?? {});
      const flags = { check: Boolean(acceptance.data?.check), judgment: Boolean(acceptance.data?.judgment) };
      if (goal.kind === 'composite') return { kind: 'composite', lifecycle, acceptance: flags };
      return { kind: 'leaf', lifecycle, leaf: leafRunOptions(actionOf(goal), deps.leaf.defaultTimeoutS), acceptance: flags };
    },

    /** One layer of a composite's plan: its children (ids, not trees) and edges by key. Null when unplanned. */
    async loadPlan({ goalId }: { goalId: string }): Promise<TLoadedPlan | null> {
      const goal = await loadGoal(prisma, goalId);
      if (goal.plannedAt === null) return null;
      const { children, edges } = await goals.loadPlanLayer(prisma, goalId);
      // Plan children always have a key (a database CHECK).
      const keyOf = new Map(children.map((c) => [c.id, c.key ?? c.id]));
      return {
        children: children.map((c) => ({
          id: c.id,
          key: keyOf.get(c.id) ?? c.id,
          kind: c.kind,
          title: c.title,
          temporalWorkflowId: c.temporalWorkflowId,
          joinCount: c.joinCount,
          lifecycle: c.lifecycle,
        })),
        edges: edges.map((e) => ({ from: keyOf.get(e.fromGoalId) ?? e.fromGoalId, to: keyOf.get(e.toGoalId) ?? e.toGoalId, on: ZEdgeOn.parse(e.on) })),
      };
    },

    /**
     * Records what a goal waits for: `blocked` with a reason (an agent leaf
     * stays `active`: it is in the pool), or back to `active` with `null`.
     */
    async setWaiting({ goalId, waitingFor }: { goalId: string; waitingFor: TWaitKind | null }): Promise<void> {
      await goals.setGoalWaiting(prisma, goalId, waitingFor);
    },

    /** Records a goal's end. Idempotent: a goal already in a terminal state is left alone. */
    async finishGoal({ goalId, outcome }: { goalId: string; outcome: TGoalOutcome }): Promise<void> {
      await goals.recordGoalEnd(prisma, goalId, outcome);
    },

    /**
     * Ends children whose join can no longer be met: done/skipped, with why in
     * `output`. Everything below a skipped composite is skipped with it.
     */
    async skipGoals({ goals: skipped }: { goals: { goalId: string; because: string[] }[] }): Promise<void> {
      await goals.skipGoals(prisma, skipped);
    },

    /**
     * Fails a goal whose workflow ended without recording it (terminated, or
     * it never started), with everything unfinished below it. Idempotent: a
     * goal that recorded its own end is left alone.
     */
    async failSubtree({ goalId, reason }: { goalId: string; reason: string }): Promise<number> {
      return goals.failSubtree(prisma, goalId, reason);
    },

    /** Marks a goal and every unfinished goal below it `cancelled`. */
    async cancelSubtree({ goalId }: { goalId: string }): Promise<number> {
      return goals.cancelSubtree(prisma, goalId);
    },
  };
}
