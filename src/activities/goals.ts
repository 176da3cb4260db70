import { ApplicationFailure } from '@temporalio/activity';
import { findAgent } from '../db/agents';
import type { Goal, PrismaClient } from '../db/client';
import * as goals from '../db/goals';
import type { TRunTarget } from '../temporal/starts';
import { nestedRunTargets } from './nestedRuns';
import { ZStoredAction } from '../domain/actions';
import { FAILURE_TYPES } from '../domain/errors';
import { layerLeafOf, type TLayerLeaf } from '../domain/execution';
import type { TGoalKind, TGoalOutcome, TWaitKind } from '../domain/goals';
import { acceptanceFlagsOf, ZEdgeOn, type TEdgeOn } from '../domain/plans';

/**
 * Bookkeeping activities: a goal's lifecycle in Postgres, recorded for the
 * workflow that runs it. Each may run more than once (retries, a worker lost
 * mid-call), so each is a guarded transition (src/db/goals.ts).
 */

export type { TLayerLeaf };

/** One child of a layer, as compact as the walk allows (a layer of thousands is one activity result). */
export interface TLayerChild {
  id: string;
  key: string;
  joinCount: number | null;
  /** Leaves: how to run it. */
  leaf?: TLayerLeaf;
  /** Composites: their child workflow's id and summary. */
  composite?: { temporalWorkflowId: string; title: string; run?: TRunTarget };
}

export interface TLayer {
  /** Children running at once: the plan's, else the agent's default. */
  parallelism: number;
  children: TLayerChild[];
  edges: { from: string; to: string; on: TEdgeOn }[];
}

/** A goal as pursueGoal opens it: its state and acceptance; a leaf's run options, or a composite's layer (null while unplanned). */
export interface TOpenedGoal {
  kind: TGoalKind;
  lifecycle: string;
  acceptance: { check: boolean; judgment: boolean };
  leaf?: TLayerLeaf;
  layer?: TLayer | null;
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
  const parsed = ZStoredAction.safeParse(goal.action);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`goal ${goal.id} has an invalid action: ${parsed.error.message}`, FAILURE_TYPES.InvalidAction);
  return parsed.data;
}

export function createGoalActivities(deps: TGoalActivityDeps) {
  const { prisma } = deps;

  function layerLeaf(child: Goal): TLayerLeaf {
    const parsed = ZStoredAction.safeParse(child.action);
    if (!parsed.success) {
      const invalid = `its stored action is invalid: ${parsed.error.issues[0]?.message ?? 'unreadable'}`;
      return { runtime: 'manual', timeoutS: 0, retries: 0, explicitTimeout: false, check: false, judgment: false, activityTimeoutS: 0, invalid };
    }
    return layerLeafOf(parsed.data, acceptanceFlagsOf(child.acceptance), deps.leaf.defaultTimeoutS);
  }

  return {
    /**
     * Opens the goal a pursueGoal execution runs: marks a composite active
     * (once; a leaf is marked by the activity that runs it) and returns a
     * leaf's run options, or a composite's layer: the children with what the
     * walk needs to run each, the edges by key, and its parallelism. No layer
     * while it is unplanned.
     */
    async openGoal({ goalId, start = true }: { goalId: string; start?: boolean }): Promise<TOpenedGoal> {
      let goal = await loadGoal(prisma, goalId);
      if (goal.kind === 'leaf') return { kind: 'leaf', lifecycle: goal.lifecycle, acceptance: acceptanceFlagsOf(goal.acceptance), leaf: layerLeaf(goal) };
      if (start && goal.lifecycle === 'draft') goal = (await goals.markGoalStarted(prisma, goalId)) ?? (await loadGoal(prisma, goalId));
      const opened = { kind: goal.kind, lifecycle: goal.lifecycle as string, acceptance: acceptanceFlagsOf(goal.acceptance) };
      if (goal.plannedAt === null) return { ...opened, layer: null };
      const [{ children, edges }, agent] = await Promise.all([goals.loadPlanLayer(prisma, goalId), findAgent(prisma, goal.agentId)]);
      // Children that run another saved workflow start as that workflow's nested run.
      const nested = await nestedRunTargets(prisma, children.filter((c) => c.kind === 'composite' && c.runId !== null && c.runId !== goal.runId));
      const keyOf = new Map(children.map((c) => [c.id, c.key ?? c.id]));
      return {
        ...opened,
        layer: {
          parallelism: goal.parallelism ?? agent.defaultParallelism,
          children: children.map((c) => ({
            id: c.id,
            key: keyOf.get(c.id) ?? c.id,
            joinCount: c.joinCount,
            ...(c.kind === 'leaf'
              ? { leaf: layerLeaf(c) }
              : { composite: { temporalWorkflowId: c.temporalWorkflowId, title: c.title, ...(nested.has(c.id) ? { run: nested.get(c.id) } : {}) } }),
          })),
          edges: edges.map((e) => ({ from: keyOf.get(e.fromGoalId) ?? e.fromGoalId, to: keyOf.get(e.toGoalId) ?? e.toGoalId, on: ZEdgeOn.parse(e.on) })),
        },
      };
    },

    /**
     * A manual or agent leaf (or one waiting for judgment) starts waiting
     * (pursueGoal): marks it started if it was a draft and records what it
     * waits for. Returns its lifecycle: a terminal one means it ended before
     * (cancelled as a draft), and the walk does not wait for it.
     */
    async enterWait({ goalId, waitingFor }: { goalId: string; waitingFor: TWaitKind }): Promise<{ lifecycle: string }> {
      let goal = await loadGoal(prisma, goalId);
      if (goal.lifecycle === 'draft') goal = (await goals.markGoalStarted(prisma, goalId)) ?? goal;
      await goals.setGoalWaiting(prisma, goalId, waitingFor);
      return { lifecycle: goal.lifecycle };
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
