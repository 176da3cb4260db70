import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { TActor } from '../domain/actor';
import { DEFAULT_AGENT_LEASE_S, ZAction, type TAction } from '../domain/actions';
import { DomainError } from '../domain/errors';
import { isTerminal } from '../domain/goals';
import { goalTemporalWorkflowId, newId } from '../domain/ids';
import { planRows } from '../domain/planRows';
import { validatePlan, type TAcceptance, type TPlan } from '../domain/plans';
import { SA_GOAL_ID, SA_ROOT_GOAL_ID } from '../domain/searchAttributes';
import type { Goal, GoalEdge, Prisma } from '../generated/prisma/client';
import { TRANSACTION_OPTIONS, type PrismaClient } from '../db/client';
import { subtree } from '../db/subtree';
import { cancelGoalUpdate, completeGoalUpdate, judgeGoalUpdate, planInstalledSignal } from '../workflows/messages';
import type { runGoal } from '../workflows/runGoal';
import { asTemporalError } from './temporal';

export type { Goal, GoalEdge };

export interface TGoalServiceDeps {
  prisma: PrismaClient;
  temporal: Client;
  taskQueue: string;
}

export type TCreateGoalInput = {
  title: string;
  intent?: string;
  acceptance?: TAcceptance;
  start: boolean;
} & ({ kind: 'leaf'; action: TAction } | { kind: 'composite'; plan?: TPlan | null });

export interface TListGoalsQuery {
  cursor?: string;
  limit: number;
  lifecycle?: Goal['lifecycle'];
  rootOnly?: boolean;
  workflowId?: string;
  waitingFor?: NonNullable<Goal['waitingFor']>;
  /** Agent leaves nobody holds a live lease on: the pool agents claim from. */
  claimable?: boolean;
}

export interface TGoalTree {
  goal: Goal;
  children: TGoalTree[];
  edges: GoalEdge[];
}

/** Bounded: a caller should hear "Temporal is down" in seconds, not after the client's own retries. */
const TEMPORAL_CALL_DEADLINE_MS = 5000;
/**
 * Updates need a worker to run the validator. After a worker dies, Temporal
 * hands its workflows to a live worker once the sticky queue times out
 * (about 10s), so an update may legitimately take that long.
 */
const TEMPORAL_UPDATE_DEADLINE_MS = 20_000;

/**
 * The Temporal update id of a message: the same request retried (a lost
 * response) is the same update and is not applied twice; a different one for
 * the same goal (a conflicting completion) is a new update, which the
 * workflow's validator refuses once the goal has stopped waiting.
 */
function updateId(verb: string, goalId: string, content: unknown[]): string {
  return `${verb}-${goalId}-${createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16)}`;
}

