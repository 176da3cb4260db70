import type { Client } from '@temporalio/client';
import { findAgent } from '../db/agents';
import type { Agent, Goal, PrismaClient } from '../db/client';
import * as goals from '../db/goals';
import type { TActor } from '../domain/actor';
import { RUNTIMES, ZStoredAction, type TAction } from '../domain/actions';
import { DomainError } from '../domain/errors';
import { isTerminal } from '../domain/goals';
import { goalTemporalWorkflowId, newId } from '../domain/ids';
import { acceptanceFlagsOf, validatePlan, type TAcceptance, type TPlan, type TPlanProblem } from '../domain/plans';
import { withDeadline } from '../temporal/client';
import { asTemporalError, isAlreadyStarted } from '../temporal/errors';
import { DEFAULT_ENGINE_TUNING, DEFAULT_LEAF_TIMEOUT_S, layerLeafOf, type TEngineTuning, type TLayerLeaf } from '../domain/execution';
import { PURSUE_GOAL_TYPE, ROOT_AND_RUN_START_POLICY, pursueGoalStart } from '../temporal/starts';
import { planInstalledSignal } from '../workflows/messages';
import type { pursueGoal } from '../workflows/pursueGoal';
import { createGoalMessages } from './goalMessages';
import { createGoalReads } from './goalReads';
import { nestedRunsFor, refFootprints } from '../db/workflowRefs';
import { nestedRunProblems } from '../domain/planSize';
import { actorOwner } from './owners';
import { requireReferencedRuntimes } from './runtimePrivileges';
import { requirePlanInternalAddressPrivilege } from '../domain/runtimeRequirements';
import { literalInternalHost } from '../lib/internalAddresses';

export type { TCompleteGoalRequest } from './goalMessages';
export type { TGoalTree, TGoalTreePage, TListGoalsQuery, TTreeBounds } from './goalReads';

export interface TGoalServiceDeps {
  prisma: PrismaClient;
  temporal: Client;
  taskQueue: string;
  /** Engine settings every goal started here runs with (ENGINE_* in the config). */
  engine?: TEngineTuning;
  /** LEAF_DEFAULT_TIMEOUT_S: a root leaf without `timeout_s` started here is timed with it (TPursueGoalInput.leaf). */
  leafDefaultTimeoutS?: number;
}

export type TCreateGoalInput = {
  title: string;
  intent?: string;
  acceptance?: TAcceptance;
  start: boolean;
} & ({ kind: 'leaf'; action: TAction } | { kind: 'composite'; plan?: TPlan | null });

function planInvalid(problems: TPlanProblem[]): DomainError {
  return new DomainError(
    'PLAN_INVALID',
    `the plan breaks ${problems.length === 1 ? 'a rule' : `${problems.length} rules`}: ${problems.map((p) => `${p.rule} at ${p.path || 'plan'}: ${p.message}`).join('; ')}`,
    problems,
  );
}

/** Refuses a leaf runtime the agent may not use (SPEC §6: running commands is a privilege). */
function checkRuntime(agent: Agent, runtime: string, why = ''): void {
  if (!agent.allowedRuntimes.includes(runtime)) {
    throw new DomainError('RUNTIME_NOT_ALLOWED', `${why}agent ${agent.name} may not run "${runtime}" actions (allowed: ${agent.allowedRuntimes.join(', ') || 'none'})`);
  }
}

/**
 * How a root leaf the worker runs is run, from its own row (TPursueGoalInput.leaf):
 * its execution then starts the leaf at once. Without `timeout_s` its action and
 * check are timed with this process's LEAF_DEFAULT_TIMEOUT_S, which goes with it
 * to the worker's activity (runLeaf uses it, so both agree whatever the worker's is).
 */
function rootLeafOf(goal: Goal, defaultTimeoutS: number): TLayerLeaf | undefined {
  if (goal.kind !== 'leaf') return undefined;
  const action = ZStoredAction.safeParse(goal.action);
  if (!action.success || RUNTIMES[action.data.runtime].executedBy !== 'worker') return undefined;
  return { ...layerLeafOf(action.data, acceptanceFlagsOf(goal.acceptance), defaultTimeoutS), defaultTimeoutS };
}

