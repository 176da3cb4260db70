import { ApplicationFailure } from '@temporalio/activity';
import { inTransaction, type PrismaClient } from '../db/client';
import { claimRun, findScheduleFire, latestScheduleRun, recordSkippedFire, runTreeStates, type Run } from '../db/runs';
import { findWorkflowHeader, frozenPlanOf, latestWorkflowHeader, type TWorkflowHeader } from '../db/workflows';
import { backfillOverlapAt, findScheduleForFire, tryLockScheduleDecisions } from '../db/schedules';
import { FAILURE_TYPES, isDomainError } from '../domain/errors';
import { checkSubstitution, resolveInputs } from '../domain/frozenPlans';
import { isTerminal } from '../domain/goals';
import { runId as deriveRunId, fireKey, inputsHash, runRootGoalId, runTemporalWorkflowId } from '../domain/ids';
import { deriveRunStatus } from '../domain/runs';
import { fireRefusal, internalAddressRefusal } from '../domain/runtimeRequirements';
import { literalInternalHost } from '../lib/internalAddresses';
import { runSummary, type TRunTarget, type TFireScheduleInput } from '../temporal/starts';

/**
 * One fire of a schedule (SPEC §5), decided in one activity: which version
 * it runs (pinned, or the newest with follow_latest), whether the overlap
 * policy lets it make a tree, and the run it claims under the key
 * (schedule id, nominal time). A fire that makes no tree is recorded as a
 * `skipped` ledger row saying why; a duplicate delivery of a fire finds what
 * the first made.
 */

export type TFire = { kind: 'skipped'; runId: string; reason: string } | { kind: 'run'; target: TRunTarget; created: boolean };

function targetOf(run: Run, workflow: { name: string; version: number }): TRunTarget {
  return {
    id: run.id,
    temporalWorkflowId: run.temporalWorkflowId,
    rootGoalId: runRootGoalId(run.id),
    workflow: { name: workflow.name, version: workflow.version },
    summary: runSummary(workflow, run.inputs, run.idempotencyKey),
  };
}

/** A workflow row that no longer reads (a CONFLICT from db/) or is gone (NOT_FOUND) fails the fire, never retried. */
function readable<T>(read: Promise<T>): Promise<T> {
  return read.catch((err: unknown) => {
    throw isDomainError(err) && (err.code === 'CONFLICT' || err.code === 'NOT_FOUND') ? ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.RunInvalid) : err;
  });
}

