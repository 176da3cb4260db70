import { MONTHS, ScheduleNotFoundError, type Client, type ScheduleDescription, type ScheduleOptions, type ScheduleSpec } from '@temporalio/client';
import type { PrismaClient } from '../db/client';
import { listScheduleRuns, runTreeStates, type TRunTreeState } from '../db/runs';
import { deleteScheduleRow, findOwnedSchedule, insertSchedule, listOwnedSchedules, type Schedule } from '../db/schedules';
import * as workflows from '../db/workflows';
import type { TActor } from '../domain/actor';
import { decodeCursor, encodeCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import { DEFAULT_ENGINE_TUNING, type TEngineTuning } from '../domain/execution';
import { instantiate, resolveInputs, type TFrozenPlan, type TWorkflowInput } from '../domain/frozenPlans';
import { fireTemporalWorkflowId, scheduleId as newScheduleId, SCHEDULE_ID_PATTERN } from '../domain/ids';
import type { TOverlapPolicy, TScheduleSpec } from '../domain/schedules';
import { SA_SCHEDULE_ID, SA_WORKFLOW_NAME, SA_WORKFLOW_VERSION } from '../domain/searchAttributes';
import { withDeadline } from '../temporal/client';
import { asTemporalError } from '../temporal/errors';
import { SCHEDULED_RUN_WORKFLOW_TYPE, type TScheduledRunInput } from '../temporal/starts';
import type { scheduledRun } from '../workflows/scheduledRun';
import { actorOwner } from './owners';
import type { TRunView } from './workflows';

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
}

export interface TCreateScheduleInput {
  spec: TScheduleSpec;
  inputs: Record<string, string>;
  overlap: TOverlapPolicy;
  allowReplan: boolean;
  followLatest: boolean;
  paused: boolean;
  note?: string;
}

/** A schedule as the API shows it: Temporal's state joined with Postgres's row and the runs its fires made. */
export interface TScheduleView {
  row: Schedule & { savedWorkflow: { name: string; version: number } };
  temporal: ScheduleDescription;
  config: TScheduledRunInput;
  runs?: { items: TRunView[]; total: number };
}

/** Our overlap names → the policy the Temporal Schedule applies (ours, `skip`, is applied by each fire). */
const TEMPORAL_OVERLAP = { skip: 'ALLOW_ALL', buffer_one: 'BUFFER_ONE', buffer_all: 'BUFFER_ALL', cancel_other: 'CANCEL_OTHER', allow_all: 'ALLOW_ALL' } as const;

function temporalSpec(spec: TScheduleSpec): ScheduleSpec {
  if ('cron' in spec) return { cronExpressions: [spec.cron], ...(spec.timezone ? { timezone: spec.timezone } : {}) };
  if ('every' in spec) return { intervals: [{ every: spec.every as `${number}${'s' | 'm' | 'h' | 'd'}` }] };
  const at = new Date(spec.at);
  return {
    calendars: [
      {
        year: at.getUTCFullYear(),
        month: MONTHS[at.getUTCMonth()] as (typeof MONTHS)[number],
        dayOfMonth: at.getUTCDate(),
        hour: at.getUTCHours(),
        minute: at.getUTCMinutes(),
        second: at.getUTCSeconds(),
      },
    ],
  };
}

/** Temporal refuses a bad cron expression: the caller's mistake (400), in Temporal's words. */
function asScheduleError(err: unknown, what: string): unknown {
  const message = err instanceof Error ? err.message : String(err);
  // A cron string Temporal cannot read fails as a TypeError (or INVALID_ARGUMENT from the server).
  if (err instanceof TypeError || (/INVALID_ARGUMENT|invalid|parse/i.test(message) && !/unavailable|deadline/i.test(message))) {
    return new DomainError('VALIDATION_FAILED', `Temporal refused the schedule's spec: ${message.replace(/^\d+ INVALID_ARGUMENT: /, '')}`);
  }
  return asTemporalError(err, what);
}

