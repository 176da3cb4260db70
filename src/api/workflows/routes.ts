import type { TWorkflowService } from '../../services/workflows';
import { ZGoalIdParams } from '../goals/schemas';
import { defineRoute, type TAnyRoute } from '../route';
import { ZDiffQuery, ZSaveAsWorkflow, ZWorkflow, ZWorkflowDiff, ZWorkflowIdParams, ZWorkflowList, ZWorkflowListQuery } from './schemas';
import { serializeWorkflow, serializeWorkflowSummary } from './serializers';

/** The workflow routes (SPEC §3): parse (schemas.ts), call a service, serialize (serializers.ts). A workflow's runs are in ../runs. */
export function workflowRoutes(deps: { workflows: TWorkflowService }): TAnyRoute[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/goals/{id}/save-as-workflow',
      operationId: 'saveGoalAsWorkflow',
      summary: 'Save an accepted composite as the next version of a workflow',
      description:
        'A recursive structural snapshot of the goal\'s plan (`frozen/v0`); composites never planned are saved with `plan: null` (the workflow is then not fully frozen). Saving the root of a run keeps its workflow\'s placeholders and inputs, freezes plans installed during the run, and records the run as `source_run_id`. A text with more than 100 `{{inputs.…}}` placeholders is refused (400). The version keeps which goals an agent other than its own planned (a plan submitted into the tree): its runs\' leaves need that agent\'s runtimes, as the tree\'s did. A saved version runs where it is picked next (a `follow_latest` schedule of the name runs it by itself), so the caller\'s agent needs every runtime the version records (`required_runtimes`), and `shell` when it makes http requests under an agent that may run shell; 400 RUNTIME_NOT_ALLOWED otherwise.',
      tags: ['workflows'],
      scope: 'workflows:write',
      params: ZGoalIdParams,
      body: ZSaveAsWorkflow,
      responses: { 201: { description: 'The new version.', schema: ZWorkflow } },
      errors: ['NOT_FOUND', 'CONFLICT', 'PLAN_INVALID', 'RUNTIME_NOT_ALLOWED'],
      handler: async ({ params, body, ctx }) => {
        const saved = await deps.workflows.saveGoalAsWorkflow(ctx.actor, params.id, body);
        return { status: 201, body: serializeWorkflow({ ...saved, runCount: 0 }) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/workflows',
      operationId: 'listWorkflows',
      summary: 'List workflows, newest first',
      description: 'Summaries (no frozen plan); the whole workflow is one `GET /api/workflows/{id}` away.',
      tags: ['workflows'],
      scope: 'workflows:read',
      query: ZWorkflowListQuery,
      responses: { 200: { description: 'One page; pass `next_cursor` as `cursor` for the next.', schema: ZWorkflowList } },
      handler: async ({ query, ctx }) => {
        const page = await deps.workflows.listWorkflows(ctx.actor, query);
        return { status: 200, body: { items: page.items.map(serializeWorkflowSummary), next_cursor: page.nextCursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/workflows/{id}',
      operationId: 'getWorkflow',
      summary: 'Get a workflow with its frozen plan',
      tags: ['workflows'],
      scope: 'workflows:read',
      params: ZWorkflowIdParams,
      responses: { 200: { description: 'The workflow.', schema: ZWorkflow } },
      errors: ['NOT_FOUND'],
      handler: async ({ params, ctx }) => ({ status: 200, body: serializeWorkflow(await deps.workflows.getWorkflow(ctx.actor, params.id)) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/api/workflows/{id}',
      operationId: 'deleteWorkflow',
      summary: 'Delete a workflow that has no runs',
      tags: ['workflows'],
      scope: 'workflows:write',
      params: ZWorkflowIdParams,
      responses: { 204: { description: 'Deleted.' } },
      errors: ['NOT_FOUND', 'CONFLICT'],
      handler: async ({ params, ctx }) => {
        await deps.workflows.deleteWorkflow(ctx.actor, params.id);
        return { status: 204, body: undefined };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/workflows/{id}/diff',
      operationId: 'diffWorkflows',
      summary: 'What changed between two versions of one workflow',
      description: 'Goals added, removed and changed (by key path, with the changed fields) and edges added and removed, from `against` to this version.',
      tags: ['workflows'],
      scope: 'workflows:read',
      params: ZWorkflowIdParams,
      query: ZDiffQuery,
      responses: { 200: { description: 'The structural diff.', schema: ZWorkflowDiff } },
      errors: ['NOT_FOUND'],
      handler: async ({ params, query, ctx }) => {
        const { workflow, against, diff } = await deps.workflows.diffWorkflows(ctx.actor, params.id, query.against);
        return { status: 200, body: { workflow: { id: workflow.id, version: workflow.version }, against: { id: against.id, version: against.version }, ...diff } };
      },
    }),
  ];
}
