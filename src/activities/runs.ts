import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Goal, PrismaClient } from '../db/client';
import * as goals from '../db/goals';
import {
  beginRun,
  findGoals,
  findRun,
  findRunRootGoalId,
  frozenChildren,
  keyPathFrom,
  markRunFailed,
  markRunMaterialized,
  plannedAmong,
  writeLayer,
  writeLayers,
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
import { countPlanGoals, validatePlan, type TPlan } from '../domain/plans';
import type { TPlanLayer, TPlanParent } from '../db/planRows';
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
  /** Goals the frozen plan holds under the root (nested runs' own not counted): how big the materialization is. */
  planGoals?: number;
}

/** What one materializeLayers call did, and the frozen composites left for the next call (breadth first). */
export interface TMaterializedLayers {
  pending: string[];
  /** Layers this call went through (written now, or found written). */
  layers: number;
  /** Goals it wrote. */
  written: number;
  /** Set when it was asked to (`finish`) and nothing is left: the ledger now says `materialized`. */
  materialized?: boolean;
}

/**
 * Rows one materializeLayers call writes at most before it hands the rest
 * back: a few seconds of inserts, and a result (the frozen composites left)
 * far below Temporal's payload limit.
 */
export const MATERIALIZE_ROWS_PER_CALL = 20_000;

/** A frozen composite waiting for its layer, as materializeLayers carries it in memory. */
interface TPendingLayer {
  parent: TPlanParent & { title: string };
  /** Its keys from the run's root down (the frozen plan's path, and who planned its children). */
  path: string[];
  template: TPlan | null | undefined;
}

function runInvalid(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.RunInvalid);
}

