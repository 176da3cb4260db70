import type { Goal } from '../../db/client';
import { ZPlan } from '../../domain/plans';
import type { TGoalService } from '../../services/goals';
import { defineRoute, type TAnyRoute } from '../route';
import {
  ZGoal,
  ZGoalAccept,
  ZGoalClaim,
  ZGoalCompletion,
  ZGoalCreate,
  ZGoalIdParams,
  ZGoalList,
  ZGoalListQuery,
  ZGoalReject,
  ZGoalTreeQuery,
  ZGoalTreeRoot,
} from './schemas';
import { serializeGoal, serializeTreePage, type TTemporalUi } from './serializers';

/** The goal routes: each parses (schemas.ts), calls the goal service, serializes (serializers.ts). */
export function goalRoutes(deps: { goals: TGoalService; temporalUi: TTemporalUi }): TAnyRoute[] {
  const toJson = (g: Goal) => serializeGoal(g, deps.temporalUi);
  const goalResponse = (description: string) => ({ 200: { description, schema: ZGoal } });
  return [
    defineRoute({
      method: 'post',
      path: '/api/goals',
      operationId: 'createGoal',
      summary: 'Create a goal',
      description: 'Creates a root goal: a leaf with an action, or a composite with an optional inline plan. Unless `start` is false it starts running on Temporal at once.',
      tags: ['goals'],
      scope: 'goals:write',
      body: ZGoalCreate,
      responses: { 201: { description: 'The goal, as created (lifecycle `draft` until its run begins).', schema: ZGoal } },
      errors: ['MALFORMED_JSON', 'RUNTIME_NOT_ALLOWED', 'PLAN_INVALID', 'PAYLOAD_TOO_LARGE', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ body, ctx }) => ({ status: 201, body: toJson(await deps.goals.createGoal(ctx.actor, body)) }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/goals',
      operationId: 'listGoals',
      summary: 'List goals, newest first',
      description: 'Summaries: no action, acceptance or output (`GET /api/goals/{id}` has them).',
      tags: ['goals'],
      scope: 'goals:read',
      query: ZGoalListQuery,
      responses: { 200: { description: 'One page; pass `next_cursor` as `cursor` for the next.', schema: ZGoalList } },
      handler: async ({ query, ctx }) => {
        const page = await deps.goals.listGoals(ctx.actor, {
          cursor: query.cursor,
          limit: query.limit,
          lifecycle: query.lifecycle,
          rootOnly: query.root_only === 'true',
          workflowId: query.workflow_id,
          waitingFor: query.waiting_for,
          claimable: query.claimable === 'true',
        });
        // Summaries: the route's schema drops actions, acceptance and outputs (the query never loads the large ones).
        return { status: 200, body: { items: page.items.map((g) => toJson({ ...g, action: null, output: null })), next_cursor: page.nextCursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/goals/{id}',
      operationId: 'getGoal',
      summary: 'Get a goal',
      tags: ['goals'],
      scope: 'goals:read',
      params: ZGoalIdParams,
      responses: goalResponse('The goal with its lifecycle, reasons and output.'),
      errors: ['NOT_FOUND'],
      handler: async ({ params, ctx }) => ({ status: 200, body: toJson(await deps.goals.getGoal(ctx.actor, params.id)) }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/goals/{id}/tree',
      operationId: 'getGoalTree',
      summary: 'Get a goal with its subtree (bounded)',
      description:
        'The plan format filled in with state: each goal with its lifecycle and reasons, `children` nested in plan order, `edges` beside them. Bounded: `depth` levels and `limit` goals at most, breadth first; `truncated` says goals were left out, `goals` how many of how many, and each goal\'s `child_count` where (read further with a smaller subtree: the tree of a goal that was cut). Outputs only with `include=output`. Conditional: the answer\'s `ETag` names the subtree\'s version; sent back as `If-None-Match`, an unchanged subtree answers 304 without being read (what a poller of a big tree wants).',
      tags: ['goals'],
      scope: 'goals:read',
      params: ZGoalIdParams,
      query: ZGoalTreeQuery,
      responses: {
        200: { description: 'The subtree, as far as its bounds reach, with an `ETag` naming its version.', schema: ZGoalTreeRoot },
        304: { description: 'Nothing in the subtree changed since the version named by `If-None-Match` (no body).' },
      },
      errors: ['NOT_FOUND'],
      handler: async ({ params, query, ctx }) => {
        // The version is read before the tree: a change between the two makes the next poll read again, never miss it.
        const version = await deps.goals.getTreeVersion(ctx.actor, params.id);
        const etag = `W/"${version}.${query.depth}.${query.limit}${query.include === 'output' ? '.o' : ''}"`;
        if (ctx.ifNoneMatch?.split(',').some((tag) => tag.trim() === etag)) return { status: 304, etag };
        const page = await deps.goals.getTree(ctx.actor, params.id, { depth: query.depth, limit: query.limit, withOutput: query.include === 'output' });
        return { status: 200, body: serializeTreePage(page, deps.temporalUi), etag };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/plan',
      operationId: 'installGoalPlan',
      summary: 'Install the plan of an unplanned composite',
      description: 'Validated (keys, sibling edges, cycles, joins, expressions, runtimes, the agent\'s limits) and installed once; a waiting composite continues at once.',
      tags: ['goals'],
      scope: 'goals:write',
      params: ZGoalIdParams,
      body: ZPlan,
      responses: goalResponse('The composite, now planned.'),
      errors: ['NOT_FOUND', 'PLAN_INVALID', 'RUNTIME_NOT_ALLOWED', 'PLAN_ALREADY_INSTALLED', 'GOAL_ENDED', 'CONFLICT'],
      handler: async ({ params, body, ctx }) => ({ status: 200, body: toJson(await deps.goals.installPlan(ctx.actor, params.id, body)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/start',
      operationId: 'startGoal',
      summary: 'Start a draft root goal',
      tags: ['goals'],
      scope: 'goals:write',
      params: ZGoalIdParams,
      responses: goalResponse('The goal. A goal runs once: a started one is returned unchanged; an ended one is 409.'),
      errors: ['NOT_FOUND', 'GOAL_ENDED', 'CONFLICT', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, ctx }) => ({ status: 200, body: toJson(await deps.goals.startGoal(ctx.actor, params.id)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/cancel',
      operationId: 'cancelGoal',
      summary: 'Cancel a goal and its subtree',
      description: 'Through Temporal cancellation: running commands are killed and unfinished goals end `cancelled`.',
      tags: ['goals'],
      scope: 'goals:write',
      params: ZGoalIdParams,
      responses: goalResponse('The goal (cancellation finishes asynchronously).'),
      errors: ['NOT_FOUND', 'GOAL_ENDED', 'GOAL_NOT_WAITING', 'TEMPORAL_BUSY', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, ctx }) => ({ status: 200, body: toJson(await deps.goals.cancelGoal(ctx.actor, params.id)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/complete',
      operationId: 'completeGoal',
      summary: 'Complete a manual leaf, or an agent leaf you hold the lease of',
      tags: ['goals'],
      scope: 'goals:write',
      params: ZGoalIdParams,
      body: ZGoalCompletion,
      responses: goalResponse('The goal (its end is recorded asynchronously).'),
      errors: ['NOT_FOUND', 'GOAL_NOT_WAITING', 'GOAL_ENDED', 'LEASE_CONFLICT', 'TEMPORAL_BUSY', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, body, ctx }) => ({ status: 200, body: toJson(await deps.goals.completeGoal(ctx.actor, params.id, body)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/accept',
      operationId: 'acceptGoal',
      summary: 'Accept a goal waiting for judgment',
      tags: ['goals'],
      scope: 'goals:write',
      params: ZGoalIdParams,
      body: ZGoalAccept,
      responses: goalResponse('The goal.'),
      errors: ['NOT_FOUND', 'GOAL_NOT_WAITING', 'GOAL_ENDED', 'TEMPORAL_BUSY', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, body, ctx }) => ({ status: 200, body: toJson(await deps.goals.judgeGoal(ctx.actor, params.id, 'accept', body.reason)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/reject',
      operationId: 'rejectGoal',
      summary: 'Reject a goal waiting for judgment',
      tags: ['goals'],
      scope: 'goals:write',
      params: ZGoalIdParams,
      body: ZGoalReject,
      responses: goalResponse('The goal (it ends `failed` with the reason).'),
      errors: ['NOT_FOUND', 'GOAL_NOT_WAITING', 'GOAL_ENDED', 'TEMPORAL_BUSY', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, body, ctx }) => ({ status: 200, body: toJson(await deps.goals.judgeGoal(ctx.actor, params.id, 'reject', body.reason)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/claim',
      operationId: 'claimGoal',
      summary: 'Claim an agent leaf from the pool, or renew your lease',
      description: 'Agent leaves wait in the pool (`GET /api/goals?claimable=true`). A claim holds a lease; renew it by claiming again before it expires, or the leaf returns to the pool.',
      tags: ['goals'],
      scope: 'goals:write',
      params: ZGoalIdParams,
      body: ZGoalClaim,
      responses: goalResponse('The goal with its `lease`.'),
      errors: ['NOT_FOUND', 'GOAL_NOT_WAITING', 'LEASE_CONFLICT'],
      handler: async ({ params, body, ctx }) => ({ status: 200, body: toJson(await deps.goals.claimGoal(ctx.actor, params.id, body)) }),
    }),
  ];
}