export function createScheduleService(deps: TScheduleServiceDeps) {
  const { prisma, temporal } = deps;

  async function describe(id: string): Promise<ScheduleDescription> {
    try {
      return await withDeadline(temporal, () => temporal.schedule.getHandle(id).describe());
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw new DomainError('NOT_FOUND', `schedule ${id} not found in Temporal (deleted there?)`);
      throw asTemporalError(err, `schedule ${id} could not be read from Temporal`);
    }
  }

  async function runsOf(id: string, take: number): Promise<{ items: TRunView[]; total: number }> {
    const { runs, total } = await listScheduleRuns(prisma, id, take);
    const states = await runTreeStates(prisma, runs);
    return {
      items: runs.map(({ savedWorkflow, ...run }) => ({ ...run, workflow: savedWorkflow, tree: states.get(run.id) as TRunTreeState })),
      total,
    };
  }

  async function view(row: TScheduleView['row'], withRuns: number): Promise<TScheduleView> {
    const [description, runs] = await Promise.all([describe(row.id), withRuns > 0 ? runsOf(row.id, withRuns) : Promise.resolve(undefined)]);
    const config = (description.action.args?.[0] ?? {}) as TScheduledRunInput;
    return { row, temporal: description, config, ...(runs ? { runs } : {}) };
  }

  return {
    async createSchedule(actor: TActor, workflowId: string, input: TCreateScheduleInput): Promise<TScheduleView> {
      const owner = actorOwner(actor);
      const workflow = await workflows.findOwnedWorkflow(prisma, owner, workflowId);
      const values = resolveInputs(workflow.inputs as TWorkflowInput[], input.inputs);
      instantiate(workflow.frozenPlan as unknown as TFrozenPlan, values);
      if (!workflow.fullyFrozen && !input.allowReplan) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `workflow ${workflow.name} v${workflow.version} is not fully frozen: its runs wait for plans to be submitted. Pass "allow_replan": true to schedule it anyway`,
        );
      }
      if ('at' in input.spec && new Date(input.spec.at).getTime() <= Date.now()) {
        throw new DomainError('VALIDATION_FAILED', `spec.at ${input.spec.at} is in the past; give a future time`);
      }
      const id = newScheduleId(workflow.name);
      const config: TScheduledRunInput = {
        scheduleId: id,
        savedWorkflowId: workflow.id,
        followLatest: input.followLatest,
        allowReplan: input.allowReplan,
        overlap: input.overlap,
        inputs: input.inputs,
        tuning: deps.engine ?? DEFAULT_ENGINE_TUNING,
      };
      const row = await insertSchedule(prisma, { id, owner, savedWorkflowId: workflow.id, followLatest: input.followLatest });
      const options: ScheduleOptions = {
        scheduleId: id,
        spec: temporalSpec(input.spec),
        action: {
          type: 'startWorkflow',
          workflowType: SCHEDULED_RUN_WORKFLOW_TYPE,
          args: [config] as Parameters<typeof scheduledRun>,
          taskQueue: deps.taskQueue,
          workflowId: fireTemporalWorkflowId(id),
          typedSearchAttributes: [
            { key: SA_SCHEDULE_ID, value: id },
            { key: SA_WORKFLOW_NAME, value: workflow.name },
          ],
          staticSummary: `fire of ${id} (${workflow.name}${input.followLatest ? ', newest version' : ` v${workflow.version}`})`,
        },
        policies: { overlap: TEMPORAL_OVERLAP[input.overlap], catchupWindow: '1 minute' },
        state: {
          paused: input.paused,
          ...(input.note ? { note: input.note } : {}),
          ...('at' in input.spec ? { remainingActions: 1 } : {}),
        },
        memo: { spec: input.spec, workflow_id: workflow.id, workflow_name: workflow.name, workflow_version: workflow.version, overlap: input.overlap, follow_latest: input.followLatest },
        typedSearchAttributes: [
          { key: SA_SCHEDULE_ID, value: id },
          { key: SA_WORKFLOW_NAME, value: workflow.name },
          { key: SA_WORKFLOW_VERSION, value: workflow.version },
        ],
      };
      try {
        await withDeadline(temporal, () => temporal.schedule.create(options));
      } catch (err) {
        await deleteScheduleRow(prisma, id);
        throw asScheduleError(err, 'the schedule could not be created in Temporal');
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
      const items = await Promise.all(page.map((row) => view(row, 0)));
      const last = page[page.length - 1];
      return { items, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
    },

    async pauseSchedule(actor: TActor, id: string, paused: boolean, note?: string): Promise<TScheduleView> {
      const row = await findOwnedSchedule(prisma, actorOwner(actor), id);
      const handle = temporal.schedule.getHandle(id);
      await withDeadline(temporal, () => (paused ? handle.pause(note ?? 'paused through the API') : handle.unpause(note ?? 'resumed through the API'))).catch((err: unknown) => {
        throw asTemporalError(err, `schedule ${id} could not be ${paused ? 'paused' : 'resumed'}`);
      });
      return view(row, 20);
    },

    async triggerSchedule(actor: TActor, id: string): Promise<TScheduleView> {
      const row = await findOwnedSchedule(prisma, actorOwner(actor), id);
      // The fire's own overlap decision applies: the Temporal Schedule's policy lets it start.
      await withDeadline(temporal, () => temporal.schedule.getHandle(id).trigger('ALLOW_ALL')).catch((err: unknown) => {
        throw asTemporalError(err, `schedule ${id} could not be triggered`);
      });
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
