import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../db/client';
import { claimRun, findOwnedRun, findOwnedRunByKey, findRun, listRuns, runProgressRows, runTreeStates, type Run, type TRunTreeState } from '../db/runs';
import { summarizeRunProgress, type TRunProgress } from '../domain/runs';
import * as workflows from '../db/workflows';
import type { SavedWorkflow, TWorkflowHeader } from '../db/workflows';
import { findAgent } from '../db/agents';
import { refFootprints } from '../db/workflowRefs';
import { planSizeInvalid, runSizeProblems } from '../domain/planSize';
import type { TActor } from '../domain/actor';
import { decodeCursor, encodeCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import { DEFAULT_ENGINE_TUNING, type TEngineTuning } from '../domain/execution';
import { checkSubstitution, resolveInputs } from '../domain/frozenPlans';
import { runId as deriveRunId, inputsHash, runRootGoalId, runTemporalWorkflowId } from '../domain/ids';
import { withDeadline } from '../temporal/client';
import { asTemporalError, isAlreadyStarted } from '../temporal/errors';
import { ROOT_AND_RUN_START_POLICY, PERFORM_RUN_TYPE, runSummary, performRunStart } from '../temporal/starts';
import type { performRun } from '../workflows/performRun';
import { actorOwner } from './owners';
import { requireAgentRuntimes } from './runtimePrivileges';

/**
 * Runs (SPEC §4): instantiating a saved workflow under an idempotency key,
 * and reading runs back (one, or a workflow's page of them).
 *
 * The ledger row is claimed first (unique (workflow, key)); the run's
 * Temporal workflow id derives from (workflow id, key) and is started so
 * that Temporal refuses a second execution. A crash between claim and start
 * leaves the row `claimed`: the next request with the key starts it (the
 * start is idempotent), so a replay heals it. Postgres, not Temporal, keeps a
 * key idempotent forever.
 */

/** A run as the API shows it: the ledger row, its workflow's identity and its tree's state; `progress` only where one run is read (lists leave it out). */
export type TRunView = Run & { workflow: { name: string; version: number }; tree: TRunTreeState; progress?: TRunProgress };

export interface TRunServiceDeps {
  prisma: PrismaClient;
  temporal: Client;
  taskQueue: string;
  engine?: TEngineTuning;
  /** Tests only: stop after the claim, as a crash between claim and start would. */
  crashAfterClaim?: () => boolean;
}

export interface TCreateRunInput {
  idempotencyKey: string;
  inputs: Record<string, string>;
}

export function createRunService(deps: TRunServiceDeps) {
  const { prisma, temporal } = deps;

  /** Starts (or finds started) the run's Temporal workflow. */
  async function startRun(run: Run, workflow: Pick<TWorkflowHeader, 'name' | 'version'>): Promise<void> {
    try {
      await withDeadline(temporal, () =>
        temporal.workflow.start<typeof performRun>(PERFORM_RUN_TYPE, {
          taskQueue: deps.taskQueue,
          ...performRunStart(
            {
              id: run.id,
              temporalWorkflowId: run.temporalWorkflowId,
              rootGoalId: runRootGoalId(run.id),
              workflow,
              summary: runSummary(workflow, run.inputs, run.idempotencyKey),
            },
            deps.engine ?? DEFAULT_ENGINE_TUNING,
          ),
          ...ROOT_AND_RUN_START_POLICY,
        }),
      );
    } catch (err) {
      // Started before and closed since: it ran; the ledger tells the rest.
      if (isAlreadyStarted(err)) return;
      throw asTemporalError(err, `run ${run.id} is claimed but could not be started; repeat the request with the same key to start it`);
    }
  }

  /**
   * A key seen before: the same run (200), unless its inputs differ or it failed (409). Never resolves inputs again.
   * A replay that starts a run left `claimed` starts commands as the replaying caller's request: its agent (perhaps
   * not the one that claimed the key) needs the workflow's runtimes as a first call would, and `shell` when its own
   * requests name an internal address literally (the same refusal as a first call's).
   */
  async function replay(
    actor: TActor,
    run: Run,
    given: Record<string, string>,
    workflow: () => Promise<Pick<TWorkflowHeader, 'id' | 'name' | 'version' | 'requiredRuntimes'>>,
  ): Promise<Run> {
    if (run.inputsHash !== inputsHash(given)) {
      throw new DomainError('CONFLICT', `idempotency key "${run.idempotencyKey}" was used for run ${run.id} with other inputs; use a new key for new inputs`);
    }
    if (run.state === 'failed') throw new DomainError('CONFLICT', `run ${run.id} under key "${run.idempotencyKey}" failed (${run.error ?? 'no reason recorded'}); use a new key`);
    if (run.state === 'claimed') {
      const header = await workflow();
      // The plan comes from db/workflows' cache (saved versions never change).
      await requireAgentRuntimes(prisma, actor.agentId, { ...header, frozenPlan: await workflows.frozenPlanOf(prisma, header) }, 'run');
      await startRun(run, header);
    }
    return run;
  }

  /** The tree a run would make (nested runs included) against its agent's limits now: they may have tightened since the save. */
  async function checkRunSize(workflow: SavedWorkflow): Promise<void> {
    const plan = workflow.frozenPlan.root.plan;
    const owner = { ownerUserId: workflow.ownerUserId, ownerAgentId: workflow.ownerAgentId };
    const [agent, footprints] = await Promise.all([findAgent(prisma, workflow.agentId), refFootprints(prisma, owner, plan)]);
    const problems = runSizeProblems(plan, footprints, agent);
    if (problems.length) throw planSizeInvalid(`workflow ${workflow.name} v${workflow.version} no longer fits its agent's limits`, problems);
  }

  async function view(run: Run, workflow: { name: string; version: number }): Promise<TRunView> {
    const states = await runTreeStates(prisma, [run]);
    return { ...run, workflow: { name: workflow.name, version: workflow.version }, tree: states.get(run.id) as TRunTreeState };
  }

  return {
    async createRun(actor: TActor, workflowId: string, input: TCreateRunInput): Promise<{ run: TRunView; created: boolean }> {
      const owner = actorOwner(actor);
      // A replay is one statement (the run, its workflow's name, its tree's state): no frozen plan, no input resolution.
      const seen = await findOwnedRunByKey(prisma, owner, workflowId, input.idempotencyKey);
      if (seen) {
        const { savedWorkflow, tree, ...row } = seen;
        const run = await replay(actor, row, input.inputs, () => workflows.findOwnedWorkflowHeader(prisma, owner, workflowId));
        // A run just started from `claimed` has moved on since the read: it is read again.
        return { run: row.state === 'claimed' ? await view((await findRun(prisma, run.id)) ?? run, savedWorkflow) : { ...run, workflow: savedWorkflow, tree }, created: false };
      }
      const id = deriveRunId(workflowId, input.idempotencyKey);
      const workflow = await workflows.findOwnedWorkflow(prisma, owner, workflowId);
      // Its commands run as the caller's request: the caller's agent needs every runtime the workflow does.
      await requireAgentRuntimes(prisma, actor.agentId, workflow, 'run');

      // Caller errors before anything is written: unknown or missing inputs, placeholders left unresolved, texts too long once substituted.
      const values = resolveInputs(workflow.inputs, input.inputs);
      checkSubstitution(workflow.frozenPlan, values);
      await checkRunSize(workflow);

      const { run, created } = await claimRun(prisma, {
        id,
        savedWorkflowId: workflow.id,
        idempotencyKey: input.idempotencyKey,
        inputs: values,
        inputsHash: inputsHash(input.inputs),
        temporalWorkflowId: runTemporalWorkflowId(workflow, input.idempotencyKey),
        requestedByAgentId: actor.agentId,
      });
      if (!created) return { run: await view(await replay(actor, run, input.inputs, async () => workflow), workflow), created: false };
      if (!deps.crashAfterClaim?.()) await startRun(run, workflow);
      return { run: await view(run, workflow), created: true };
    },

    async getRun(actor: TActor, id: string): Promise<TRunView> {
      const run = await findOwnedRun(prisma, actorOwner(actor), id);
      const [states, progress] = await Promise.all([runTreeStates(prisma, [run]), run.rootGoalId ? runProgressRows(prisma, run.rootGoalId) : Promise.resolve([])]);
      const { savedWorkflow, ...rest } = run;
      return { ...rest, workflow: savedWorkflow, tree: states.get(run.id) as TRunTreeState, progress: summarizeRunProgress(progress) };
    },

    async listWorkflowRuns(actor: TActor, id: string, query: { cursor?: string; limit: number }): Promise<{ items: TRunView[]; nextCursor: string | null; total: number }> {
      // Ownership and the workflow's identity: its plan is neither read nor parsed.
      const wf = await workflows.findOwnedWorkflowHeader(prisma, actorOwner(actor), id);
      const after = query.cursor ? decodeCursor(query.cursor, 'run') : undefined;
      const { runs, total } = await listRuns(prisma, id, after, query.limit + 1);
      const page = runs.slice(0, query.limit);
      const states = await runTreeStates(prisma, page);
      const last = page[page.length - 1];
      return {
        items: page.map((run) => ({ ...run, workflow: { name: wf.name, version: wf.version }, tree: states.get(run.id) as TRunTreeState })),
        nextCursor: runs.length > query.limit && last ? encodeCursor(last) : null,
        total,
      };
    },
  };
}

export type TRunService = ReturnType<typeof createRunService>;