/** Creating goals, installing plans, starting roots. Knows nothing of HTTP. */
export function createGoalCreation(deps: TGoalServiceDeps) {
  const { prisma, temporal } = deps;

  async function startExecution(goal: Goal): Promise<void> {
    await withDeadline(temporal, () =>
      temporal.workflow.start<typeof pursueGoal>(PURSUE_GOAL_TYPE, {
        taskQueue: deps.taskQueue,
        ...pursueGoalStart(goal, deps.engine ?? DEFAULT_ENGINE_TUNING, rootLeafOf(goal, deps.leafDefaultTimeoutS ?? DEFAULT_LEAF_TIMEOUT_S)),
        ...ROOT_AND_RUN_START_POLICY,
      }),
    );
  }

  return {
    async createGoal(actor: TActor, input: TCreateGoalInput): Promise<Goal> {
      const agent = await findAgent(prisma, actor.agentId);
      if (input.kind === 'leaf') checkRuntime(agent, input.action.runtime);
      // An acceptance check is a shell command too, wherever it sits.
      if (input.acceptance?.check !== undefined) checkRuntime(agent, 'shell', 'an acceptance check runs as a shell command: ');
      const plan = input.kind === 'composite' ? input.plan : undefined;
      if (plan) {
        const problems = validatePlan(plan, agent, 0, 1);
        if (problems.length) throw planInvalid(problems);
        const nestedProblems = nestedRunProblems(plan, await refFootprints(prisma, actorOwner(actor), plan), agent, 0, 1);
        if (nestedProblems.length) throw planInvalid(nestedProblems);
      }
      const id = newId('goal');
      const nested = plan ? await nestedRunsFor(prisma, actorOwner(actor), { id, runId: null, requestedByAgentId: agent.id }, plan, { deep: true }) : [];
      await requireReferencedRuntimes(prisma, actorOwner(actor), plan, [agent.id]);
      const goal = await goals.createRootGoal(
        prisma,
        {
          id,
          agentId: agent.id,
          ownerUserId: actor.userId,
          kind: input.kind,
          title: input.title,
          intent: input.intent ?? null,
          action: input.kind === 'leaf' ? input.action : undefined,
          acceptance: input.acceptance,
          temporalWorkflowId: goalTemporalWorkflowId({ id, title: input.title }),
        },
        plan,
        nested,
      );
      if (!input.start) return goal;
      try {
        await startExecution(goal);
      } catch (err) {
        // Nothing half-written: a goal that could not start is not kept. (If a
        // start did reach Temporal, its first activity finds no goal and ends.)
        await goals.deleteGoal(prisma, id).catch(() => undefined);
        throw asTemporalError(err, 'the goal could not be started');
      }
      return goal;
    },

    /**
     * Installs the plan of an unplanned composite, once: two racing
     * submissions cannot both win (the loser gets PLAN_ALREADY_INSTALLED).
     */
    async installPlan(actor: TActor, id: string, plan: TPlan): Promise<Goal> {
      const target = await goals.findOwnedGoal(prisma, actor.userId, id);
      const nested = await nestedRunsFor(prisma, actorOwner(actor), { id, runId: target.runId, requestedByAgentId: actor.agentId }, plan, { deep: true });
      await requireReferencedRuntimes(prisma, actorOwner(actor), plan, [target.agentId, actor.agentId]);
      const footprints = await refFootprints(prisma, actorOwner(actor), plan);
      // A plan's commands are the caller's: submitted for another agent's goal, they need both agents' runtimes.
      const submitter = await findAgent(prisma, actor.agentId);
      const caller = target.agentId === actor.agentId ? undefined : submitter;
      // Its requests are the caller's too: each goal it writes records the caller
      // (planned_by_agent_id) and its leaves reach internal addresses only if the
      // caller may run shell; a literal internal address is refused here, up front.
      requirePlanInternalAddressPrivilege(submitter, plan, literalInternalHost);
      const goal = await goals.installPlanOnce(prisma, {
        id,
        ownerUserId: actor.userId,
        plan,
        plannedByAgentId: actor.agentId,
        nested,
        validate: (parent, agent, existingGoals) => {
          const runtimes = caller ? agent.allowedRuntimes.filter((r) => caller.allowedRuntimes.includes(r)) : agent.allowedRuntimes;
          const problems = validatePlan(plan, { ...agent, allowedRuntimes: runtimes }, parent.depth, existingGoals);
          if (problems.length) throw planInvalid(problems);
          const nestedProblems = nestedRunProblems(plan, footprints, agent, parent.depth, existingGoals);
          if (nestedProblems.length) throw planInvalid(nestedProblems);
        },
      });
      // Wake its workflow if it is waiting for this plan. The plan is installed
      // either way: a workflow not running yet finds it when it starts, and a
      // waiting one also rechecks Postgres periodically, so a lost signal only delays it.
      if (goal.lifecycle !== 'draft') {
        await withDeadline(temporal, () => temporal.workflow.getHandle(goal.temporalWorkflowId).signal(planInstalledSignal, { goalId: id })).catch(() => undefined);
      }
      return goal;
    },

    /** Starts a draft root goal. Children start with their parent. */
    async startGoal(actor: TActor, id: string): Promise<Goal> {
      const goal = await goals.findOwnedGoal(prisma, actor.userId, id);
      if (goal.parentId) throw new DomainError('CONFLICT', `goal ${id} is part of a plan; it starts when its parent runs it`);
      if (isTerminal(goal.lifecycle)) throw new DomainError('GOAL_ENDED', `goal ${id} already ended (${goal.lifecycle})`);
      if (goal.lifecycle !== 'draft') return goal; // already started: starting again changes nothing
      try {
        await startExecution(goal);
      } catch (err) {
        if (isAlreadyStarted(err)) throw new DomainError('CONFLICT', `goal ${id} already ran; a goal runs once`);
        throw asTemporalError(err, 'the goal could not be started');
      }
      return goals.findOwnedGoal(prisma, actor.userId, id);
    },
  };
}

/** Everything the API does with goals: creation and plans, messages to running goals, reads. */
export function createGoalService(deps: TGoalServiceDeps) {
  return {
    ...createGoalCreation(deps),
    ...createGoalMessages(deps),
    ...createGoalReads(deps),
  };
}
export type TGoalService = ReturnType<typeof createGoalService>;
