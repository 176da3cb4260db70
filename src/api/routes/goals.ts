import { ZAction } from '../../domain/actions';
import { GOAL_LIFECYCLES } from '../../domain/goals';
import { ZAcceptance, ZEdgeOn, ZPlan } from '../../domain/plans';
import type { Goal, GoalEdge, TGoalService, TGoalTree } from '../../services/goals';
import { defineRoute, type TAnyRoute } from '../route';
import { z } from '../zod';

export const ZGoalId = z.string().regex(/^goal_[0-9a-z]{26}$/, 'must be a goal id like goal_01jd3v8k2m7q9x4w5y6z7a8b9c').openapi({ example: 'goal_01jd3v8k2m7q9x4w5y6z7a8b9c' });

const ZCreateCommon = {
  title: z.string().trim().min(1, 'title must not be empty').max(200),
  intent: z.string().max(10_000).optional(),
  acceptance: ZAcceptance.optional(),
  start: z.boolean().default(true).openapi({ description: 'Start running at once (default true).' }),
};

export const ZGoalCreate = z
  .preprocess(
    // `kind` may be left out: a goal with an action is a leaf, anything else a composite.
    (v) => (v && typeof v === 'object' && !Array.isArray(v) && !('kind' in v) ? { ...v, kind: 'action' in v ? 'leaf' : 'composite' } : v),
    z.discriminatedUnion('kind', [
      z.object({ ...ZCreateCommon, kind: z.literal('leaf'), action: ZAction }).strict(),
      z
        .object({
          ...ZCreateCommon,
          kind: z.literal('composite'),
          plan: ZPlan.nullable().optional().openapi({ description: 'Installed with the goal; leave it out to submit one later.' }),
        })
        .strict(),
    ]),
  )
  .openapi('GoalCreate');

const timestamp = z.string().openapi({ format: 'date-time', example: '2026-11-21T08:00:00.000Z' });

export const ZGoal = z
  .object({
    id: z.string(),
    parent_id: z.string().nullable(),
    root_id: z.string(),
    agent_id: z.string(),
    owner: z.object({ type: z.enum(['user', 'agent']), id: z.string() }),
    kind: z.enum(['leaf', 'composite']),
    key: z.string().nullable(),
    depth: z.number().int(),
    title: z.string(),
    intent: z.string().nullable(),
    action: z.record(z.string(), z.unknown()).nullable(),
    acceptance: z.unknown().nullable(),
    join: z.union([z.literal('all'), z.number().int()]),
    lifecycle: z.enum(GOAL_LIFECYCLES),
    waiting_for: z.enum(['plan', 'completion', 'agent', 'judgment']).nullable().openapi({ description: 'What a goal that is not finished waits for.' }),
    lease: z.object({ claimed_by: z.string(), expires_at: timestamp }).nullable().openapi({ description: 'Agent leaves: who holds the lease.' }),
    done_reason: z.enum(['accepted', 'skipped']).nullable(),
    block_reason: z.string().nullable(),
    failure_reason: z.string().nullable(),
    planned_at: timestamp.nullable(),
    output: z.unknown().nullable().openapi({ description: 'Leaf result: exit code, bounded stdout/stderr, duration.' }),
    temporal: z.object({
      workflow_id: z.string().nullable(),
      ui_url: z.string().nullable().openapi({ description: 'This goal in the Temporal Web UI, when the UI address is known.' }),
    }),
    attribution: z.object({ workflow_id: z.string(), workflow_version: z.number().int().nullable(), run_id: z.string().nullable() }).nullable(),
    created_at: timestamp,
    updated_at: timestamp,
    started_at: timestamp.nullable(),
    finished_at: timestamp.nullable(),
  })
  .openapi('Goal');