export function createScheduleActivities(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  return {
    async decideFire(input: Omit<TFireScheduleInput, 'tuning'> & { nominalTime: string }): Promise<TFire> {
      const key = fireKey(input.scheduleId, new Date(input.nominalTime));
      // Headers only (no plan): the plan is read once, from the cache, where a run is claimed.
      const pinned = await readable(findWorkflowHeader(prisma, input.savedWorkflowId));
      if (!pinned) throw ApplicationFailure.nonRetryable(`workflow ${input.savedWorkflowId} no longer exists`, FAILURE_TYPES.RunInvalid);
      const owner = { ownerUserId: pinned.ownerUserId, ownerAgentId: pinned.ownerAgentId };
      const [latest, backfillOverlap] = await Promise.all([
        input.followLatest ? readable(latestWorkflowHeader(prisma, owner, pinned.name)) : Promise.resolve(null),
        backfillOverlapAt(prisma, input.scheduleId, new Date(input.nominalTime)),
      ]);
      // A backfill that asked for an overlap of its own decides its fires with it (review r5 #3):
      // under allow_all, an earlier fire's run still instantiating is no reason to skip this one.
      const overlap = backfillOverlap ?? input.overlap;
      const workflow: TWorkflowHeader = latest ?? pinned;

      // One decision at a time per schedule (see tryLockScheduleDecisions): a fire that finds another deciding retries shortly.
      return inTransaction(prisma, async (tx): Promise<TFire> => {
        if (!(await tryLockScheduleDecisions(tx, input.scheduleId))) {
          throw ApplicationFailure.retryable(`another fire of schedule ${input.scheduleId} is deciding; this one decides next`, FAILURE_TYPES.ScheduleBusy);
        }
        const seen = await findScheduleFire(tx, input.scheduleId, key);
        if (seen) {
          if (seen.state === 'skipped') return { kind: 'skipped', runId: seen.id, reason: seen.error ?? 'skipped' };
          const ran = seen.savedWorkflowId === workflow.id ? workflow : ((await readable(findWorkflowHeader(prisma, seen.savedWorkflowId))) ?? workflow);
          return { kind: 'run', target: targetOf(seen, ran), created: false };
        }
        // Read under the decision lock: a fire that decides after its schedule was deleted (a backfill's or a
        // catch-up's fires still on their way) makes no tree. Without its row it has no creator to act for, and a
        // run without an acting agent would run with the workflow's agent alone (review r6 #1).
        const schedule = await findScheduleForFire(tx, input.scheduleId);
        if (!schedule) {
          throw ApplicationFailure.nonRetryable(`schedule ${input.scheduleId} was deleted: its fire at ${input.nominalTime} makes no tree`, FAILURE_TYPES.RunInvalid);
        }
        const { creator } = schedule;

        const base = {
          id: deriveRunId(workflow.id, key),
          savedWorkflowId: workflow.id,
          idempotencyKey: key,
          inputs: input.inputs,
          inputsHash: inputsHash(input.inputs),
          temporalWorkflowId: runTemporalWorkflowId(workflow, key),
          scheduleId: input.scheduleId,
          requestedByAgentId: creator?.id ?? null,
        };
        const skip = async (reason: string): Promise<TFire> => {
          const row = await recordSkippedFire(tx, { ...base, reason });
          return { kind: 'skipped', runId: row.id, reason };
        };

        // The fire runs commands for the schedule's creator: it needs what this version needs, now (issue 17).
        const refused = fireRefusal(workflow, creator, pinned);
        if (refused) return skip(refused);
        if (!workflow.fullyFrozen && !input.allowReplan) {
          return skip(`workflow ${workflow.name} v${workflow.version} is not fully frozen and the schedule does not allow replanning`);
        }
        if (overlap === 'skip') {
          const previous = await latestScheduleRun(tx, input.scheduleId);
          if (previous && (previous.state === 'claimed' || previous.state === 'materializing')) {
            // A stalled instantiation resumes under its own key instead of starting another tree.
            await skip(`run ${previous.id} was still being instantiated; it resumes under its own key`);
            const ran = (await readable(findWorkflowHeader(prisma, previous.savedWorkflowId))) ?? workflow;
            return { kind: 'run', target: targetOf(previous, ran), created: false };
          }
          if (previous?.state === 'materialized' && previous.rootGoal && !isTerminal(previous.rootGoal.lifecycle as Parameters<typeof isTerminal>[0])) {
            const tree = (await runTreeStates(prisma, [previous])).get(previous.id);
            const status = deriveRunStatus({ state: previous.state, error: previous.error, root: tree?.root ?? null, blocked: tree?.blocked ?? null });
            return skip(`run ${previous.id} is still active (${status.status}${status.reason ? `: ${status.reason}` : ''})`);
          }
        }
        const frozen = await readable(frozenPlanOf(prisma, workflow));
        // Requests its creator may not make: what its URLs show of internal addresses (host names are judged when each resolves).
        const internal = creator && internalAddressRefusal(creator, frozen, literalInternalHost);
        if (internal) return skip(`workflow ${workflow.name} v${workflow.version}: ${internal.message}, and agent ${creator.name} (the schedule's creator) may not`);
        let values: Record<string, string>;
        try {
          values = resolveInputs(workflow.inputs, input.inputs);
          checkSubstitution(frozen, values);
        } catch (err) {
          if (!isDomainError(err)) throw err;
          return skip(`the schedule's inputs do not fit workflow ${workflow.name} v${workflow.version}: ${err.message}`);
        }
        const { run, created } = await claimRun(tx, { ...base, inputs: values });
        return { kind: 'run', target: targetOf(run, workflow), created };
      });
    },
  };
}