export function createRunActivities(deps: { prisma: PrismaClient; /** Tests make it small, to see calls split. */ materializeRowsPerCall?: number }) {
  const { prisma } = deps;
  const rowsPerCall = deps.materializeRowsPerCall ?? MATERIALIZE_ROWS_PER_CALL;

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
  async function checkLayer(
    goal: Pick<Goal, 'id' | 'title' | 'agentId' | 'depth'>,
    layer: TPlan,
    owner: TOwner,
    existing: number,
    agentOf: (id: string) => ReturnType<typeof findAgent> = (id) => findAgent(prisma, id),
  ): Promise<void> {
    const [agent, footprints] = await Promise.all([agentOf(goal.agentId), refFootprints(prisma, owner, layer)]);
    const limits = { ...agent, allowedRuntimes: [...RUNTIME_NAMES] };
    const problems = [...validatePlan(layer, limits, goal.depth, existing), ...nestedRunProblems(layer, footprints, limits, goal.depth, existing)];
    if (problems.length) {
      throw runInvalid(`the layer of goal ${goal.id} ("${goal.title}") breaks ${problems.length === 1 ? 'a rule' : `${problems.length} rules`} of a plan: ${problems.map((p) => `${p.rule} at ${p.path || 'plan'}: ${p.message}`).join('; ')}`);
    }
  }

  /** One frozen composite's layer, alone (materializeLayer; a layer with nested runs in materializeLayers). */
  async function materializeOne(goalId: string): Promise<{ frozen: string[]; written: number }> {
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
      await checkLayer(goal, layer, owner, await goals.countTreeGoals(prisma, goal.rootId));
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
    return { root: targetOf(root, runId), pending: root.planFrozen ? [root.id] : [], planGoals: frozen.root.plan ? countPlanGoals(frozen.root.plan) : 0 };
  }

  /** materializeLayers' body. */
  async function materializeFrom(runId: string, goalIds: string[], heartbeat: () => void): Promise<TMaterializedLayers> {
    const run = await readRun(runId);
    if (!run?.rootGoalId) throw runInvalid(`run ${runId} has no root`);
    const rootGoalId = run.rootGoalId;
    const { workflow, frozen, planners } = await savedWorkflow(run.savedWorkflowId);
    const owner = { ownerUserId: workflow.ownerUserId, ownerAgentId: workflow.ownerAgentId };
    const agents = new Map<string, Awaited<ReturnType<typeof findAgent>>>();
    const agentOf = async (id: string) => {
      if (!agents.has(id)) agents.set(id, await findAgent(prisma, id));
      return agents.get(id) as Awaited<ReturnType<typeof findAgent>>;
    };

    // The first level from Postgres (ids from the workflow); every later one from memory.
    let level: TPendingLayer[] = [];
    const byId = new Map((await findGoals(prisma, goalIds)).map((g) => [g.id, g]));
    for (const goalId of goalIds) {
      const goal = byId.get(goalId);
      if (!goal) throw ApplicationFailure.nonRetryable(`goal ${goalId} does not exist`, FAILURE_TYPES.GoalNotFound);
      if (goal.runId !== run.id || !goal.planFrozen) throw runInvalid(`goal ${goalId} is not a frozen composite of run ${run.id}`);
      const path = await keyPathFrom(prisma, rootGoalId, goal.id);
      level.push({ parent: planParentOf(goal), path: path ?? [], template: path && frozenPlanAt(frozen, path) });
    }

    // The tree's goals: a nested run's goals are its outer tree's (their root_id is the outer root's).
    const treeRootId = level[0]?.parent.rootId ?? rootGoalId;
    let existing = await goals.countTreeGoals(prisma, treeRootId);
    let layers = 0;
    let written = 0;
    while (level.length) {
      const next: TPendingLayer[] = [];
      const plain: TPlanLayer[] = [];
      const withRefs: TPendingLayer[] = [];
      const planned = await plannedAmong(prisma, level.map((p) => p.parent.id));
      let taken = 0;
      for (const pending of level) {
        const { parent, path, template } = pending;
        if (!template) throw runInvalid(`goal ${parent.id} has no frozen plan in workflow ${workflow.name} v${workflow.version}`);
        const layer = instantiateLayer(template, run.inputs);
        if (!planned.has(parent.id)) {
          // A call stops at its budget between layers (never within one): the rest of this level and below go back.
          if (written > 0 && written + layer.children.length > rowsPerCall) break;
          if (layer.children.some((c) => c.kind === 'composite' && c.workflow !== undefined)) withRefs.push(pending);
          else {
            await checkLayer(parent, layer, owner, existing, agentOf);
            const plannedByKey = new Map<string, string>();
            for (const child of layer.children) {
              const planner = planners[plannerKey([...path, child.key])];
              if (planner) plannedByKey.set(child.key, planner);
            }
            plain.push({ parent, plan: layer, plannedByKey });
            existing += layer.children.length;
            written += layer.children.length;
          }
        }
        taken++;
        layers++;
        // Its frozen composites, in plan order (as frozenChildren lists them): nested runs' roots are their own runs'.
        template.children.forEach((child, i) => {
          if (child.kind !== 'composite' || child.workflow !== undefined || !child.plan) return;
          const id = childGoalId(parent.id, child.key);
          const title = (layer.children[i] as { title: string }).title;
          next.push({
            parent: { ...parent, id, title, depth: parent.depth + 1, temporalWorkflowId: goalTemporalWorkflowId({ id, title: child.key }) },
            path: [...path, child.key],
            template: child.plan,
          });
        });
      }
      await writeLayers(prisma, plain);
      for (const pending of withRefs) {
        const one = await materializeOne(pending.parent.id);
        written += one.written;
      }
      if (withRefs.length) existing = await goals.countTreeGoals(prisma, treeRootId);
      if (taken < level.length) return { pending: [...level.slice(taken), ...next].map((p) => p.parent.id), layers, written };
      level = next;
      heartbeat();
    }
    return { pending: [], layers, written };
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
      return materializeOne(goalId);
    },

    /**
     * Writes the run's frozen layers from these composites down, breadth
     * first, until they are all written or the call has written
     * MATERIALIZE_ROWS_PER_CALL rows; returns the composites left. Each level's
     * plain layers go in one transaction (insertLayers: a few statements
     * however many layers); a layer naming other workflows (nested runs) is
     * written alone, as materializeLayer writes it. Everything it needs past
     * the first level is known in memory (ids, paths, the frozen plan), so a
     * layer costs no query of its own. Layers already written are skipped and
     * their children still followed: a call may run twice. With `finish`, the
     * call that writes the last layer also moves the ledger to `materialized`.
     */
    async materializeLayers({ runId, goalIds, finish }: { runId: string; goalIds: string[]; finish?: boolean }): Promise<TMaterializedLayers> {
      // A regular activity's heartbeat; a local one has none (Temporal refuses it).
      const ctx = Context.current();
      const heartbeat = (): void => {
        if (!ctx.info.isLocal) ctx.heartbeat();
      };
      const ticker = setInterval(heartbeat, 2000);
      try {
        const done = await materializeFrom(runId, goalIds, heartbeat);
        if (!finish || done.pending.length) return done;
        // The last layer is in: the ledger moves on in this call (no finishMaterializing step of its own).
        await markRunMaterialized(prisma, runId);
        return { ...done, materialized: true };
      } catch (err) {
        if (isDomainError(err) && !isTransientCode(err.code)) throw runInvalid(`run ${runId}: ${err.message}`);
        throw err;
      } finally {
        clearInterval(ticker);
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

/** A goal as the plan-row writer and a layer's checks need it. */
function planParentOf(goal: Goal): TPendingLayer['parent'] {
  const { id, rootId, agentId, ownerUserId, ownerAgentId, depth, temporalWorkflowId, savedWorkflowId, savedWorkflowVersion, runId, title } = goal;
  return { id, rootId, agentId, ownerUserId, ownerAgentId, depth, temporalWorkflowId, savedWorkflowId, savedWorkflowVersion, runId, title };
}

function targetOf(root: Goal | undefined, runId: string): TPursueGoalTarget {
  if (!root) return { id: runRootGoalId(runId), rootId: runRootGoalId(runId), title: '', temporalWorkflowId: '' };
  return { id: root.id, rootId: root.rootId, title: root.title, temporalWorkflowId: root.temporalWorkflowId };
}
