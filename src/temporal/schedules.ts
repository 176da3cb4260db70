import { msNumberToTs, tsToMs, type Duration } from '@temporalio/common';
import { MONTHS, type Client, type ScheduleDescription, type ScheduleOptions, type ScheduleOverlapPolicy, type ScheduleSpec, type ScheduleUpdateOptions } from '@temporalio/client';
import { DomainError } from '../domain/errors';
import { fireTemporalWorkflowId } from '../domain/ids';
import type { TOverlapPolicy, TScheduleSpec } from '../domain/schedules';
import { SA_SCHEDULE_ID, SA_WORKFLOW_NAME, SA_WORKFLOW_VERSION } from '../domain/searchAttributes';
import type { fireSchedule } from '../workflows/fireSchedule';
import { asTemporalError } from './errors';
import { FIRE_SCHEDULE_TYPE, type TFireScheduleInput } from './starts';

/**
 * Our schedules ↔ Temporal Schedules, both ways: a spec and a fire's
 * configuration become a Temporal Schedule's options (and updates), and a
 * Temporal Schedule's description becomes the configuration we gave it. The
 * Temporal Schedule is the source of truth for a schedule's state; its
 * action's one argument is the configuration each fire (fireSchedule) gets.
 */

/** Our overlap names → the policy the Temporal Schedule applies (ours, `skip`, is applied by each fire). */
const TEMPORAL_OVERLAP = {
  skip: 'ALLOW_ALL',
  buffer_one: 'BUFFER_ONE',
  buffer_all: 'BUFFER_ALL',
  cancel_other: 'CANCEL_OTHER',
  allow_all: 'ALLOW_ALL',
} as const satisfies Record<TOverlapPolicy, ScheduleOverlapPolicy>;

export function temporalOverlap(overlap: TOverlapPolicy): ScheduleOverlapPolicy {
  return TEMPORAL_OVERLAP[overlap];
}

