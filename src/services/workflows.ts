import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { findAgent } from '../db/agents';
import { schedulesOfWorkflow } from '../db/schedules';
import { TEMPORAL_SCHEDULE_READ_DEADLINE_MS, withDeadline } from '../temporal/client';
import { asTemporalError } from '../temporal/errors';
import { scheduleConfig } from '../temporal/schedules';
import type { Goal, GoalEdge, PrismaClient } from '../db/client';
import * as goals from '../db/goals';
import { findRun, keyPathFrom, nestedRunsRootedAt, type Run } from '../db/runs';
import * as workflows from '../db/workflows';
import type { SavedWorkflow } from '../db/workflows';
import type { TActor } from '../domain/actor';
import { decodeCursor, encodeCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import {
  contentHash,
  FROZEN_FORMAT,
  frozenPlanAt,
  inputEnvName,
  inputProblems,
  isFullyFrozen,
  type TFrozenPlan,
  type TWorkflowInput,
} from '../domain/frozenPlans';
import { newId } from '../domain/ids';
import { validatePlan, ZPlan, ZAcceptance, type TAcceptance, type TPlan, type TPlanChild } from '../domain/plans';
import { ZEdgeOn } from '../domain/plans';
import { isSpent } from '../domain/schedules';
import { diffFrozenPlans, type TWorkflowDiff } from '../domain/workflowDiff';
import { actorOwner } from './owners';
import { refFootprints, resolveWorkflowRefs } from '../db/workflowRefs';
import { nestedRunProblems, planSizeInvalid } from '../domain/planSize';
import { plannerKey, requiredRuntimes, requireSaverRuntimes, type TPlanners } from '../domain/runtimeRequirements';

/**
 * Saved workflows (SPEC §3): save an accepted composite as the next version
 * of a name, read, list, delete, diff (a workflow's runs are services/runs.ts).
 * Knows nothing of HTTP or Temporal.
 */

export interface TSaveWorkflowInput {
  name: string;
  description?: string;
  inputs?: TWorkflowInput[];
}

function invalidInputs(problems: { path: string; message: string }[]): DomainError {
  return new DomainError('VALIDATION_FAILED', `invalid workflow: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
}

/** The tree under a goal, indexed for the snapshot. */
interface TTreeIndex {
  children: Map<string, Goal[]>;
  edges: Map<string, GoalEdge[]>;
  /** Nested runs rooted in the tree, by root goal id. */
  nestedRuns: Map<string, Run & { savedWorkflow: { name: string; version: number } }>;
}

function childOf(row: Goal): TPlanChild {
  const base = {
    key: row.key ?? row.id,
    title: row.title,
    ...(row.intent === null ? {} : { intent: row.intent }),
    ...(row.acceptance === null ? {} : { acceptance: ZAcceptance.parse(row.acceptance) as TAcceptance }),
    ...(row.joinCount === null ? {} : { join: row.joinCount }),
  };
  return row.kind === 'leaf' ? ({ ...base, kind: 'leaf', action: row.action } as TPlanChild) : ({ ...base, kind: 'composite' } as TPlanChild);
}

/**
 * The plan of a goal as saved: where the goal's layer came from a frozen
 * plan (`template`), that plan as saved (placeholders intact), with the plans
 * installed during the run into its unfrozen composites filled in; elsewhere
 * the plan as the tree holds it. A child that ran another workflow is saved
 * as the reference it was. Unplanned composites are `null`.
 */
function snapshotPlan(goal: Goal, template: TPlan | null | undefined, tree: TTreeIndex): TPlan | null {
  if (goal.plannedAt === null) return template ?? null;
  const rows = tree.children.get(goal.id) ?? [];
  const byKey = new Map((template?.children ?? []).map((c) => [c.key, c]));
  const children = rows.map((row): TPlanChild => {
    const saved = byKey.get(row.key ?? '');
    const nested = tree.nestedRuns.get(row.id);
    if (nested) {
      if (saved?.kind === 'composite' && saved.workflow !== undefined) return saved;
      return { ...(childOf(row) as Extract<TPlanChild, { kind: 'composite' }>), workflow: `${nested.savedWorkflow.name}@${nested.savedWorkflow.version}`, inputs: nested.inputs };
    }
    if (saved && saved.kind === row.kind) {
      if (saved.kind === 'leaf') return saved;
      const plan = snapshotPlan(row, saved.plan ?? null, tree);
      return plan ? { ...saved, plan } : { ...saved, plan: null };
    }
    if (row.kind === 'leaf') return childOf(row);
    return { ...(childOf(row) as Extract<TPlanChild, { kind: 'composite' }>), plan: snapshotPlan(row, undefined, tree) };
  });
  const keyOf = new Map(rows.map((r) => [r.id, r.key ?? r.id]));
  const edges = template?.edges ?? (tree.edges.get(goal.id) ?? []).map((e) => ({ from: keyOf.get(e.fromGoalId) ?? '', to: keyOf.get(e.toGoalId) ?? '', on: ZEdgeOn.parse(e.on) }));
  const parallelism = template?.parallelism ?? goal.parallelism ?? undefined;
  return { children, edges, ...(parallelism === undefined ? {} : { parallelism }) };
}

/**
 * Who planned the saved goal and the goals below it, where an agent other
 * than the workflow's own (the saved goal's) did (domain/runtimeRequirements
 * `TPlanners`): down to nested runs, which are saved as references (their
 * goals are another version's, run with its own planners).
 */
function plannersOf(goal: Goal, tree: TTreeIndex): TPlanners {
  const planners: TPlanners = {};
  const walk = (row: Goal, keys: string[]): void => {
    if (row.plannedByAgentId !== null && row.plannedByAgentId !== goal.agentId) planners[plannerKey(keys)] = row.plannedByAgentId;
    if (row.id !== goal.id && tree.nestedRuns.has(row.id)) return;
    for (const child of tree.children.get(row.id) ?? []) walk(child, [...keys, child.key ?? child.id]);
  };
  walk(goal, []);
  return planners;
}

export function createWorkflowService(deps: { prisma: PrismaClient; temporal?: Client }) {
  const { prisma } = deps;

  /** What the saved goal's tree came from, if it is (part of) a run: the run, and the frozen plan at its place. */
  async function sourceOf(goal: Goal): Promise<{ run: Run; workflow: SavedWorkflow; frozen: TFrozenPlan; template: TPlan | null | undefined; isRoot: boolean } | undefined> {
    if (!goal.runId) return undefined;
    const run = await findRun(prisma, goal.runId);
    const workflow = run && (await workflows.findWorkflow(prisma, run.savedWorkflowId));
    if (!run?.rootGoalId || !workflow) return undefined;
    const frozen = workflow.frozenPlan;
    const path = await keyPathFrom(prisma, run.rootGoalId, goal.id);
    return { run, workflow, frozen, template: path && frozenPlanAt(frozen, path), isRoot: run.rootGoalId === goal.id };
  }

  async function treeIndex(goal: Goal): Promise<TTreeIndex> {
    const { goals: rows, edges } = await goals.loadTreeRows(prisma, goal.rootId, goal.depth + 1);
    const children = new Map<string, Goal[]>();
    for (const row of rows) {
      if (row.parentId) children.set(row.parentId, [...(children.get(row.parentId) ?? []), row]);
    }
    for (const list of children.values()) list.sort((a, b) => a.position - b.position);
    const edgeMap = new Map<string, GoalEdge[]>();
    for (const e of edges) edgeMap.set(e.parentId, [...(edgeMap.get(e.parentId) ?? []), e]);
    const nestedRuns = await nestedRunsRootedAt(
      prisma,
      rows.filter((r) => r.kind === 'composite' && r.runId !== null).map((r) => r.id),
    );
    return { children, edges: edgeMap, nestedRuns };
  }

  return {
    /**
     * Saves an accepted composite as the next version of `name`: a recursive
     * structural snapshot, validated as a plan under the goal's agent's stored
     * limits, with its declared inputs. Saving a run's root keeps the run's
     * workflow's placeholders and inputs, freezes the plans installed during
     * the run, and records the run (lineage).
     */
    async saveGoalAsWorkflow(actor: TActor, goalId: string, input: TSaveWorkflowInput): Promise<SavedWorkflow> {
      const goal = await goals.findOwnedGoal(prisma, actor.userId, goalId);
      if (goal.kind !== 'composite') throw new DomainError('CONFLICT', `goal ${goalId} is a leaf; only an accepted composite can be saved as a workflow`);
      if (goal.lifecycle !== 'done' || goal.doneReason !== 'accepted') {
        const state = goal.lifecycle === 'done' ? `done (${goal.doneReason})` : goal.lifecycle;
        throw new DomainError('CONFLICT', `goal ${goalId} is ${state}; only an accepted composite (done, accepted) can be saved as a workflow`);
      }
      const [source, tree, agent] = await Promise.all([sourceOf(goal), treeIndex(goal), findAgent(prisma, goal.agentId)]);
      const plan = snapshotPlan(goal, source?.template, tree);
      const savedRoot = source?.isRoot ? source.frozen.root : undefined;
      const frozen: TFrozenPlan = {
        format: FROZEN_FORMAT,
        root: {
          title: savedRoot?.title ?? goal.title,
          intent: savedRoot ? savedRoot.intent : goal.intent,
          ...(savedRoot?.acceptance ? { acceptance: savedRoot.acceptance } : goal.acceptance ? { acceptance: ZAcceptance.parse(goal.acceptance) } : {}),
          plan,
        },
      };
      const declared = input.inputs ?? (source?.isRoot ? source.workflow.inputs : []);

      const problems = inputProblems(frozen, declared);
      const envNames = new Map<string, string>();
      declared.forEach((d, i) => {
        const env = inputEnvName(d.name);
        const other = envNames.get(env);
        if (other !== undefined && other !== d.name) problems.push({ path: `inputs[${i}].name`, message: `"${d.name}" and "${other}" would both be ${env} in a leaf's environment` });
        envNames.set(env, d.name);
      });
      if (problems.length) throw invalidInputs(problems);
      if (plan) {
        const parsed = ZPlan.safeParse(plan);
        if (!parsed.success) {
          throw new DomainError('PLAN_INVALID', `the tree no longer reads as a plan: ${parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        }
        const planProblems = validatePlan(plan, agent, 0, 1);
        if (planProblems.length) {
          throw new DomainError('PLAN_INVALID', `the tree breaks its agent's limits or plan rules: ${planProblems.slice(0, 10).map((p) => `${p.rule} at ${p.path || 'plan'}: ${p.message}`).join('; ')}`, planProblems);
        }
        // The workflows it runs as nested runs count too, with their own nested runs.
        const nestedProblems = nestedRunProblems(plan, await refFootprints(prisma, actorOwner(actor), plan), agent, 0, 1);
        if (nestedProblems.length) throw planSizeInvalid("the tree breaks its agent's limits with its nested runs", nestedProblems);
      }
      const refs = await resolveWorkflowRefs(prisma, actorOwner(actor), plan);
      const required = requiredRuntimes(frozen, refs.map((r) => r.workflow.requiredRuntimes));
      // Whoever saves a version picks what follow_latest schedules of its name run next (review r6 #4).
      requireSaverRuntimes(actor.agentId === agent.id ? agent : await findAgent(prisma, actor.agentId), input.name, required, agent);
      const owner = actorOwner(actor);
      return workflows.insertWorkflowVersion(prisma, {
        id: newId('wf'),
        ...owner,
        agentId: goal.agentId,
        name: input.name,
        description: input.description ?? null,
        inputs: declared,
        format: FROZEN_FORMAT,
        frozenPlan: frozen,
        contentHash: contentHash(frozen),
        fullyFrozen: isFullyFrozen(plan) && refs.every((r) => r.workflow.fullyFrozen),
        requiredRuntimes: required,
        // Who planned what, kept so that a run's leaves check them as the tree's did (review r6 #2).
        planners: plannersOf(goal, tree),
        sourceGoalId: goal.id,
        sourceRunId: source?.run.id ?? null,
      });
    },

    async getWorkflow(actor: TActor, id: string): Promise<SavedWorkflow & { runCount: number }> {
      const wf = await workflows.findOwnedWorkflow(prisma, actorOwner(actor), id);
      return { ...wf, runCount: await workflows.countRuns(prisma, id) };
    },

    async listWorkflows(actor: TActor, query: { cursor?: string; limit: number; name?: string }) {
      const after = query.cursor ? decodeCursor(query.cursor, 'wf') : undefined;
      const rows = await workflows.listOwnedWorkflows(prisma, actorOwner(actor), { name: query.name }, after, query.limit + 1);
      const items = rows.slice(0, query.limit);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
    },

    /**
     * Deletes a workflow with no runs. A schedule that runs it and is enabled
     * (not paused, not a spent one-shot), or that Temporal says it does not
     * have, makes this a 409 naming every such schedule; paused and spent ones
     * go with it, in Postgres and in Temporal. Runs are checked first: they
     * keep a workflow for good, so no schedule is worth pausing for it.
     */
    async deleteWorkflow(actor: TActor, id: string): Promise<void> {
      const owner = actorOwner(actor);
      // Ownership only: the plan is neither read nor parsed (a row whose plan no longer reads can still go).
      await workflows.findOwnedWorkflowHeader(prisma, owner, id);
      const runs = await workflows.countRuns(prisma, id);
      if (runs > 0) throw workflows.keptForRuns(id, runs);
      const schedules = await schedulesOfWorkflow(prisma, id);
      const temporal = deps.temporal;
      if (schedules.length && temporal) {
        const enabled: string[] = [];
        const missing: string[] = [];
        for (const schedule of schedules) {
          const description = await withDeadline(temporal, () => temporal.schedule.getHandle(schedule.id).describe(), TEMPORAL_SCHEDULE_READ_DEADLINE_MS).catch((err: unknown) => {
            // Temporal says so of a schedule deleted there, and for a while after it restarts of one it still
            // holds: whether it is enabled cannot be told, so the workflow stays until the schedule is forgotten.
            if (err instanceof ScheduleNotFoundError) return undefined;
            throw asTemporalError(err, `schedule ${schedule.id} could not be read from Temporal`);
          });
          if (!description) missing.push(schedule.id);
          else if (!description.state.paused && !isSpent(scheduleConfig(description).spec, description.state.remainingActions)) enabled.push(schedule.id);
        }
        const reasons = [
          ...(enabled.length ? [`Enabled schedules run it: ${enabled.join(', ')} (pause or delete each first).`] : []),
          ...(missing.length
            ? [
                `Temporal says it does not have these schedules of it: ${missing.join(', ')}. If Temporal has just restarted, try again in a minute; ` +
                  `if one was deleted there (\`temporal schedule delete\`), forget it first: \`reprise schedule delete ${missing.length === 1 ? missing[0] : '<id>'}\`, ` +
                  `DELETE /api/schedules/${missing.length === 1 ? missing[0] : '{id}'}, or Forget on the Schedules page.`,
              ]
            : []),
        ];
        if (reasons.length) throw new DomainError('CONFLICT', `workflow ${id} is kept. ${reasons.join(' ')}`);
      }
      await workflows.deleteOwnedWorkflow(prisma, owner, id, schedules.map((s) => s.id));
      if (temporal) {
        for (const schedule of schedules) {
          await withDeadline(temporal, () => temporal.schedule.getHandle(schedule.id).delete()).catch(() => undefined);
        }
      }
    },

    /** A structural diff of two versions of one name (`id` is the newer side, `against` the older). */
    async diffWorkflows(actor: TActor, id: string, againstId: string): Promise<{ workflow: SavedWorkflow; against: SavedWorkflow; diff: TWorkflowDiff }> {
      const owner = actorOwner(actor);
      const [workflow, against] = await Promise.all([workflows.findOwnedWorkflow(prisma, owner, id), workflows.findOwnedWorkflow(prisma, owner, againstId)]);
      if (workflow.name !== against.name) {
        throw new DomainError('VALIDATION_FAILED', `workflow ${againstId} is "${against.name}", not "${workflow.name}": a diff compares two versions of one name`);
      }
      return { workflow, against, diff: diffFrozenPlans(against.frozenPlan, workflow.frozenPlan) };
    },
  };
}

export type TWorkflowService = ReturnType<typeof createWorkflowService>;