export type TGoalJson = z.infer<typeof ZGoal>;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function serializeGoal(goal: Goal, temporalUi: { baseUrl: string | undefined; namespace: string }): TGoalJson {
  const uiUrl =
    temporalUi.baseUrl && goal.temporalWorkflowId
      ? `${temporalUi.baseUrl}/namespaces/${encodeURIComponent(temporalUi.namespace)}/workflows/${encodeURIComponent(goal.temporalWorkflowId)}`
      : null;
  return {
    id: goal.id,
    parent_id: goal.parentId,
    root_id: goal.rootId,
    agent_id: goal.agentId,
    owner: goal.ownerUserId ? { type: 'user', id: goal.ownerUserId } : { type: 'agent', id: goal.ownerAgentId ?? '' },
    kind: goal.kind,
    key: goal.key,
    depth: goal.depth,
    title: goal.title,
    intent: goal.intent,
    action: (goal.action as Record<string, unknown> | null) ?? null,
    acceptance: goal.acceptance ?? null,
    join: goal.joinCount ?? 'all',
    lifecycle: goal.lifecycle,
    waiting_for: goal.waitingFor,
    lease: goal.claimedBy && goal.leaseExpiresAt ? { claimed_by: goal.claimedBy, expires_at: goal.leaseExpiresAt.toISOString() } : null,
    done_reason: goal.doneReason,
    block_reason: goal.blockReason,
    failure_reason: goal.failureReason,
    planned_at: iso(goal.plannedAt),
    output: goal.output ?? null,
    temporal: { workflow_id: goal.temporalWorkflowId, ui_url: uiUrl },
    attribution: goal.workflowId ? { workflow_id: goal.workflowId, workflow_version: goal.workflowVersion, run_id: goal.runId } : null,
    created_at: goal.createdAt.toISOString(),
    updated_at: goal.updatedAt.toISOString(),
    started_at: iso(goal.startedAt),
    finished_at: iso(goal.finishedAt),
  };
}

export const ZEdgeJson = z.object({ from: z.string(), to: z.string(), on: ZEdgeOn }).openapi('Edge');

export interface TGoalTreeJson extends TGoalJson {
  children: TGoalTreeJson[];
  edges: z.infer<typeof ZEdgeJson>[];
}

export const ZGoalTree: z.ZodType<TGoalTreeJson> = ZGoal.extend({
  get children(): z.ZodArray<z.ZodType<TGoalTreeJson>> {
    return z.array(ZGoalTree);
  },
  edges: z.array(ZEdgeJson),
}).openapi('GoalTree');

export function serializeTree(tree: TGoalTree, temporalUi: TTemporalUi): TGoalTreeJson {
  const keyOf = new Map(tree.children.map((c) => [c.goal.id, c.goal.key as string]));
  return {
    ...serializeGoal(tree.goal, temporalUi),
    children: tree.children.map((c) => serializeTree(c, temporalUi)),
    edges: tree.edges.map((e: GoalEdge) => ({ from: keyOf.get(e.fromGoalId) ?? e.fromGoalId, to: keyOf.get(e.toGoalId) ?? e.toGoalId, on: ZEdgeOn.parse(e.on) })),
  };
}

type TTemporalUi = { baseUrl: string | undefined; namespace: string };

const ZIdParams = z.object({ id: ZGoalId });

export const ZGoalList = z.object({ items: z.array(ZGoal), next_cursor: z.string().nullable() }).openapi('GoalList');

const ZListQuery = z
  .object({
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    lifecycle: z.enum(GOAL_LIFECYCLES).optional(),
    root_only: z.enum(['true', 'false']).optional().openapi({ description: 'Only goals without a parent.' }),
    workflow_id: z.string().max(100).optional(),
    waiting_for: z.enum(['plan', 'completion', 'agent', 'judgment']).optional().openapi({ description: 'e.g. `judgment`: what waits for a person.' }),
    claimable: z.enum(['true', 'false']).optional().openapi({ description: 'The agent pool: agent leaves with no live lease.' }),
  })
  .strict();

/** Leaf output is size-bounded (SPEC §2): a completion's output too, and it travels through Temporal history. */
const MAX_COMPLETION_OUTPUT_BYTES = 64 * 1024;

const ZComplete = z
  .object({
    outcome: z.enum(['succeeded', 'failed']),
    output: z
      .record(z.string(), z.unknown())
      .refine((o) => Buffer.byteLength(JSON.stringify(o)) <= MAX_COMPLETION_OUTPUT_BYTES, `output must be at most ${MAX_COMPLETION_OUTPUT_BYTES} bytes as JSON`)
      .optional()
      .openapi({ description: 'The result (at most 64 KiB as JSON); `when` edges read it as `output`.' }),
    reason: z.string().max(2000).optional().openapi({ description: 'Why it failed.' }),
    worker: z.string().min(1).max(200).optional().openapi({ description: 'Agent leaves: the worker id holding the lease.' }),
  })
  .strict()
  .openapi('GoalCompletion');

