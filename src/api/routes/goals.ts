import { ZAction } from '../../domain/actions';
import { GOAL_LIFECYCLES } from '../../domain/goals';
import type { Goal, TGoalService } from '../../services/goals';
import { defineRoute, type TAnyRoute } from '../route';
import { z } from '../zod';

export const ZGoalId = z.string().regex(/^goal_[0-9a-z]{26}$/, 'must be a goal id like goal_01jd3v8k2m7q9x4w5y6z7a8b9c').openapi({ example: 'goal_01jd3v8k2m7q9x4w5y6z7a8b9c' });

export const ZGoalCreate = z
  .object({
    title: z.string().trim().min(1, 'title must not be empty').max(200),
    intent: z.string().max(10_000).optional(),
    kind: z.literal('leaf').default('leaf').openapi({ description: 'Composite goals arrive with the execution engine.' }),
    action: ZAction,
    start: z.boolean().default(true).openapi({ description: 'Start running at once (default true).' }),
  })
  .strict()
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
    title: z.string(),
    intent: z.string().nullable(),
    action: z.record(z.string(), z.unknown()).nullable(),
    acceptance: z.unknown().nullable(),
    lifecycle: z.enum(GOAL_LIFECYCLES),
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
    title: goal.title,
    intent: goal.intent,
    action: (goal.action as Record<string, unknown> | null) ?? null,
    acceptance: goal.acceptance ?? null,
    lifecycle: goal.lifecycle,
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

export function goalRoutes(deps: { goals: TGoalService; temporalUi: { baseUrl: string | undefined; namespace: string } }): TAnyRoute[] {
  const toJson = (g: Goal) => serializeGoal(g, deps.temporalUi);
  return [
    defineRoute({
      method: 'post',
      path: '/api/goals',
      operationId: 'createGoal',
      summary: 'Create a goal',
      description: 'Creates a root leaf goal and, unless `start` is false, starts running it on Temporal.',
      tags: ['goals'],
      body: ZGoalCreate,
      responses: { 201: { description: 'The goal, as created (lifecycle `draft` until its run begins).', schema: ZGoal } },
      errors: ['MALFORMED_JSON', 'RUNTIME_NOT_ALLOWED', 'PAYLOAD_TOO_LARGE', 'TEMPORAL_UNAVAILABLE'],
      handler: async ({ body, ctx }) => ({ status: 201, body: toJson(await deps.goals.createGoal(ctx.actor, body)) }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/goals/{id}',
      operationId: 'getGoal',
      summary: 'Get a goal',
      tags: ['goals'],
      params: z.object({ id: ZGoalId }),
      responses: { 200: { description: 'The goal with its lifecycle, reasons and output.', schema: ZGoal } },
      errors: ['NOT_FOUND'],
      handler: async ({ params, ctx }) => ({ status: 200, body: toJson(await deps.goals.getGoal(ctx.actor, params.id)) }),
    }),
  ];
}
