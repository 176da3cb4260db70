import { SCHEDULE_ID_EXAMPLE, SCHEDULE_ID_PATTERN } from '../../domain/ids';
import { OVERLAP_POLICIES, ZCatchupWindow, ZScheduleSpec } from '../../domain/schedules';
import { z } from '../../domain/zod';
import { ZLimit } from '../query';
import { ZInputValues, ZRun } from '../runs/schemas';

/** The schedule resource's request and response schemas (SPEC §5). */

export const ZScheduleIdParams = z.object({
  id: z
    .string()
    .regex(SCHEDULE_ID_PATTERN, `must be a schedule id like ${SCHEDULE_ID_EXAMPLE}`)
    .openapi({ example: SCHEDULE_ID_EXAMPLE }),
});

const timestamp = z.string().openapi({ format: 'date-time', example: '2026-11-21T08:00:00.000Z' });

export const PREVIEW_FIRES = { fallback: 5, max: 10 } as const;

export const ZSchedulePreview = z
  .object({
    spec: ZScheduleSpec,
    count: z.number().int().min(1).max(PREVIEW_FIRES.max).default(PREVIEW_FIRES.fallback).openapi({ description: `How many fires to show, 1-${PREVIEW_FIRES.max} (default ${PREVIEW_FIRES.fallback}).` }),
  })
  .strict()
  .openapi('SchedulePreview');

export const ZSchedulePreviewResult = z
  .object({
    next_fires: z.array(z.string().openapi({ format: 'date-time' })).openapi({ description: 'The next fire times, UTC, soonest first (fewer when the spec fires fewer times in the next ten years; one for `at`).' }),
  })
  .openapi('SchedulePreviewResult');

export const ZScheduleCreate = z
  .object({
    spec: ZScheduleSpec,
    inputs: ZInputValues.default({}).openapi({ description: "Checked against the workflow's declared inputs now (400 otherwise)." }),
    overlap: z
      .enum(OVERLAP_POLICIES)
      .default('skip')
      .openapi({ description: "`skip` (default): a fire while the previous run's tree is still active makes no tree and is recorded as skipped with why. The others are Temporal's own policies." }),
    allow_replan: z.boolean().default(false).openapi({ description: 'Required to schedule a workflow that is not fully frozen (its runs wait for plans).' }),
    follow_latest: z.boolean().default(false).openapi({ description: "Each fire runs the newest version of the workflow's name (recorded on the run) instead of this one." }),
    paused: z.boolean().default(false),
    note: z.string().max(500).optional(),
    catchup_window: ZCatchupWindow.optional(),
  })
  .strict()
  .openapi('ScheduleCreate');

export const ZSchedulePatch = z
  .object({
    spec: ZScheduleSpec.optional().openapi({ description: 'A new spec; for a spent one-shot, a new `at` re-arms it.' }),
    inputs: ZInputValues.optional(),
    overlap: z.enum(OVERLAP_POLICIES).optional(),
    paused: z.boolean().optional().openapi({ description: 'Pause (true) or resume (false), with `note` as the reason.' }),
    note: z.string().max(500).optional(),
    catchup_window: ZCatchupWindow.optional(),
  })
  .strict()
  .openapi('SchedulePatch');

export const ZScheduleBackfill = z
  .object({
    start: z.iso.datetime({ offset: true }),
    end: z.iso.datetime({ offset: true }),
    overlap: z
      .enum(OVERLAP_POLICIES)
      .optional()
      .openapi({ description: "How the range's fires overlap each other; default: one after another (Temporal's buffer_all). When given, the range's fires also decide with it instead of the schedule's own overlap (with allow_all, an earlier fire's run still active or instantiating skips nothing)." }),
  })
  .strict()
  .openapi('ScheduleBackfill');

export const ZSchedule = z
  .object({
    id: z.string(),
    workflow: z.object({ id: z.string(), name: z.string(), version: z.number().int() }),
    follow_latest: z.boolean(),
    created_by_agent_id: z.string().nullable().openapi({
      description: 'The agent whose token created it: every fire acts for it and needs its runtimes (a fire it may not run is skipped, saying why). Null for schedules made before it was recorded.',
    }),
    allow_replan: z.boolean(),
    overlap: z.enum(OVERLAP_POLICIES),
    inputs: z.record(z.string(), z.string()),
    spec: z.unknown().openapi({ description: 'As given at creation (`cron`+`timezone`, `every` or `at`).' }),
    paused: z.boolean(),
    note: z.string().nullable(),
    spent: z.boolean().openapi({ description: 'A one-shot (`at`) schedule that has fired: kept, with its runs, but fires no more.' }),
    next_fire_times: z.array(timestamp),
    recent_fires: z.array(z.object({ nominal_time: timestamp, taken_at: timestamp, temporal_workflow_id: z.string() })),
    running_fires: z.array(z.string()).openapi({ description: 'Temporal workflow ids of fires still running.' }),
    fires_taken: z.number().int(),
    catchup_window: z.string().openapi({ example: '1d', description: "How late a fire missed during an outage of Temporal may still run once it is back (the Temporal Schedule's catch-up window)." }),
    missed_catchup_window: z
      .number()
      .int()
      .openapi({ description: 'Fires Temporal did not take because the system was down for longer than the catch-up window (Temporal\'s own counter; backfill those to run them).' }),
    skipped_by_temporal_overlap: z.number().int().openapi({ description: "Fires Temporal itself skipped (its overlap policies); fires skipped by `skip` are runs with state `skipped`." }),
    runs: z
      .object({ items: z.array(ZRun), total: z.number().int(), skipped: z.number().int().openapi({ description: 'Fires that made no tree (state `skipped`, each with why).' }) })
      .optional().openapi({ description: 'The runs its fires made, newest first, skipped fires included (one GET of the schedule).' }),
    temporal: z.object({ schedule_id: z.string(), ui_url: z.string().nullable() }),
    created_at: timestamp,
  })
  .openapi('Schedule');

export const ZScheduleList = z
  .object({
    items: z.array(ZSchedule),
    next_cursor: z.string().nullable(),
    not_in_temporal: z.array(z.string()).openapi({
      description:
        "This page's schedules that Temporal says it does not have (deleted there, or Temporal still starting after a restart), left out of `items`: kept here until `DELETE /api/schedules/{id}` forgets one.",
    }),
  })
  .openapi('ScheduleList');
export const ZScheduleListQuery = z
  .object({
    cursor: z.string().max(200).optional(),
    limit: ZLimit(100, 20),
    workflow_id: z.string().max(100).optional(),
  })
  .strict();

export type TScheduleJson = z.infer<typeof ZSchedule>;