export function temporalSpec(spec: TScheduleSpec): ScheduleSpec {
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

const GRPC_INVALID_ARGUMENT = 3;

/** Temporal refusing a request as invalid: a cron string it cannot read fails as a TypeError in the client, or INVALID_ARGUMENT from the server. */
function isRefusedAsInvalid(err: unknown): boolean {
  if (err instanceof TypeError) return true;
  const code = (err as { code?: unknown } | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return code === GRPC_INVALID_ARGUMENT || (/INVALID_ARGUMENT|invalid|parse/i.test(message) && !/unavailable|deadline/i.test(message));
}

/** What the caller reads when Temporal refused a schedule request as invalid: a cron expression is the one part only Temporal checks. */
function invalidScheduleMessage(what: string, spec: TScheduleSpec | undefined): string {
  if (spec && 'cron' in spec) {
    return `spec.cron ${JSON.stringify(spec.cron)} is not a cron expression: give five fields (minute hour day-of-month month day-of-week), e.g. "0 8 * * 1-5", or @hourly, @daily, @weekly, @monthly, @yearly`;
  }
  return `${what}: Temporal refused the request as invalid`;
}

/**
 * Temporal refusing a schedule request as invalid is the caller's mistake
 * (400), said in our words: Temporal's own message names its internals (gRPC
 * status, its parser's wording) and changes between releases. The raw error
 * is the DomainError's cause, which the API logs with the request id.
 */
export function asScheduleError(err: unknown, what: string, spec?: TScheduleSpec): unknown {
  if (isRefusedAsInvalid(err)) return new DomainError('VALIDATION_FAILED', invalidScheduleMessage(what, spec), undefined, { cause: err });
  return asTemporalError(err, what);
}

/** The Temporal Schedule's action: start a fire (fireSchedule) with this configuration. */
function scheduleAction(config: TFireScheduleInput, workflow: { name: string; version: number }, taskQueue: string) {
  return {
    type: 'startWorkflow' as const,
    workflowType: FIRE_SCHEDULE_TYPE,
    args: [config] as Parameters<typeof fireSchedule>,
    taskQueue,
    workflowId: fireTemporalWorkflowId(config.scheduleId),
    typedSearchAttributes: [
      { key: SA_SCHEDULE_ID, value: config.scheduleId },
      { key: SA_WORKFLOW_NAME, value: workflow.name },
    ],
    staticSummary: `fire of ${config.scheduleId} (${workflow.name}${config.followLatest ? ', newest version' : ` v${workflow.version}`})`,
  };
}

/** A new schedule's Temporal Schedule (its id is the schedule's): a one-shot (`{at}`) fires once. */
export function scheduleOptions(
  config: TFireScheduleInput & { spec: TScheduleSpec },
  workflow: { id: string; name: string; version: number },
  options: { taskQueue: string; paused: boolean; note?: string; catchupWindow: string },
): ScheduleOptions {
  return {
    scheduleId: config.scheduleId,
    spec: temporalSpec(config.spec),
    action: scheduleAction(config, workflow, options.taskQueue),
    // The catch-up window lives in the Schedule's policies (Temporal applies it, and reads show it from there).
    policies: { overlap: temporalOverlap(config.overlap), catchupWindow: options.catchupWindow as Duration },
    state: {
      paused: options.paused,
      ...(options.note ? { note: options.note } : {}),
      ...('at' in config.spec ? { remainingActions: 1 } : {}),
    },
    memo: { workflow_id: workflow.id, workflow_name: workflow.name, workflow_version: workflow.version },
    typedSearchAttributes: [
      { key: SA_SCHEDULE_ID, value: config.scheduleId },
      { key: SA_WORKFLOW_NAME, value: workflow.name },
      { key: SA_WORKFLOW_VERSION, value: workflow.version },
    ],
  };
}

/**
 * The update of a Temporal Schedule to a new configuration (`next`), from
 * its previous state: a new spec replaces the old; paused and note change
 * only when given. A one-shot fires once: a new time (`rearm`) re-arms it;
 * any other spec fires without limit.
 */
export function scheduleUpdate(
  previous: ScheduleDescription,
  next: TFireScheduleInput,
  workflow: { name: string; version: number },
  patch: { spec?: TScheduleSpec; paused?: boolean; note?: string; catchupWindow?: string; rearm: boolean; taskQueue: string },
): ScheduleUpdateOptions {
  const spec = next.spec as TScheduleSpec | undefined;
  return {
    spec: patch.spec ? temporalSpec(patch.spec) : previous.spec,
    action: scheduleAction(next, workflow, patch.taskQueue),
    policies: {
      ...previous.policies,
      overlap: temporalOverlap(next.overlap),
      ...(patch.catchupWindow !== undefined ? { catchupWindow: patch.catchupWindow as Duration } : {}),
    },
    state: {
      paused: patch.paused ?? previous.state.paused,
      note: patch.note ?? previous.state.note,
      ...(spec && 'at' in spec ? { remainingActions: patch.rearm ? 1 : (previous.state.remainingActions ?? 0) } : {}),
    },
  };
}

/** The configuration a Temporal Schedule's fires get (its action's argument), as we gave it. */
export function scheduleConfig(description: ScheduleDescription): TFireScheduleInput {
  return (description.action.args?.[0] ?? {}) as TFireScheduleInput;
}

/** How far ahead a preview looks for fires (a one-shot may be that far ahead; a cron may fire once a year). */
const PREVIEW_HORIZON_MS = 10 * 366 * 24 * 3_600_000;

/** A task queue no worker polls: a preview's schedule never starts anything of ours, even if someone triggers a leftover. */
const PREVIEW_TASK_QUEUE = 'reprise-schedule-previews-never-polled';
/** How long the clean-up of a preview's schedule may take, apart from the request's own deadline. */
const PREVIEW_DELETE_DEADLINE_MS = 10_000;

/**
 * The next `count` fire times of a spec, as Temporal computes them, without
 * a schedule of ours: Temporal evaluates specs only for a Schedule, so one
 * lives for the request, paused, starting nothing (its action names a task
 * queue no worker polls and ends within a minute), and is deleted after, by
 * id and with its own deadline: a request that ran out of time (a create
 * Temporal made after our deadline, a slow answer) still cleans up. `id`
 * names no schedule of ours, so a leftover is never listed. A spec Temporal
 * refuses is the caller's mistake (asScheduleError: 400).
 */
export async function previewScheduleFires(temporal: Client, id: string, spec: TScheduleSpec, count: number, deadlineMs: number): Promise<Date[]> {
  try {
    return await temporal.connection.withDeadline(Date.now() + deadlineMs, async () => {
      await temporal.schedule.create({
        scheduleId: id,
        spec: temporalSpec(spec),
        action: { type: 'startWorkflow', workflowType: FIRE_SCHEDULE_TYPE, args: [], taskQueue: PREVIEW_TASK_QUEUE, workflowId: id, workflowExecutionTimeout: '1 minute' },
        state: { paused: true, note: 'a preview of a spec\'s fires (POST /api/schedules/preview); deleted at once' },
      });
      const now = Date.now();
      const page = await temporal.workflowService.listScheduleMatchingTimes({
        namespace: temporal.options.namespace,
        scheduleId: id,
        startTime: msNumberToTs(now),
        endTime: msNumberToTs(now + PREVIEW_HORIZON_MS),
      });
      return (page.startTime ?? []).slice(0, count).map((t) => new Date(tsToMs(t)));
    });
  } catch (err) {
    throw asScheduleError(err, 'the spec could not be previewed', spec);
  } finally {
    await temporal.connection.withDeadline(Date.now() + PREVIEW_DELETE_DEADLINE_MS, () => temporal.schedule.getHandle(id).delete()).catch(() => undefined);
  }
}

/**
 * How many times a schedule fires in [start, end] (a backfill's range, both
 * ends included), as Temporal computes its fire times (ListScheduleMatchingTimes,
 * which answers up to 1,000 times per call): counted page by page until the
 * range ends, or one page past the point where the count exceeds `atMost`.
 * `complete` when the whole range was counted; otherwise `lastAt` is the
 * last fire counted.
 */
export async function countScheduleFires(
  temporal: Client,
  scheduleId: string,
  range: { start: Date; end: Date },
  atMost: number,
): Promise<{ counted: number; complete: boolean; lastAt: Date | undefined }> {
  // Temporal lists the times strictly after startTime; a backfill includes its start.
  let after = range.start.getTime() - 1;
  let counted = 0;
  let lastAt: Date | undefined;
  let pagesPast = 0;
  for (;;) {
    const page = await temporal.workflowService.listScheduleMatchingTimes({
      namespace: temporal.options.namespace,
      scheduleId,
      startTime: msNumberToTs(after),
      endTime: msNumberToTs(range.end.getTime()),
    });
    const times = (page.startTime ?? []).map((t) => tsToMs(t));
    if (!times.length) return { counted, complete: true, lastAt };
    counted += times.length;
    after = times[times.length - 1] as number;
    lastAt = new Date(after);
    // Past the limit: one more page tells a range that just ends from one that goes on (then estimated).
    if (counted > atMost && ++pagesPast > 1) return { counted, complete: false, lastAt };
  }
}
