import { ApplicationFailure } from '@temporalio/activity';
import type { Goal, PrismaClient } from '../db/client';
import * as goals from '../db/goals';
import {
  beginRun,
  findRun,
  findRunRootGoalId,
  frozenChildren,
  keyPathFrom,
  markRunFailed,
  markRunMaterialized,
  writeLayer,
  type Run,
} from '../db/runs';
import { findWorkflow, workflowPlannersOf, type SavedWorkflow } from '../db/workflows';
import { FAILURE_TYPES, isDomainError, isTransientCode } from '../domain/errors';
import { frozenPlanAt, instantiate, instantiateLayer, type TFrozenPlan } from '../domain/frozenPlans';
import { childGoalId, goalTemporalWorkflowId, runRootGoalId } from '../domain/ids';
import type { TPursueGoalTarget } from '../temporal/starts';
import { nestedRunsFor, refFootprints } from '../db/workflowRefs';
import { findAgent } from '../db/agents';
import type { TOwner } from '../db/workflows';
import { RUNTIME_NAMES } from '../domain/runtimes';
import { validatePlan, type TPlan } from '../domain/plans';
import { nestedRunProblems } from '../domain/planSize';
import { plannerKey, type TPlanners } from '../domain/runtimeRequirements';
import { loadGoal } from './goals';

/**
 * A run's instantiation (SPEC §4), step by step for performRun: begin
 * (the root goal, derived from the run id), one layer per frozen composite
 * (a batched, duplicate-skipping insert through the one plan-row writer, with
 * frozen children stamped in the same transaction), then materialized or failed.
 * Every step may run twice: ids are derived and layers written once.
 */

export interface TBegunRun {
  root: TPursueGoalTarget;
  /** Frozen composites to materialize, starting with the root. */
  pending: string[];
  /** Set when the ledger already says failed. */
  failed?: string;
}

function runInvalid(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.RunInvalid);
}

