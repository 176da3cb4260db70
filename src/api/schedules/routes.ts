import { grants } from '../../domain/scopes';
import type { TScheduleCaller, TScheduleService } from '../../services/schedules';
import type { TRequestContext } from '../route';
import type { TTemporalUi } from '../goals/serializers';
import { defineRoute, type TAnyRoute } from '../route';
import { ZWorkflowIdParams } from '../workflows/schemas';
import { ZSchedule, ZScheduleBackfill, ZScheduleCreate, ZScheduleIdParams, ZScheduleList, ZScheduleListQuery, ZSchedulePatch, ZSchedulePreview, ZSchedulePreviewResult } from './schemas';
import { serializeSchedule } from './serializers';

/** The schedule routes (SPEC §5): Temporal Schedules that run a saved workflow. */
export function scheduleRoutes(deps: { schedules: TScheduleService; temporalUi: TTemporalUi }): TAnyRoute[] {
  const toJson = (v: Parameters<typeof serializeSchedule>[0]) => serializeSchedule(v, deps.temporalUi);
  const caller = (ctx: TRequestContext): TScheduleCaller => ({ admin: grants(ctx.scopes, 'admin') });
  return [
    defineRoute({
      method: 'post',
      path: '/api/schedules/preview',
      operationId: 'previewSchedule',
      summary: "Preview a spec's next fires, saving nothing",
      description:
        "The next fire times of `spec` as Temporal computes them (the schedule dialog shows them before saving), checked as a new schedule's spec is: a cron Temporal cannot read, a pace faster than SCHEDULE_MIN_INTERVAL (for a non-admin token), or a one-shot time in the past or more than ten years ahead is a 400 naming the problem. Nothing is kept.",
      tags: ['schedules'],
      scope: 'schedules:write',
      body: ZSchedulePreview,
      responses: { 200: { description: 'The next fires.', schema: ZSchedulePreviewResult } },
      errors: ['TEMPORAL_UNAVAILABLE'],
      handler: async ({ body, ctx }) => {
        const fires = await deps.schedules.previewSchedule(body.spec, body.count, caller(ctx));
        return { status: 200, body: { next_fires: fires.map((d) => d.toISOString()) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/workflows/{id}/schedules',
      operationId: 'createSchedule',
      summary: 'Schedule a workflow',
      description:
        'Creates a Temporal Schedule whose fires run this workflow with these inputs, each under the key (schedule id, nominal fire time). `spec` is `{cron, timezone?}`, `{every}` or `{at}` (once). The caller\'s agent needs every runtime the workflow records (`required_runtimes`), and `shell` when the workflow\'s own requests name an internal address literally (400 RUNTIME_NOT_ALLOWED otherwise). The caller\'s agent is recorded as the schedule\'s creator: every fire acts for it, and a fire whose version needs a runtime it may no longer use makes no tree and is recorded as skipped, saying why.',
      tags: ['schedules'],
      scope: 'schedules:write',
      params: ZWorkflowIdParams,
      body: ZScheduleCreate,
      responses: { 201: { description: 'The schedule, as Temporal now has it.', schema: ZSchedule } },
      errors: ['NOT_FOUND', 'RUNTIME_NOT_ALLOWED', 'QUOTA_EXCEEDED', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, body, ctx }) => {
        const view = await deps.schedules.createSchedule(ctx.actor, params.id, {
          spec: body.spec,
          inputs: body.inputs,
          overlap: body.overlap,
          allowReplan: body.allow_replan,
          followLatest: body.follow_latest,
          paused: body.paused,
          note: body.note,
          catchupWindow: body.catchup_window,
        }, caller(ctx));
        return { status: 201, body: toJson(view) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/schedules',
      operationId: 'listSchedules',
      summary: 'List schedules, newest first',
      description: "Each with Temporal's state (paused, note, next fires, recent fires).",
      tags: ['schedules'],
      scope: 'schedules:read',
      query: ZScheduleListQuery,
      responses: { 200: { description: 'One page.', schema: ZScheduleList } },
      errors: ['TEMPORAL_UNAVAILABLE'],
      handler: async ({ query, ctx }) => {
        const page = await deps.schedules.listSchedules(ctx.actor, { cursor: query.cursor, limit: query.limit, workflowId: query.workflow_id });
        return { status: 200, body: { items: page.items.map(toJson), next_cursor: page.nextCursor, not_in_temporal: page.notInTemporal } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/schedules/{id}',
      operationId: 'getSchedule',
      summary: 'Get a schedule with the runs its fires made',
      tags: ['schedules'],
      scope: 'schedules:read',
      params: ZScheduleIdParams,
      responses: { 200: { description: 'The schedule.', schema: ZSchedule } },
      errors: ['NOT_FOUND', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, ctx }) => ({ status: 200, body: toJson(await deps.schedules.getSchedule(ctx.actor, params.id)) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/api/schedules/{id}',
      operationId: 'updateSchedule',
      summary: 'Change a schedule: spec, inputs, overlap, catch-up window, pause or resume',
      description:
        'One update of the Temporal Schedule. A spent one-shot is re-enabled only with a new `spec.at` (400 otherwise). Pausing, or changing only the note, makes nothing run: any agent of the owner may. Any other change lets the schedule run, so the caller\'s agent needs every runtime the version a fire would run now records (the pinned one, or with `follow_latest` the newest; `required_runtimes`), and `shell` when that version\'s own requests name an internal address literally, or when it makes http requests and the schedule\'s creator and the workflow\'s agent may run shell (its fires may reach internal addresses); 400 RUNTIME_NOT_ALLOWED otherwise, naming the agent, the workflow and the runtime.',
      tags: ['schedules'],
      scope: 'schedules:write',
      params: ZScheduleIdParams,
      body: ZSchedulePatch,
      responses: { 200: { description: 'The schedule.', schema: ZSchedule } },
      errors: ['NOT_FOUND', 'RUNTIME_NOT_ALLOWED', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, body, ctx }) => {
        const { catchup_window: catchupWindow, ...patch } = body;
        return { status: 200, body: toJson(await deps.schedules.updateSchedule(ctx.actor, params.id, { ...patch, catchupWindow }, caller(ctx))) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/schedules/{id}/backfill',
      operationId: 'backfillSchedule',
      summary: 'Run the fires of a past range',
      description: 'Each fire is keyed by its nominal time, so backfilling a range twice mints nothing new. The caller\'s agent needs every runtime the version a fire would run now records (the pinned one, or with `follow_latest` the newest; `required_runtimes`), and `shell` when that version\'s own requests name an internal address literally, or when it makes http requests and the schedule\'s creator and the workflow\'s agent may run shell (its fires may reach internal addresses); 400 RUNTIME_NOT_ALLOWED otherwise, naming the agent, the workflow and the runtime.',
      tags: ['schedules'],
      scope: 'schedules:write',
      params: ZScheduleIdParams,
      body: ZScheduleBackfill,
      responses: { 200: { description: 'The schedule.', schema: ZSchedule } },
      errors: ['NOT_FOUND', 'RUNTIME_NOT_ALLOWED', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, body, ctx }) => ({
        status: 200,
        body: toJson(await deps.schedules.backfillSchedule(ctx.actor, params.id, { start: new Date(body.start), end: new Date(body.end), overlap: body.overlap })),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/schedules/{id}/trigger',
      operationId: 'triggerSchedule',
      summary: 'Fire a schedule now',
      description: 'A fire like any other: keyed by its time, subject to the overlap policy. The caller\'s agent needs every runtime the version a fire would run now records (the pinned one, or with `follow_latest` the newest; `required_runtimes`), and `shell` when that version\'s own requests name an internal address literally, or when it makes http requests and the schedule\'s creator and the workflow\'s agent may run shell (its fires may reach internal addresses); 400 RUNTIME_NOT_ALLOWED otherwise, naming the agent, the workflow and the runtime.',
      tags: ['schedules'],
      scope: 'schedules:write',
      params: ZScheduleIdParams,
      responses: { 200: { description: 'The schedule.', schema: ZSchedule } },
      errors: ['NOT_FOUND', 'RUNTIME_NOT_ALLOWED', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, ctx }) => ({ status: 200, body: toJson(await deps.schedules.triggerSchedule(ctx.actor, params.id)) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/api/schedules/{id}',
      operationId: 'deleteSchedule',
      summary: 'Delete a schedule (its runs stay)',
      tags: ['schedules'],
      scope: 'schedules:write',
      params: ZScheduleIdParams,
      responses: { 204: { description: 'Deleted.' } },
      errors: ['NOT_FOUND', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, ctx }) => {
        await deps.schedules.deleteSchedule(ctx.actor, params.id);
        return { status: 204, body: undefined };
      },
    }),
  ];
}
