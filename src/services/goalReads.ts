import type { Goal, PrismaClient } from '../db/client';
import * as goals from '../db/goals';
import type { TActor } from '../domain/actor';
import { decodeCursor, encodeCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
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
  goal: goals.TTreeGoal;
  /** How many children the goal has: more than `children` holds where the tree was cut. */
  childCount: number;
  children: TGoalTree[];
  edges: goals.TTreeEdge[];
}

/** How much of a subtree one read returns (GET /api/goals/{id}/tree). */
export interface TTreeBounds {
  /** Levels below the goal (0: the goal alone). */
  depth: number;
  /** Goals at most, the goal included. */
  limit: number;
  /** Leaves' outputs (each up to LEAF_OUTPUT_MAX_BYTES twice over) only when asked for. */
  withOutput: boolean;
}

/** A bounded subtree: `truncated` when goals of it were left out (by depth or limit), with how many were shown of how many. */
export interface TGoalTreePage {
  tree: TGoalTree;
  truncated: boolean;
  shown: number;
  total: number;
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

    /**
     * What a tree read of this goal would show, as a version: equal versions,
     * equal trees (for conditional reads; checked before reading the tree, so
     * a change racing the read makes the next poll read again, never miss it).
     */
    async getTreeVersion(actor: TActor, id: string): Promise<string> {
      await goals.findOwnedGoal(prisma, actor.userId, id);
      return goals.subtreeDigest(prisma, id);
    },

    /**
     * The goal with its subtree down to `bounds.depth` levels and at most
     * `bounds.limit` goals, breadth first, children in plan order, edges
     * beside them: a tree of any size is read in bounded memory and time.
     */
    async getTree(actor: TActor, id: string, bounds: TTreeBounds): Promise<TGoalTreePage> {
      await goals.findOwnedGoal(prisma, actor.userId, id);
      const page = await goals.loadSubtreePage(prisma, id, bounds);
      const byParent = new Map<string, goals.TTreeGoal[]>();
      for (const g of page.goals) if (g.parentId) byParent.set(g.parentId, [...(byParent.get(g.parentId) ?? []), g]);
      const edgesByParent = new Map<string, goals.TTreeEdge[]>();
      for (const e of page.edges) edgesByParent.set(e.parentId, [...(edgesByParent.get(e.parentId) ?? []), e]);
      const build = (g: goals.TTreeGoal): TGoalTree => ({
        goal: g,
        childCount: page.childCounts.get(g.id) ?? 0,
        children: (byParent.get(g.id) ?? []).map(build),
        edges: edgesByParent.get(g.id) ?? [],
      });
      const [root] = page.goals;
      if (!root) throw new DomainError('NOT_FOUND', `goal ${id} not found`);
      return { tree: build(root), truncated: page.goals.length < page.total, shown: page.goals.length, total: page.total };
    },
  };
}
