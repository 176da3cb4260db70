import type { Client } from '@temporalio/client';
import type { Goal, PrismaClient } from '../db/client';
import * as goals from '../db/goals';
import type { TActor } from '../domain/actor';
import { DEFAULT_AGENT_LEASE_S, RUNTIMES, type TAction, ZStoredAction } from '../domain/actions';
import { assertNever } from '../domain/assertNever';
import { DomainError, isDomainError } from '../domain/errors';
import { isTerminal } from '../domain/goals';
import { goalUpdateId } from '../domain/ids';
import { TEMPORAL_UPDATE_DEADLINE_MS, withDeadline } from '../temporal/client';
import { asGoalMessageError, asTemporalError, isUpdateRefused, isWorkflowNotFound } from '../temporal/errors';
import { cancelGoalUpdate, completeGoalUpdate, judgeGoalUpdate } from '../workflows/messages';

export interface TCompleteGoalRequest {
  outcome: 'succeeded' | 'failed';
  output?: Record<string, unknown>;
  reason?: string;
  worker?: string;
}

/**
 * Messages to goals that are running or waiting: cancel, complete, judge,
 * and agent leases. Knows nothing of HTTP.
 */
/** An agent leaf's own default lease: agent leaves are the only ones claimed (from the pool); any other leaf is refused. */
function agentLease(id: string, action: TAction): number | undefined {
  switch (action.runtime) {
    case 'agent':
      return action.lease_s;
    case 'shell':
    case 'http':
    case 'manual':
      throw new DomainError('GOAL_NOT_WAITING', `goal ${id} is not an agent leaf`);
    default:
      return assertNever(action, 'action');
  }
}

