import type { TRunService } from '../../services/runs';
import { defineRoute, type TAnyRoute } from '../route';
import type { TTemporalUi } from '../goals/serializers';
import { ZWorkflowIdParams } from '../workflows/schemas';
import { ZRun, ZRunCreate, ZRunCreated, ZRunIdParams, ZRunList, ZRunPageQuery } from './schemas';
import { serializeRun } from './serializers';

/** The run routes (SPEC §4): run a workflow, list its runs, read one. Parse (schemas.ts), call the run service, serialize (serializers.ts). */
export function runRoutes(deps: { runs: TRunService; temporalUi: TTemporalUi }): TAnyRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/workflows/{id}/runs',
      operationId: 'listWorkflowRuns',
      summary: "List a workflow's runs, newest first",
      tags: ['runs'],
      scope: 'workflows:read',
      params: ZWorkflowIdParams,
      query: ZRunPageQuery,
      responses: { 200: { description: 'One page, with `total` runs in all.', schema: ZRunList } },
      errors: ['NOT_FOUND'],
      handler: async ({ params, query, ctx }) => {
        const page = await deps.runs.listWorkflowRuns(ctx.actor, params.id, query);
        return { status: 200, body: { items: page.items.map((r) => serializeRun(r, deps.temporalUi)), next_cursor: page.nextCursor, total: page.total } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/workflows/{id}/runs',
      operationId: 'createRun',
      summary: 'Run a workflow under an idempotency key',
      description:
        'First call: 201 `{run, created: true}`. The same key with the same inputs again: 200 `{run, created: false}`, whatever state the run is in, except a failed run (409: use a new key). The same key with other inputs: 409. Unknown or missing inputs, unresolved placeholders, and inputs that would make a text longer than its field allows once substituted (naming the field and its path): 400, nothing written. A new run, and a replay that starts a run left claimed, needs the caller\'s agent to be allowed every runtime the workflow records (`required_runtimes`), and `shell` when the workflow\'s own requests name an internal address literally (400 RUNTIME_NOT_ALLOWED otherwise). The run\'s goals run under the workflow\'s agent; the caller\'s agent is recorded as the run\'s acting agent, and each leaf needs its runtimes in both, so a runtime taken from either fails the next leaf that needs it, before it runs.',
      tags: ['runs'],
      scope: 'workflows:write',
      params: ZWorkflowIdParams,
      body: ZRunCreate,
      responses: {
        201: { description: 'A new run.', schema: ZRunCreated },
        200: { description: 'The run this key already made.', schema: ZRunCreated },
      },
      errors: ['NOT_FOUND', 'CONFLICT', 'PLAN_INVALID', 'RUNTIME_NOT_ALLOWED', 'TEMPORAL_UNAVAILABLE', 'TEMPORAL_BUSY'],
      handler: async ({ params, body, ctx }) => {
        const { run, created } = await deps.runs.createRun(ctx.actor, params.id, { idempotencyKey: body.idempotency_key, inputs: body.inputs });
        return { status: created ? 201 : 200, body: { run: serializeRun(run, deps.temporalUi), created } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/runs/{id}',
      operationId: 'getRun',
      summary: 'Get a run: its instantiation state and its tree\'s status',
      tags: ['runs'],
      scope: 'workflows:read',
      params: ZRunIdParams,
      responses: { 200: { description: 'The run.', schema: ZRun } },
      errors: ['NOT_FOUND'],
      handler: async ({ params, ctx }) => ({ status: 200, body: serializeRun(await deps.runs.getRun(ctx.actor, params.id), deps.temporalUi) }),
    }),
  ];
}
