import { ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import type { PrismaClient } from '../db/client';
import { listScheduleRuns, runTreeStates, type TRunTreeState } from '../db/runs';
import {
  deleteScheduleRow,
  findOwnedSchedule,
  insertSchedule,
  listOwnedSchedules,
  pruneBackfillOverlaps,
  recordBackfillOverlap,
  type Schedule,
} from '../db/schedules';
import * as workflows from '../db/workflows';
import type { TActor } from '../domain/actor';
import { decodeCursor, encodeCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import { DEFAULT_ENGINE_TUNING, type TEngineTuning } from '../domain/execution';
import { checkSubstitution, resolveInputs } from '../domain/frozenPlans';
import { scheduleId as newScheduleId, schedulePreviewId, SCHEDULE_ID_PATTERN } from '../domain/ids';
import {
  atError,
  DEFAULT_CATCHUP_WINDOW,
  DEFAULT_SCHEDULE_LIMITS,
  firesInRange,
  formatDuration,
  isSpent,
  minimumGapMs,
  oneShotAt,
  type TOverlapPolicy,
  type TScheduleLimits,
  type TScheduleSpec,
} from '../domain/schedules';
import { TEMPORAL_CALL_DEADLINE_MS, TEMPORAL_SCHEDULE_READ_DEADLINE_MS, withDeadline } from '../temporal/client';
import { asTemporalError } from '../temporal/errors';
import { asScheduleError, countScheduleFires, previewScheduleFires, scheduleConfig, scheduleOptions, scheduleUpdate, temporalOverlap } from '../temporal/schedules';
import type { TFireScheduleInput } from '../temporal/starts';
import { actorOwner } from './owners';
import { requireAgentRuntimes, requireScheduleCallerReach, type TPrivilegedDoing } from './runtimePrivileges';
import type { TRunView } from './runs';

/**
 * Schedules (SPEC §5) over Temporal Schedules. Temporal is the source of
 * truth for a schedule's state: reads describe it, so a change made with
 * `temporal schedule toggle|trigger|update` shows at once. Postgres keeps
 * the owner and the runs its fires made (skipped fires included).
 */

export interface TScheduleServiceDeps {
  prisma: PrismaClient;
  temporal: Client;
  taskQueue: string;
  engine?: TEngineTuning;
  /** The catch-up window of a schedule created without one (SCHEDULE_CATCHUP_WINDOW); default DEFAULT_CATCHUP_WINDOW. */
  catchupWindow?: string;
  /** What one owner may make fire (SCHEDULE_MAX_PER_OWNER, SCHEDULE_MIN_INTERVAL, SCHEDULE_BACKFILL_MAX_FIRES); default DEFAULT_SCHEDULE_LIMITS. */
  limits?: TScheduleLimits;
}

/** Who asks, as far as schedule quotas care: an `admin` token may schedule fires closer than SCHEDULE_MIN_INTERVAL. */
export interface TScheduleCaller {
  admin: boolean;
}

export interface TCreateScheduleInput {
  spec: TScheduleSpec;
  inputs: Record<string, string>;
  overlap: TOverlapPolicy;
  allowReplan: boolean;
  followLatest: boolean;
  paused: boolean;
  note?: string;
  catchupWindow?: string;
}

/** A schedule as the API shows it: Temporal's state joined with Postgres's row and the runs its fires made. */
export interface TScheduleView {
  row: Schedule & { savedWorkflow: { name: string; version: number } };
  temporal: ScheduleDescription;
  config: TFireScheduleInput;
  runs?: { items: TRunView[]; total: number; skipped: number };
}

export interface TUpdateScheduleInput {
  spec?: TScheduleSpec;
  inputs?: Record<string, string>;
  overlap?: TOverlapPolicy;
  paused?: boolean;
  note?: string;
  catchupWindow?: string;
}

/** Schedule previews one API process makes in Temporal at once (each creates, reads and deletes a Schedule). */
const PREVIEWS_AT_ONCE = 4;

export function createScheduleService(deps: TScheduleServiceDeps) {
  const { prisma, temporal } = deps;
  let previewsInFlight = 0;

  const limits = deps.limits ?? DEFAULT_SCHEDULE_LIMITS;

  /** A schedule firing more often than SCHEDULE_MIN_INTERVAL is refused (400), unless the caller is an admin. */
  function checkInterval(spec: TScheduleSpec, caller: TScheduleCaller): void {
    if (caller.admin) return;
    const gap = minimumGapMs(spec);
    if (gap >= limits.minIntervalMs) return;
    const message = `this spec can fire every ${formatDuration(gap)}; a schedule fires at most once per ${formatDuration(limits.minIntervalMs)} (SCHEDULE_MIN_INTERVAL) unless an admin token creates it`;
    throw new DomainError('VALIDATION_FAILED', `spec: ${message}`, [{ path: 'body.spec', message }]);
  }

  /** A one-shot's time in the past or beyond the horizon (domain/schedules `atError`) is a 400 naming body.spec.at. */
  function checkAt(at: Date): void {
    const error = atError(at);
    if (error) throw new DomainError('VALIDATION_FAILED', error, [{ path: 'body.spec.at', message: error }]);
  }

  /** A backfill of more than SCHEDULE_BACKFILL_MAX_FIRES fires is refused (400), saying how many the range holds. */
  async function checkBackfillSize(id: string, range: { start: Date; end: Date }): Promise<void> {
    const counted = await withDeadline(temporal, () => countScheduleFires(temporal, id, range, limits.backfillMaxFires)).catch((err: unknown) => {
      throw asTemporalError(err, `schedule ${id}'s fire times could not be read from Temporal`);
    });
    if (counted.counted <= limits.backfillMaxFires) return;
    const { fires, exact } = firesInRange(range, counted);
    const message = `the range would fire ${exact ? '' : 'about '}${fires} times; a backfill runs at most ${limits.backfillMaxFires} fires (SCHEDULE_BACKFILL_MAX_FIRES): split it into smaller ranges`;
    throw new DomainError('VALIDATION_FAILED', `backfill: ${message}`, [{ path: 'body', message }]);
  }

  /**
   * A trigger, a change or a backfill makes the schedule's workflow run at
   * the caller's request (issue 17): the caller's agent needs the runtimes of
   * the version a fire would run now (the pinned one, or with follow_latest
   * the newest), as at creation. Each fire checks the schedule's creator again
   * (activities/schedules.ts), and each leaf its run's agents. The fires act
   * for the creator, not the caller, yet the caller picks when and how many:
   * when they make http requests that may reach internal addresses (creator
   * and workflow agent may run shell), the caller must be allowed that reach
   * too, i.e. shell (review r5 #2).
   */
  async function requireCallerRuntimes(actor: TActor, row: Schedule, doing: TPrivilegedDoing): Promise<void> {
    const pinned = await workflows.findOwnedWorkflowHeader(prisma, actorOwner(actor), row.savedWorkflowId);
    const runs = row.followLatest ? ((await workflows.latestWorkflowHeader(prisma, actorOwner(actor), pinned.name)) ?? pinned) : pinned;
    // The plan comes from db/workflows' cache (saved versions never change): for the internal addresses its requests name.
    await requireAgentRuntimes(prisma, actor.agentId, { ...runs, frozenPlan: await workflows.frozenPlanOf(prisma, runs) }, doing);
    await requireScheduleCallerReach(prisma, actor.agentId, runs, row.createdByAgentId, doing);
  }

  async function describe(id: string): Promise<ScheduleDescription> {
    try {
      return await withDeadline(temporal, () => temporal.schedule.getHandle(id).describe(), TEMPORAL_SCHEDULE_READ_DEADLINE_MS);
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) {
        // Not forgotten here on a read: Temporal also answers NOT_FOUND while it is still starting (seen right after
        // a restart), and a schedule it still holds would fire with no row. DELETE forgets one deleted in Temporal.
        throw new DomainError(
          'NOT_FOUND',
          `schedule ${id} not found in Temporal (deleted there, e.g. with \`temporal schedule delete\`, or Temporal is still starting: try again in a minute); \`reprise schedule delete ${id}\` (DELETE /api/schedules/${id}) forgets it here`,
        );
      }
      throw asTemporalError(err, `schedule ${id} could not be read from Temporal`);
    }
  }

  async function runsOf(id: string, take: number): Promise<{ items: TRunView[]; total: number; skipped: number }> {
    const { runs, total, skipped } = await listScheduleRuns(prisma, id, take);
    const states = await runTreeStates(prisma, runs);
    return {
      items: runs.map(({ savedWorkflow, ...run }) => ({ ...run, workflow: savedWorkflow, tree: states.get(run.id) as TRunTreeState })),
      total,
      skipped,
    };
  }

  async function view(row: TScheduleView['row'], withRuns: number): Promise<TScheduleView> {
    const [description, runs] = await Promise.all([describe(row.id), withRuns > 0 ? runsOf(row.id, withRuns) : Promise.resolve(undefined)]);
    return { row, temporal: description, config: scheduleConfig(description), ...(runs ? { runs } : {}) };
  }

  return {
    /**
     * The next fires of a spec, checked as a new schedule's would be (its
     * pace, a one-shot's time; Temporal reads the cron): what the schedule
     * dialog shows before saving. Nothing of it is kept.
     */
    async previewSchedule(spec: TScheduleSpec, count: number, caller: TScheduleCaller = { admin: false }): Promise<Date[]> {
      checkInterval(spec, caller);
      const at = oneShotAt(spec);
      if (at) checkAt(at);
      // Each preview is a Schedule made and deleted in Temporal: a few at once per API process, the rest wait their turn (429).
      if (previewsInFlight >= PREVIEWS_AT_ONCE) {
        throw new DomainError('TEMPORAL_BUSY', `too many schedule previews at once (at most ${PREVIEWS_AT_ONCE} per API process); retry in a moment`);
      }
      previewsInFlight += 1;
      try {
        return await previewScheduleFires(temporal, schedulePreviewId(), spec, count, TEMPORAL_SCHEDULE_READ_DEADLINE_MS);
      } finally {
        previewsInFlight -= 1;
      }
    },

    async createSchedule(actor: TActor, workflowId: string, input: TCreateScheduleInput, caller: TScheduleCaller = { admin: false }): Promise<TScheduleView> {
      const owner = actorOwner(actor);
      checkInterval(input.spec, caller);
      const workflow = await workflows.findOwnedWorkflow(prisma, owner, workflowId);
      await requireAgentRuntimes(prisma, actor.agentId, workflow, 'schedule');
      const values = resolveInputs(workflow.inputs, input.inputs);
      checkSubstitution(workflow.frozenPlan, values);
      if (!workflow.fullyFrozen && !input.allowReplan) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `workflow ${workflow.name} v${workflow.version} is not fully frozen: its runs wait for plans to be submitted. Pass "allow_replan": true to schedule it anyway`,
        );
      }
      const at = oneShotAt(input.spec);
      if (at) checkAt(at);
      const id = newScheduleId(workflow.name);
      const config = {
        scheduleId: id,
        savedWorkflowId: workflow.id,
        followLatest: input.followLatest,
        allowReplan: input.allowReplan,
        overlap: input.overlap,
        inputs: input.inputs,
        tuning: deps.engine ?? DEFAULT_ENGINE_TUNING,
        spec: input.spec,
      } satisfies TFireScheduleInput;
      const row = await insertSchedule(prisma, { id, owner, savedWorkflowId: workflow.id, followLatest: input.followLatest, createdByAgentId: actor.agentId }, limits.maxPerOwner);
      const options = scheduleOptions(config, workflow, {
        taskQueue: deps.taskQueue,
        paused: input.paused,
        note: input.note,
        catchupWindow: input.catchupWindow ?? deps.catchupWindow ?? DEFAULT_CATCHUP_WINDOW,
      });
      try {
        await withDeadline(temporal, () => temporal.schedule.create(options));
      } catch (err) {
        await deleteScheduleRow(prisma, id);
        throw asScheduleError(err, 'the schedule could not be created in Temporal', input.spec);
      }
      return view({ ...row, savedWorkflow: { name: workflow.name, version: workflow.version } }, 0);
    },

    async getSchedule(actor: TActor, id: string): Promise<TScheduleView> {
      return view(await findOwnedSchedule(prisma, actorOwner(actor), id), 20);
    },

    async listSchedules(actor: TActor, query: { cursor?: string; limit: number; workflowId?: string }) {
      const after = query.cursor ? decodeCursor(query.cursor, SCHEDULE_ID_PATTERN) : undefined;
      const rows = await listOwnedSchedules(prisma, actorOwner(actor), { savedWorkflowId: query.workflowId }, after, query.limit + 1);
      const page = rows.slice(0, query.limit);
      const views = await Promise.all(
        page.map((row) =>
          view(row, 0).catch((err: unknown) => {
            if (err instanceof DomainError && err.code === 'NOT_FOUND') return undefined;
            throw err;
          }),
        ),
      );
      const items = views.filter((v): v is TScheduleView => v !== undefined);
      const notInTemporal = page.filter((_, i) => views[i] === undefined).map((row) => row.id);
      const last = page[page.length - 1];
      return { items, notInTemporal, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
    },

    async triggerSchedule(actor: TActor, id: string): Promise<TScheduleView> {
      const row = await findOwnedSchedule(prisma, actorOwner(actor), id);
      await requireCallerRuntimes(actor, row, 'trigger a schedule of');
      // The fire's own overlap decision applies: the Temporal Schedule's policy lets it start.
      await withDeadline(temporal, () => temporal.schedule.getHandle(id).trigger('ALLOW_ALL')).catch((err: unknown) => {
        throw asTemporalError(err, `schedule ${id} could not be triggered`);
      });
      return view(row, 20);
    },

    /**
     * Changes spec, inputs, overlap, catch-up window, or paused (with a note), in one update
     * of the Temporal Schedule. A one-shot schedule whose time has passed
     * (spent, or never fired while paused) is re-armed only with a new time.
     */
    async updateSchedule(actor: TActor, id: string, patch: TUpdateScheduleInput, caller: TScheduleCaller = { admin: false }): Promise<TScheduleView> {
      const row = await findOwnedSchedule(prisma, actorOwner(actor), id);
      // Pausing, or changing only the note, makes nothing run: any agent of the owner may. Anything else may make it run.
      const onlyStops = patch.spec === undefined && patch.inputs === undefined && patch.overlap === undefined && patch.catchupWindow === undefined && patch.paused !== false;
      if (!onlyStops) await requireCallerRuntimes(actor, row, 'change a schedule of');
      if (patch.spec) checkInterval(patch.spec, caller);
      const current = await describe(id);
      const config = scheduleConfig(current);
      const workflow = await workflows.findOwnedWorkflow(prisma, actorOwner(actor), row.savedWorkflowId);
      if (patch.inputs !== undefined) {
        const values = resolveInputs(workflow.inputs, patch.inputs);
        checkSubstitution(workflow.frozenPlan, values);
      }
      const newAt = patch.spec && oneShotAt(patch.spec);
      if (newAt) checkAt(newAt);
      const oldAt = oneShotAt(config.spec);
      const spent = isSpent(config.spec, current.state.remainingActions) || (oldAt !== undefined && oldAt.getTime() <= Date.now());
      if (!patch.spec && oldAt && spent && patch.paused === false) {
        throw new DomainError('VALIDATION_FAILED', `schedule ${id} was a one-shot for ${oldAt.toISOString()}, which has passed; give it a new time ("spec": {"at": …}) to re-arm it`);
      }
      const next: TFireScheduleInput = {
        ...config,
        ...(patch.inputs !== undefined ? { inputs: patch.inputs } : {}),
        ...(patch.overlap !== undefined ? { overlap: patch.overlap } : {}),
        ...(patch.spec !== undefined ? { spec: patch.spec } : {}),
      };
      try {
        // The SDK's update reads the schedule's description first (a query, as slow as `describe`), then writes.
        await withDeadline(
          temporal,
          () =>
            temporal.schedule.getHandle(id).update((previous) =>
              scheduleUpdate(previous, next, row.savedWorkflow, {
                spec: patch.spec,
                paused: patch.paused,
                note: patch.note,
                catchupWindow: patch.catchupWindow,
                rearm: Boolean(newAt),
                taskQueue: deps.taskQueue,
              }),
            ),
          TEMPORAL_SCHEDULE_READ_DEADLINE_MS + TEMPORAL_CALL_DEADLINE_MS,
        );
      } catch (err) {
        throw asScheduleError(err, `schedule ${id} could not be updated`, patch.spec);
      }
      return view(row, 20);
    },

    /** Runs the fires of a past range, each keyed by its nominal time: backfilling a range twice mints nothing new. */
    async backfillSchedule(actor: TActor, id: string, range: { start: Date; end: Date; overlap?: TOverlapPolicy }): Promise<TScheduleView> {
      const row = await findOwnedSchedule(prisma, actorOwner(actor), id);
      await requireCallerRuntimes(actor, row, 'backfill a schedule of');
      if (range.start.getTime() >= range.end.getTime()) throw new DomainError('VALIDATION_FAILED', 'backfill start must be before end');
      if (range.end.getTime() > Date.now()) throw new DomainError('VALIDATION_FAILED', 'backfill end is in the future: a backfill runs the fires of a past range');
      await checkBackfillSize(id, range);
      // Temporal applies the request's overlap to when it starts each fire; each fire decides with the schedule's
      // own unless told otherwise, so an overlap asked for here is recorded first, for its fires to decide with.
      const recorded = range.overlap ? await recordBackfillOverlap(prisma, id, range, range.overlap) : undefined;
      // Default: one after another (each fire waits for its run), so the status-aware skip sees each run end.
      const overlap = range.overlap ? temporalOverlap(range.overlap) : 'BUFFER_ALL';
      await withDeadline(temporal, () => temporal.schedule.getHandle(id).backfill({ start: range.start, end: range.end, overlap })).catch((err: unknown) => {
        // The row stays: a deadline may hide a backfill Temporal did take, whose fires must decide with it.
        throw asScheduleError(err, `schedule ${id} could not be backfilled`);
      });
      if (recorded !== undefined) await pruneBackfillOverlaps(prisma, id, recorded, range);
      return view(row, 20);
    },

    async deleteSchedule(actor: TActor, id: string): Promise<void> {
      await findOwnedSchedule(prisma, actorOwner(actor), id);
      try {
        await withDeadline(temporal, () => temporal.schedule.getHandle(id).delete());
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw asTemporalError(err, `schedule ${id} could not be deleted`);
      }
      await deleteScheduleRow(prisma, id);
    },
  };
}

export type TScheduleService = ReturnType<typeof createScheduleService>;