const ZClaim = z
  .object({
    worker: z.string().min(1).max(200).openapi({ description: 'The claiming agent worker; claim again to renew.' }),
    lease_s: z.number().int().min(5).max(24 * 3600).optional().openapi({ description: "Lease length; default the action's lease_s, else 300." }),
  })
  .strict()
  .openapi('GoalClaim');

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
      tags: ['goals'],
      query: ZListQuery,
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
        return { status: 200, body: { items: page.items.map(toJson), next_cursor: page.nextCursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/goals/{id}',
      operationId: 'getGoal',
      summary: 'Get a goal',
      tags: ['goals'],
      params: ZIdParams,
      responses: goalResponse('The goal with its lifecycle, reasons and output.'),
      errors: ['NOT_FOUND'],
      handler: async ({ params, ctx }) => ({ status: 200, body: toJson(await deps.goals.getGoal(ctx.actor, params.id)) }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/goals/{id}/tree',
      operationId: 'getGoalTree',
      summary: 'Get a goal with its whole subtree',
      description: 'The plan format filled in with state: each goal with its lifecycle, reasons and output, `children` nested in plan order, `edges` beside them.',
      tags: ['goals'],
      params: ZIdParams,
      responses: { 200: { description: 'The subtree.', schema: ZGoalTree } },
      errors: ['NOT_FOUND'],
      handler: async ({ params, ctx }) => ({ status: 200, body: serializeTree(await deps.goals.getTree(ctx.actor, params.id), deps.temporalUi) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/plan',
      operationId: 'installGoalPlan',
      summary: 'Install the plan of an unplanned composite',
      description: 'Validated (keys, sibling edges, cycles, joins, expressions, runtimes, the agent\'s limits) and installed once; a waiting composite continues at once.',
      tags: ['goals'],
      params: ZIdParams,
      body: ZPlan,
      responses: goalResponse('The composite, now planned.'),
      errors: ['NOT_FOUND', 'PLAN_INVALID', 'PLAN_ALREADY_INSTALLED', 'GOAL_ENDED', 'CONFLICT'],
      handler: async ({ params, body, ctx }) => ({ status: 200, body: toJson(await deps.goals.installPlan(ctx.actor, params.id, body)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/start',
      operationId: 'startGoal',
      summary: 'Start a draft root goal',
      tags: ['goals'],
      params: ZIdParams,
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
      params: ZIdParams,
      responses: goalResponse('The goal (cancellation finishes asynchronously).'),
      errors: ['NOT_FOUND', 'GOAL_ENDED', 'GOAL_NOT_WAITING', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, ctx }) => ({ status: 200, body: toJson(await deps.goals.cancelGoal(ctx.actor, params.id)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/complete',
      operationId: 'completeGoal',
      summary: 'Complete a manual leaf, or an agent leaf you hold the lease of',
      tags: ['goals'],
      params: ZIdParams,
      body: ZComplete,
      responses: goalResponse('The goal (its end is recorded asynchronously).'),
      errors: ['NOT_FOUND', 'GOAL_NOT_WAITING', 'GOAL_ENDED', 'LEASE_CONFLICT', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, body, ctx }) => ({ status: 200, body: toJson(await deps.goals.completeGoal(ctx.actor, params.id, body)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/accept',
      operationId: 'acceptGoal',
      summary: 'Accept a goal waiting for judgment',
      tags: ['goals'],
      params: ZIdParams,
      body: z.object({ reason: z.string().max(2000).optional() }).strict(),
      responses: goalResponse('The goal.'),
      errors: ['NOT_FOUND', 'GOAL_NOT_WAITING', 'GOAL_ENDED', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, body, ctx }) => ({ status: 200, body: toJson(await deps.goals.judgeGoal(ctx.actor, params.id, 'accept', body.reason)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/reject',
      operationId: 'rejectGoal',
      summary: 'Reject a goal waiting for judgment',
      tags: ['goals'],
      params: ZIdParams,
      body: z.object({ reason: z.string().min(1, 'say why it is rejected').max(2000) }).strict(),
      responses: goalResponse('The goal (it ends `failed` with the reason).'),
      errors: ['NOT_FOUND', 'GOAL_NOT_WAITING', 'GOAL_ENDED', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ params, body, ctx }) => ({ status: 200, body: toJson(await deps.goals.judgeGoal(ctx.actor, params.id, 'reject', body.reason)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/claim',
      operationId: 'claimGoal',
      summary: 'Claim an agent leaf from the pool, or renew your lease',
      description: 'Agent leaves wait in the pool (`GET /api/goals?claimable=true`). A claim holds a lease; renew it by claiming again before it expires, or the leaf returns to the pool.',
      tags: ['goals'],
      params: ZIdParams,
      body: ZClaim,
      responses: goalResponse('The goal with its `lease`.'),
      errors: ['NOT_FOUND', 'GOAL_NOT_WAITING', 'LEASE_CONFLICT'],
      handler: async ({ params, body, ctx }) => ({ status: 200, body: toJson(await deps.goals.claimGoal(ctx.actor, params.id, body)) }),
    }),
  ];
}