function encodeCursor(goal: { createdAt: Date; id: string }): string {
  return Buffer.from(`${goal.createdAt.toISOString()}|${goal.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  // Only what encodeCursor makes: an ISO timestamp that round-trips, and a goal id.
  const year = createdAt.getUTCFullYear();
  if (rest.length || !id || !/^goal_[0-9a-z]{26}$/.test(id) || Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at || year < 2000 || year > 9999) {
    throw new DomainError('VALIDATION_FAILED', 'cursor is not one this API returned');
  }
  return { createdAt, id };
}

/** Goals: create, plan, read, start, cancel, complete, judge, lease. Knows nothing of HTTP. */
export function createGoalService(deps: TGoalServiceDeps) {
  const { prisma, temporal } = deps;

  function withDeadline<T>(fn: () => Promise<T>, ms = TEMPORAL_CALL_DEADLINE_MS): Promise<T> {
    return temporal.connection.withDeadline(Date.now() + ms, fn);
  }

  async function startExecution(goal: Goal): Promise<void> {
    const workflowId = goal.temporalWorkflowId;
    if (!workflowId) throw new Error(`goal ${goal.id} has no Temporal workflow id`);
    await withDeadline(() =>
      temporal.workflow.start<typeof runGoal>('runGoal', {
        taskQueue: deps.taskQueue,
        workflowId,
        args: [{ goalId: goal.id }],
        // A repeated start of the same goal attaches to the running execution;
        // a closed one is never run again (its goal ran once).
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: SA_GOAL_ID, value: goal.id },
          { key: SA_ROOT_GOAL_ID, value: goal.rootId },
        ],
        staticSummary: goal.title,
      }),
    );
  }

  /** Inside a transaction, pass its client: a second pooled connection could deadlock against waiters holding the rest. */
  async function agentLimits(agentId: string, db: Pick<PrismaClient, 'agent'> = prisma) {
    const agent = await db.agent.findUnique({ where: { id: agentId } });
    if (!agent) throw new DomainError('NOT_FOUND', `agent ${agentId} not found`);
    return agent;
  }

  function planProblems(problems: ReturnType<typeof validatePlan>): DomainError {
    return new DomainError(
      'PLAN_INVALID',
      `the plan breaks ${problems.length === 1 ? 'a rule' : `${problems.length} rules`}: ${problems.map((p) => `${p.rule} at ${p.path || 'plan'}: ${p.message}`).join('; ')}`,
      problems,
    );
  }

  async function ownedGoal(actor: TActor, id: string): Promise<Goal> {
    const goal = await prisma.goal.findFirst({ where: { id, ownerUserId: actor.userId } });
    if (!goal) throw new DomainError('NOT_FOUND', `goal ${id} not found`);
    return goal;
  }

  /** Sends a message to the workflow that runs `goal`, mapping "not waiting" and "not running" to 409. */
  async function message(goal: Goal, what: string, send: () => Promise<unknown>): Promise<void> {
    if (isTerminal(goal.lifecycle)) throw new DomainError('GOAL_ENDED', `goal ${goal.id} already ended (${goal.lifecycle})`);
    try {
      await withDeadline(send, TEMPORAL_UPDATE_DEADLINE_MS);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new DomainError('GOAL_NOT_WAITING', (err.cause?.message ?? err.message).replace(/^.*?: /, '') || `goal ${goal.id} is not waiting for ${what}`);
      }
      if (err instanceof WorkflowNotFoundError) {
        throw new DomainError('GOAL_NOT_WAITING', `goal ${goal.id} is not running, so it cannot take ${what}`);
      }
      throw asTemporalError(err, `${what} could not be delivered`);
    }
  }

  async function installPlanRows(tx: Prisma.TransactionClient, parent: Goal, plan: TPlan): Promise<void> {
    const rows = planRows(
      {
        id: parent.id,
        rootId: parent.rootId,
        agentId: parent.agentId,
        ownerUserId: parent.ownerUserId,
        ownerAgentId: parent.ownerAgentId,
        depth: parent.depth,
        temporalWorkflowId: parent.temporalWorkflowId as string,
        workflowId: parent.workflowId,
        workflowVersion: parent.workflowVersion,
        runId: parent.runId,
      },
      plan,
      new Date(),
    );
    await tx.goal.createMany({ data: rows.goals, skipDuplicates: true });
    await tx.goalEdge.createMany({ data: rows.edges, skipDuplicates: true });
    await tx.goal.update({ where: { id: parent.id }, data: { plannedAt: new Date() } });
  }

  return {
    async createGoal(actor: TActor, input: TCreateGoalInput): Promise<Goal> {
      const agent = await agentLimits(actor.agentId);
      if (input.kind === 'leaf' && !agent.allowedRuntimes.includes(input.action.runtime)) {
        throw new DomainError(
          'RUNTIME_NOT_ALLOWED',
          `agent ${agent.name} may not run "${input.action.runtime}" actions (allowed: ${agent.allowedRuntimes.join(', ') || 'none'})`,
        );
      }
      const plan = input.kind === 'composite' ? input.plan : undefined;
      if (plan) {
        const problems = validatePlan(plan, agent, 0, 1);
        if (problems.length) throw planProblems(problems);
      }
      const id = newId('goal');
      const goal = await prisma.$transaction(async (tx) => {
        const created = await tx.goal.create({
          data: {
            id,
            rootId: id,
            agentId: agent.id,
            ownerUserId: actor.userId,
            kind: input.kind,
            title: input.title,
            intent: input.intent ?? null,
            action: input.kind === 'leaf' ? (input.action as Prisma.InputJsonValue) : undefined,
            acceptance: input.acceptance ? (input.acceptance as Prisma.InputJsonValue) : undefined,
            temporalWorkflowId: goalTemporalWorkflowId({ id, title: input.title }),
          },
        });
        if (plan) await installPlanRows(tx, created, plan);
        return tx.goal.findUniqueOrThrow({ where: { id } });
      }, TRANSACTION_OPTIONS);
      if (!input.start) return goal;
      try {
        await startExecution(goal);
      } catch (err) {
        // Nothing half-written: a goal that could not start is not kept. (If a
        // start did reach Temporal, its first activity finds no goal and ends.)
        await prisma.goal.delete({ where: { id } }).catch(() => undefined);
        throw asTemporalError(err, 'the goal could not be started');
      }
      return goal;
    },

    /**
     * Installs the plan of an unplanned composite, once. The check and the
     * install happen under one row lock, so two racing submissions cannot both
     * win; the loser gets PLAN_ALREADY_INSTALLED.
     */
    async installPlan(actor: TActor, id: string, plan: TPlan): Promise<Goal> {
      const goal = await prisma.$transaction(async (tx) => {
        // Lock the tree's root first (max_goals counts the whole tree, so two
        // plans for two composites of one tree must not both pass), then the goal.
        const target = await tx.goal.findFirst({ where: { id, ownerUserId: actor.userId }, select: { rootId: true } });
        if (!target) throw new DomainError('NOT_FOUND', `goal ${id} not found`);
        await tx.$queryRaw`SELECT id FROM goals WHERE id = ${target.rootId} FOR UPDATE`;
        if (target.rootId !== id) await tx.$queryRaw`SELECT id FROM goals WHERE id = ${id} FOR UPDATE`;
        const parent = await tx.goal.findUniqueOrThrow({ where: { id } });
        if (parent.kind !== 'composite') throw new DomainError('CONFLICT', `goal ${id} is a leaf; only composites take a plan`);
        if (parent.plannedAt !== null) throw new DomainError('PLAN_ALREADY_INSTALLED', `goal ${id} already has a plan (installed ${parent.plannedAt.toISOString()})`);
        if (isTerminal(parent.lifecycle)) throw new DomainError('GOAL_ENDED', `goal ${id} already ended (${parent.lifecycle})`);
        const agent = await agentLimits(parent.agentId, tx);
        const existing = await tx.goal.count({ where: { rootId: parent.rootId } });
        const problems = validatePlan(plan, agent, parent.depth, existing);
        if (problems.length) throw planProblems(problems);
        await installPlanRows(tx, parent, plan);
        return tx.goal.findUniqueOrThrow({ where: { id } });
      }, TRANSACTION_OPTIONS);
      // Wake its workflow if it is waiting for this plan. The plan is installed
      // either way: a workflow not running yet finds it when it starts, and a
      // waiting one also rechecks Postgres periodically, so a lost signal only delays it.
      if (goal.temporalWorkflowId && goal.lifecycle !== 'draft') {
        await withDeadline(() => temporal.workflow.getHandle(goal.temporalWorkflowId as string).signal(planInstalledSignal, { goalId: id })).catch(() => undefined);
      }
      return goal;
    },

    getGoal: ownedGoal,

    async listGoals(actor: TActor, query: TListGoalsQuery): Promise<{ items: Goal[]; nextCursor: string | null }> {
      const after = query.cursor ? decodeCursor(query.cursor) : undefined;
      const items = await prisma.goal.findMany({
        where: {
          ownerUserId: actor.userId,
          ...(query.lifecycle ? { lifecycle: query.lifecycle } : {}),
          ...(query.rootOnly ? { parentId: null } : {}),
          ...(query.workflowId ? { workflowId: query.workflowId } : {}),
          ...(query.waitingFor ? { waitingFor: query.waitingFor } : {}),
          ...(query.claimable ? { waitingFor: 'agent', OR: [{ claimedBy: null }, { leaseExpiresAt: { lt: new Date() } }] } : {}),
          ...(after ? { AND: [{ OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }] } : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: query.limit + 1,
      });
      const page = items.slice(0, query.limit);
      const last = page[page.length - 1];
      return { items: page, nextCursor: items.length > query.limit && last ? encodeCursor(last) : null };
    },

    /** The goal with its whole subtree, children in plan order, edges beside them. */
    async getTree(actor: TActor, id: string): Promise<TGoalTree> {
      const goal = await ownedGoal(actor, id);
      const [all, edges] = await Promise.all([
        prisma.goal.findMany({ where: { rootId: goal.rootId, depth: { gte: goal.depth } }, orderBy: [{ depth: 'asc' }, { position: 'asc' }] }),
        prisma.goalEdge.findMany({ where: { parent: { rootId: goal.rootId } }, orderBy: { position: 'asc' } }),
      ]);
      const byParent = new Map<string, Goal[]>();
      for (const g of all) if (g.parentId) byParent.set(g.parentId, [...(byParent.get(g.parentId) ?? []), g]);
      const edgesByParent = new Map<string, GoalEdge[]>();
      for (const e of edges) edgesByParent.set(e.parentId, [...(edgesByParent.get(e.parentId) ?? []), e]);
      const build = (g: Goal): TGoalTree => ({ goal: g, children: (byParent.get(g.id) ?? []).map(build), edges: edgesByParent.get(g.id) ?? [] });
      return build(goal);
    },

    /** Starts a draft root goal. Children start with their parent. */
    async startGoal(actor: TActor, id: string): Promise<Goal> {
      const goal = await ownedGoal(actor, id);
      if (goal.parentId) throw new DomainError('CONFLICT', `goal ${id} is part of a plan; it starts when its parent runs it`);
      if (isTerminal(goal.lifecycle)) throw new DomainError('GOAL_ENDED', `goal ${id} already ended (${goal.lifecycle})`);
      if (goal.lifecycle !== 'draft') return goal; // already started: starting again changes nothing
      try {
        await startExecution(goal);
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) throw new DomainError('CONFLICT', `goal ${id} already ran; a goal runs once`);
        throw asTemporalError(err, 'the goal could not be started');
      }
      return ownedGoal(actor, id);
    },

    /**
     * Cancels a goal and its subtree. A goal that never started is cancelled in
     * Postgres (its parent's workflow finds it ended when it gets there);
     * a running one through Temporal cancellation: its workflow (a root or
     * composite) or its leaf's scope in the parent's workflow. Running
     * commands are killed.
     */
    async cancelGoal(actor: TActor, id: string): Promise<Goal> {
      const goal = await ownedGoal(actor, id);
      if (isTerminal(goal.lifecycle)) throw new DomainError('GOAL_ENDED', `goal ${id} already ended (${goal.lifecycle})`);
      const handle = temporal.workflow.getHandle(goal.temporalWorkflowId as string);
      if (goal.lifecycle === 'draft') {
        const changed = await prisma.$executeRaw`
          ${subtree(id)}
          UPDATE goals SET lifecycle = 'cancelled', finished_at = now(), updated_at = now()
           WHERE id IN (SELECT id FROM subtree) AND lifecycle = 'draft'`;
        if (changed > 0) {
          // A start may have raced this; its workflow would find the goal ended, but stop it anyway.
          if (goal.parentId === null) await withDeadline(() => handle.cancel()).catch(() => undefined);
          return ownedGoal(actor, id);
        }
        // It started meanwhile: cancel it as a running goal.
        const now = await ownedGoal(actor, id);
        if (isTerminal(now.lifecycle)) return now;
      }
      try {
        if (goal.parentId === null || goal.kind === 'composite') await withDeadline(() => handle.cancel());
        else await withDeadline(() => handle.executeUpdate(cancelGoalUpdate, { updateId: updateId('cancel', id, []), args: [{ goalId: id }] }), TEMPORAL_UPDATE_DEADLINE_MS);
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) throw new DomainError('GOAL_NOT_WAITING', `goal ${id} is not running, so it cannot be cancelled now`);
        if (!(err instanceof WorkflowNotFoundError)) throw asTemporalError(err, 'the cancellation could not be delivered');
      }
      return ownedGoal(actor, id);
    },

    /** Completes a manual leaf, or an agent leaf by the agent holding its lease. */
    async completeGoal(
      actor: TActor,
      id: string,
      input: { outcome: 'succeeded' | 'failed'; output?: Record<string, unknown>; reason?: string; worker?: string },
    ): Promise<Goal> {
      const goal = await ownedGoal(actor, id);
      const action = ZAction.safeParse(goal.action);
      if (goal.kind !== 'leaf' || !action.success || (action.data.runtime !== 'manual' && action.data.runtime !== 'agent')) {
        throw new DomainError('GOAL_NOT_WAITING', `goal ${id} is not a manual or agent leaf`);
      }
      if (action.data.runtime === 'agent') {
        if (!input.worker) throw new DomainError('VALIDATION_FAILED', 'completing an agent leaf needs `worker`: the id the lease was claimed with');
        if (goal.claimedBy !== input.worker || !goal.leaseExpiresAt || goal.leaseExpiresAt < new Date()) {
          throw new DomainError('LEASE_CONFLICT', `worker ${input.worker} does not hold a live lease on goal ${id}`);
        }
      }
      await message(goal, 'a completion', () =>
        temporal.workflow
          .getHandle(goal.temporalWorkflowId as string)
          .executeUpdate(completeGoalUpdate, {
            updateId: updateId('complete', id, [input.outcome, input.output, input.reason]),
            args: [{ goalId: id, outcome: input.outcome, output: input.output, reason: input.reason }],
          }),
      );
      return ownedGoal(actor, id);
    },

    async judgeGoal(actor: TActor, id: string, verdict: 'accept' | 'reject', reason?: string): Promise<Goal> {
      const goal = await ownedGoal(actor, id);
      await message(goal, 'a judgment', () =>
        temporal.workflow.getHandle(goal.temporalWorkflowId as string).executeUpdate(judgeGoalUpdate, { updateId: updateId('judge', id, [verdict, reason]), args: [{ goalId: id, verdict, reason }] }),
      );
      return ownedGoal(actor, id);
    },

    /**
     * An agent claims an agent leaf waiting in the pool, or renews the lease it
     * holds. One conditional update: the lease is free, expired, or the caller's.
     */
    async claimGoal(actor: TActor, id: string, input: { worker: string; lease_s?: number }): Promise<Goal> {
      const goal = await ownedGoal(actor, id);
      const action = ZAction.safeParse(goal.action);
      if (!action.success || action.data.runtime !== 'agent') throw new DomainError('GOAL_NOT_WAITING', `goal ${id} is not an agent leaf`);
      const leaseS = input.lease_s ?? action.data.lease_s ?? DEFAULT_AGENT_LEASE_S;
      const now = new Date();
      const claimed = await prisma.goal.updateMany({
        where: {
          id,
          waitingFor: 'agent',
          OR: [{ claimedBy: null }, { leaseExpiresAt: { lt: now } }, { claimedBy: input.worker }],
        },
        data: { claimedBy: input.worker, leaseExpiresAt: new Date(now.getTime() + leaseS * 1000) },
      });
      if (claimed.count === 0) {
        const fresh = await ownedGoal(actor, id);
        if (fresh.waitingFor !== 'agent') throw new DomainError('GOAL_NOT_WAITING', `goal ${id} is not waiting for an agent (${fresh.lifecycle})`);
        throw new DomainError('LEASE_CONFLICT', `goal ${id} is claimed by ${fresh.claimedBy} until ${fresh.leaseExpiresAt?.toISOString()}`);
      }
      return ownedGoal(actor, id);
    },
  };
}
export type TGoalService = ReturnType<typeof createGoalService>;
