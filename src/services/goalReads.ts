import type { Goal, GoalEdge, PrismaClient } from '../db/client';
import * as goals from '../db/goals';
import type { TActor } from '../domain/actor';
import { decodeCursor, encodeCursor } from '../domain/cursor';
import type { TGoalLifecycle, TWaitKind } from '../domain/goals';

export interface TListGoalsQuery {
  cursor?: string;
  limit: number;
  lifecycle?: TGoalLifecycle;
  rootOnly?: boolean;
  /** Goals of runs of this saved workflow. */
  workflowId?: string;
  waitingFor?: TWaitKind;
  /** Agent leaves nobody holds a live lease on: the pool agents claim from. */
  claimable?: boolean;
}

export interface TGoalTree {
  goal: Goal;
  children: TGoalTree[];
  edges: GoalEdge[];
}

/** Goals as their owner reads them: one, a page, a subtree. */
export function createGoalReads(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;
  return {
    getGoal(actor: TActor, id: string): Promise<Goal> {
      return goals.findOwnedGoal(prisma, actor.userId, id);
    },

    async listGoals(actor: TActor, query: TListGoalsQuery): Promise<{ items: goals.TGoalSummaryRow[]; nextCursor: string | null }> {
      const after = query.cursor ? decodeCursor(query.cursor, 'goal') : undefined;
      const filters = { ...query, savedWorkflowId: query.workflowId };
      const items = await goals.listOwnedGoals(prisma, actor.userId, filters, after, query.limit + 1);
      const page = items.slice(0, query.limit);
      const last = page[page.length - 1];
      return { items: page, nextCursor: items.length > query.limit && last ? encodeCursor(last) : null };
    },

    /** The goal with its whole subtree, children in plan order, edges beside them. */
    async getTree(actor: TActor, id: string): Promise<TGoalTree> {
      const goal = await goals.findOwnedGoal(prisma, actor.userId, id);
      const { goals: all, edges } = await goals.loadTreeRows(prisma, goal.rootId, goal.depth);
      const byParent = new Map<string, Goal[]>();
      for (const g of all) if (g.parentId) byParent.set(g.parentId, [...(byParent.get(g.parentId) ?? []), g]);
      const edgesByParent = new Map<string, GoalEdge[]>();
      for (const e of edges) edgesByParent.set(e.parentId, [...(edgesByParent.get(e.parentId) ?? []), e]);
      const build = (g: Goal): TGoalTree => ({ goal: g, children: (byParent.get(g.id) ?? []).map(build), edges: edgesByParent.get(g.id) ?? [] });
      return build(goal);
    },
  };
}