export function createRunActivities(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  /** The run's workflow; its parsed frozen plan comes from db/workflows' cache (saved versions never change). */
  async function savedWorkflow(id: string): Promise<{ workflow: SavedWorkflow; frozen: TFrozenPlan; planners: TPlanners }> {
    // A frozen plan that no longer reads (an old row) fails the run, never retried.
    const workflow = await findWorkflow(prisma, id).catch((err: unknown) => {
      throw isDomainError(err) ? runInvalid(err.message) : err;
    });
    if (!workflow) throw runInvalid(`workflow ${id} no longer exists`);
    // Who planned what (review r6 #2): a map that does not read fails the run rather than drop a planner.
    const planners = await workflowPlannersOf(prisma, workflow).catch((err: unknown) => {
      throw isDomainError(err) ? runInvalid(err.message) : err;
    });
    return { workflow, frozen: workflow.frozenPlan, planners };
  }

  /** A run whose stored inputs no longer read (a CONFLICT from db/) fails, never retried. */
  async function readRun(runId: string): Promise<Run | null> {
    return findRun(prisma, runId).catch((err: unknown) => {
      throw isDomainError(err) ? runInvalid(`run ${runId} cannot be instantiated: ${err.message}`) : err;
    });
  }

  /**
   * A layer is checked as a submitted plan is, before anything of it is
   * written: plan rules, and its agent's limits as they are now (the tree
   * so far, this layer with what it holds, nested runs included). The
   * runtimes are not checked here: each leaf checks its agent when it runs.
   * A layer that fails fails the run (and its root goal) with the reason.
   */
  async function checkLayer(goal: Goal, layer: TPlan, owner: TOwner): Promise<void> {
    const [agent, existing, footprints] = await Promise.all([findAgent(prisma, goal.agentId), goals.countTreeGoals(prisma, goal.rootId), refFootprints(prisma, owner, layer)]);
    const limits = { ...agent, allowedRuntimes: [...RUNTIME_NAMES] };
    const problems = [...validatePlan(layer, limits, goal.depth, existing), ...nestedRunProblems(layer, footprints, limits, goal.depth, existing)];
    if (problems.length) {
      throw runInvalid(`the layer of goal ${goal.id} ("${goal.title}") breaks ${problems.length === 1 ? 'a rule' : `${problems.length} rules`} of a plan: ${problems.map((p) => `${p.rule} at ${p.path || 'plan'}: ${p.message}`).join('; ')}`);
    }
  }

  /** beginRun's work, for a run that exists. */
  async function begin(run: Run): Promise<TBegunRun> {
    const runId = run.id;
    const { workflow, frozen, planners } = await savedWorkflow(run.savedWorkflowId);

    let rootId = run.rootGoalId;
    if (run.state === 'failed') {
      const root = rootId ? await loadGoal(prisma, rootId) : undefined;
      return { root: targetOf(root, runId), pending: [], failed: run.error ?? 'the run failed' };
    }
    if (!rootId) {
      // The root's texts go through substitution like every child's.
      const texts = instantiate({ ...frozen, root: { ...frozen.root, plan: null } }, run.inputs);
      const id = runRootGoalId(runId);
      await beginRun(prisma, runId, {
        id,
        agentId: workflow.agentId,
        ownerUserId: workflow.ownerUserId,
        ownerAgentId: workflow.ownerAgentId,
        title: texts.title,
        intent: texts.intent,
        acceptance: texts.acceptance ?? undefined,
        temporalWorkflowId: goalTemporalWorkflowId({ id, title: texts.title }),
        savedWorkflowId: workflow.id,
        savedWorkflowVersion: workflow.version,
        runId,
        planFrozen: frozen.root.plan !== null,
        // The saved goal's own planner (its acceptance check is that agent's work).
        plannedByAgentId: planners[plannerKey([])] ?? null,
      });
      rootId = id;
    } else {
      await beginRun(prisma, runId, null);
    }
    const root = await loadGoal(prisma, rootId);
    return { root: targetOf(root, runId), pending: root.planFrozen ? [root.id] : [] };
  }

  return {
    /**
     * Creates (or finds) the run's root goal and moves the ledger to
     * `materializing`. A run that cannot begin as saved (its workflow gone or
     * unreadable, its inputs unreadable or no longer fitting) ends `failed` in the ledger
     * with the reason, as one that fails later does: never left `claimed`.
     */
    async beginRun({ runId }: { runId: string }): Promise<TBegunRun> {
      try {
        const run = await readRun(runId);
        if (!run) throw runInvalid(`run ${runId} does not exist`);
        return await begin(run);
      } catch (err) {
        // The run's own problem (our RunInvalid, or a domain refusal such as inputs that no longer fit), never an outage.
        const own = err instanceof ApplicationFailure ? err.type === FAILURE_TYPES.RunInvalid : isDomainError(err) && !isTransientCode(err.code);
        if (!own) throw err;
        const reason = (err as Error).message;
        await markRunFailed(prisma, runId, reason);
        return { root: targetOf(undefined, runId), pending: [], failed: reason };
      }
    },
    /**
     * Writes one frozen composite's layer: its children (inputs substituted
     * in their texts), edges and nested runs. Returns the frozen composites
     * among the children, for the next steps. A layer already written is not
     * written again; the same children are returned.
     */
    async materializeLayer({ goalId }: { goalId: string }): Promise<{ frozen: string[]; written: number }> {
      const goal = await loadGoal(prisma, goalId);
      if (!goal.runId || !goal.planFrozen) throw runInvalid(`goal ${goalId} is not a frozen composite of a run`);
      if (goal.plannedAt) return { frozen: await frozenChildren(prisma, goal.id, goal.runId), written: 0 };
      const run = await readRun(goal.runId);
      if (!run?.rootGoalId) throw runInvalid(`goal ${goalId}'s run ${goal.runId} has no root`);
      const { workflow, frozen, planners } = await savedWorkflow(run.savedWorkflowId);
      const path = await keyPathFrom(prisma, run.rootGoalId, goal.id);
      const template = path && frozenPlanAt(frozen, path);
      if (!template) throw runInvalid(`goal ${goalId} has no frozen plan in workflow ${workflow.name} v${workflow.version}`);
      try {
        const layer = instantiateLayer(template, run.inputs);
        const owner = { ownerUserId: workflow.ownerUserId, ownerAgentId: workflow.ownerAgentId };
        await checkLayer(goal, layer, owner);
        const nested = await nestedRunsFor(prisma, owner, { id: goal.id, runId: run.id, requestedByAgentId: run.requestedByAgentId }, layer, { deep: false });
        const plannedByKey = new Map<string, string>();
        for (const child of layer.children) {
          const planner = planners[plannerKey([...path, child.key])];
          if (planner) plannedByKey.set(child.key, planner);
        }
        const written = await writeLayer(prisma, goal, layer, nested, { layerOnly: true, plannedByKey });
        if (!written) return { frozen: await frozenChildren(prisma, goal.id, run.id), written: 0 };
        // What was just written: its frozen composites, in plan order (as frozenChildren would list them).
        const frozenNow = layer.children.filter((c) => c.kind === 'composite' && c.workflow === undefined && c.plan).map((c) => childGoalId(goal.id, c.key));
        return { frozen: frozenNow, written: layer.children.length };
      } catch (err) {
        if (isDomainError(err)) throw runInvalid(`layer of goal ${goalId}: ${err.message}`);
        throw err;
      }
    },

    /** Every frozen layer is written: the ledger moves to `materialized` (the tree runs on). */
    async finishMaterializing({ runId }: { runId: string }): Promise<void> {
      await markRunMaterialized(prisma, runId);
    },

    /** The run could not be instantiated: the ledger says why, and its root (if any) fails with the same reason. */
    async failRun({ runId, reason }: { runId: string; reason: string }): Promise<void> {
      // The root first: once the ledger says failed, its tree says so too (never a failed run over a draft root).
      // Only the root's id: a run whose stored inputs do not read is still failed, and its root with it.
      const rootGoalId = await findRunRootGoalId(prisma, runId);
      if (rootGoalId) await goals.failSubtree(prisma, rootGoalId, `the run could not be instantiated: ${reason}`);
      await markRunFailed(prisma, runId, reason);
    },
  };
}

function targetOf(root: Goal | undefined, runId: string): TPursueGoalTarget {
  if (!root) return { id: runRootGoalId(runId), rootId: runRootGoalId(runId), title: '', temporalWorkflowId: '' };
  return { id: root.id, rootId: root.rootId, title: root.title, temporalWorkflowId: root.temporalWorkflowId };
}
