import type { Client } from '@temporalio/client';
import type { TActor } from '../domain/actor';
import type { PrismaClient } from '../db/client';
import type { TAction } from '../domain/actions';
import { DomainError } from '../domain/errors';
import { goalTemporalWorkflowId, newId } from '../domain/ids';
import { SA_GOAL_ID, SA_ROOT_GOAL_ID } from '../domain/searchAttributes';
import type { runGoal } from '../workflows/runGoal';
import type { Goal } from '../generated/prisma/client';
import { asTemporalError } from './temporal';

export type { Goal };

export interface TGoalServiceDeps {
  prisma: PrismaClient;
  temporal: Client;
  taskQueue: string;
}

export interface TCreateGoalInput {
  title: string;
  intent?: string;
  kind: 'leaf';
  action: TAction;
  start: boolean;
}

const START_DEADLINE_MS = 5000;

/** Goals: create, read, start. Knows nothing of HTTP. */
export function createGoalService(deps: TGoalServiceDeps) {
  const { prisma, temporal } = deps;

  async function startExecution(goal: Goal): Promise<void> {
    const workflowId = goal.temporalWorkflowId;
    if (!workflowId) throw new Error(`goal ${goal.id} has no Temporal workflow id`);
    // Bounded: a caller should hear "Temporal is down" in seconds, not after the client's own retries.
    const deadline = Date.now() + START_DEADLINE_MS;
    await temporal.connection.withDeadline(deadline, () => temporal.workflow.start<typeof runGoal>('runGoal', {
      taskQueue: deps.taskQueue,
      workflowId,
      args: [{ goalId: goal.id }],
      // A repeated start of the same goal attaches to the running execution.
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: SA_GOAL_ID, value: goal.id },
        { key: SA_ROOT_GOAL_ID, value: goal.rootId },
      ],
      staticSummary: goal.title,
    }));
  }

  return {
    async createGoal(actor: TActor, input: TCreateGoalInput): Promise<Goal> {
      const agent = await prisma.agent.findUnique({ where: { id: actor.agentId } });
      if (!agent) throw new DomainError('NOT_FOUND', `agent ${actor.agentId} not found`);
      if (!agent.allowedRuntimes.includes(input.action.runtime)) {
        throw new DomainError(
          'RUNTIME_NOT_ALLOWED',
          `agent ${agent.name} may not run "${input.action.runtime}" actions (allowed: ${agent.allowedRuntimes.join(', ') || 'none'})`,
        );
      }
      const id = newId('goal');
      const goal = await prisma.goal.create({
        data: {
          id,
          rootId: id,
          agentId: agent.id,
          ownerUserId: actor.userId,
          kind: input.kind,
          title: input.title,
          intent: input.intent ?? null,
          action: input.action,
          temporalWorkflowId: goalTemporalWorkflowId({ id, title: input.title }),
        },
      });
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

    async getGoal(actor: TActor, id: string): Promise<Goal> {
      const goal = await prisma.goal.findFirst({ where: { id, ownerUserId: actor.userId } });
      if (!goal) throw new DomainError('NOT_FOUND', `goal ${id} not found`);
      return goal;
    },
  };
}

export type TGoalService = ReturnType<typeof createGoalService>;