export function createGoalMessages(deps: { prisma: PrismaClient; temporal: Client }) {
  const { prisma, temporal } = deps;
  const owned = (actor: TActor, id: string): Promise<Goal> => goals.findOwnedGoal(prisma, actor.userId, id);

  /** Sends an update to the workflow that runs `goal`, mapping "not waiting" and "not running" to 409. */
  async function message(goal: Goal, what: string, send: () => Promise<unknown>): Promise<void> {
    if (isTerminal(goal.lifecycle)) throw new DomainError('GOAL_ENDED', `goal ${goal.id} already ended (${goal.lifecycle})`);
    try {
      await withDeadline(temporal, send, TEMPORAL_UPDATE_DEADLINE_MS);
    } catch (err) {
      throw asGoalMessageError(err, goal.id, what);
    }
  }

  return {
    /**
     * Cancels a goal and its subtree. A goal that never started is cancelled in
     * Postgres (its parent's workflow finds it ended when it gets there);
     * a running one through Temporal cancellation: its workflow (a root or
     * composite) or its leaf's scope in the parent's workflow. Running
     * commands are killed.
     */
    async cancelGoal(actor: TActor, id: string): Promise<Goal> {
      const goal = await owned(actor, id);
      if (isTerminal(goal.lifecycle)) throw new DomainError('GOAL_ENDED', `goal ${id} already ended (${goal.lifecycle})`);
      const handle = temporal.workflow.getHandle(goal.temporalWorkflowId);
      if (goal.lifecycle === 'draft') {
        if (await goals.cancelDraftSubtree(prisma, id)) {
          // A start may have raced this; its workflow would find the goal ended, but stop it anyway.
          if (goal.parentId === null) await withDeadline(temporal, () => handle.cancel()).catch(() => undefined);
          return owned(actor, id);
        }
        // It started meanwhile: cancel it as a running goal. Ended meanwhile (a racing cancel won): one request wins, the rest are 409.
        const now = await owned(actor, id);
        if (isTerminal(now.lifecycle)) throw new DomainError('GOAL_ENDED', `goal ${id} already ended (${now.lifecycle})`);
      }
      try {
        if (goal.parentId === null || goal.kind === 'composite') await withDeadline(temporal, () => handle.cancel());
        else {
          await withDeadline(
            temporal,
            () => handle.executeUpdate(cancelGoalUpdate, { updateId: goalUpdateId('cancel', id, []), args: [{ goalId: id }] }),
            TEMPORAL_UPDATE_DEADLINE_MS,
          );
        }
      } catch (err) {
        if (isUpdateRefused(err)) throw new DomainError('GOAL_NOT_WAITING', `goal ${id} is not running, so it cannot be cancelled now`);
        if (!isWorkflowNotFound(err)) throw asTemporalError(err, 'the cancellation could not be delivered');
      }
      return owned(actor, id);
    },

    /** Completes a manual leaf, or an agent leaf by the agent holding its lease. */
    async completeGoal(actor: TActor, id: string, input: TCompleteGoalRequest): Promise<Goal> {
      const goal = await owned(actor, id);
      const action = ZStoredAction.safeParse(goal.action);
      const notCompletable = () => new DomainError('GOAL_NOT_WAITING', `goal ${id} is not a manual or agent leaf`);
      if (goal.kind !== 'leaf' || !action.success) throw notCompletable();
      // Only a leaf completed from outside takes a completion; one that waits in the agent pool, only from its lease holder.
      const runtime = RUNTIMES[action.data.runtime];
      switch (runtime.executedBy) {
        case 'worker':
          throw notCompletable();
        case 'outside':
          switch (runtime.waitingFor) {
            case 'agent':
              if (!input.worker) throw new DomainError('VALIDATION_FAILED', 'completing an agent leaf needs `worker`: the id the lease was claimed with');
              if (goal.claimedBy !== input.worker || !goal.leaseExpiresAt || goal.leaseExpiresAt < new Date()) {
                throw new DomainError('LEASE_CONFLICT', `worker ${input.worker} does not hold a live lease on goal ${id}`);
              }
              break;
            case 'completion':
              break;
            default:
              return assertNever(runtime, 'runtime');
          }
          break;
        default:
          return assertNever(runtime, 'runtime');
      }
      if (isTerminal(goal.lifecycle)) throw new DomainError('GOAL_ENDED', `goal ${id} already ended (${goal.lifecycle})`);
      const updateId = goalUpdateId('complete', id, [input.outcome, input.output, input.reason]);
      // The output is kept only for a goal waiting for exactly this (nothing is written otherwise):
      // repeated completions of a goal that is not waiting must not pile up rows.
      if (!(await goals.keepCompletion(prisma, id, updateId, input.output, runtime.waitingFor))) {
        const now = await owned(actor, id);
        if (isTerminal(now.lifecycle)) throw new DomainError('GOAL_ENDED', `goal ${id} already ended (${now.lifecycle})`);
        throw new DomainError('GOAL_NOT_WAITING', `goal ${id} is not waiting to be completed (it is ${now.lifecycle}${now.waitingFor ? `, waiting for ${now.waitingFor}` : ''})`);
      }
      try {
        await message(goal, 'a completion', () =>
          temporal.workflow.getHandle(goal.temporalWorkflowId).executeUpdate(completeGoalUpdate, {
            updateId,
            args: [{ goalId: id, outcome: input.outcome, output: input.output, reason: input.reason, completionId: updateId }],
          }),
        );
      } catch (err) {
        // Refused (another completion was taken first): the output kept for this one goes.
        if (isDomainError(err) && err.code === 'GOAL_NOT_WAITING') await goals.dropCompletion(prisma, id, updateId);
        throw err;
      }
      return owned(actor, id);
    },

    async judgeGoal(actor: TActor, id: string, verdict: 'accept' | 'reject', reason?: string): Promise<Goal> {
      const goal = await owned(actor, id);
      await message(goal, 'a judgment', () =>
        temporal.workflow
          .getHandle(goal.temporalWorkflowId)
          .executeUpdate(judgeGoalUpdate, { updateId: goalUpdateId('judge', id, [verdict, reason]), args: [{ goalId: id, verdict, reason }] }),
      );
      return owned(actor, id);
    },

    /**
     * An agent claims an agent leaf waiting in the pool, or renews the lease it
     * holds. One conditional update: the lease is free, expired, or the caller's.
     */
    async claimGoal(actor: TActor, id: string, input: { worker: string; lease_s?: number }): Promise<Goal> {
      const goal = await owned(actor, id);
      const action = ZStoredAction.safeParse(goal.action);
      if (!action.success) throw new DomainError('GOAL_NOT_WAITING', `goal ${id} is not an agent leaf`);
      // Refused first for anything but an agent leaf, whatever lease the caller asks for.
      const ownLease = agentLease(id, action.data);
      const leaseS = input.lease_s ?? ownLease ?? DEFAULT_AGENT_LEASE_S;
      const now = new Date();
      if (!(await goals.claimAgentLease(prisma, { id, worker: input.worker, now, until: new Date(now.getTime() + leaseS * 1000) }))) {
        const fresh = await owned(actor, id);
        if (fresh.waitingFor !== 'agent') throw new DomainError('GOAL_NOT_WAITING', `goal ${id} is not waiting for an agent (${fresh.lifecycle})`);
        throw new DomainError('LEASE_CONFLICT', `goal ${id} is claimed by ${fresh.claimedBy} until ${fresh.leaseExpiresAt?.toISOString()}`);
      }
      return owned(actor, id);
    },
  };
}
