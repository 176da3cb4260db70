import type { TAgentService } from '../../services/agents';
import { defineRoute, type TAnyRoute } from '../route';
import { ZAgent, ZAgentCreate, ZAgentIdParams, ZAgentList, ZAgentListQuery, ZAgentUpdate } from './schemas';
import { serializeAgent } from './serializers';

/**
 * The agent routes (SPEC §6): a caller reads its user's agents with
 * `goals:read` (agents are who runs its goals); creating, changing and
 * deleting them is `admin`, as token management is, because an agent's
 * runtimes are privileges (running shell commands above all).
 */
export function agentRoutes(deps: { agents: TAgentService }): TAnyRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/agents',
      operationId: 'listAgents',
      summary: "List your user's agents, newest first",
      tags: ['agents'],
      scope: 'goals:read',
      query: ZAgentListQuery,
      responses: { 200: { description: 'One page; pass `next_cursor` as `cursor` for the next.', schema: ZAgentList } },
      handler: async ({ query, ctx }) => {
        const page = await deps.agents.listAgents(ctx.actor, query);
        return { status: 200, body: { items: page.items.map(serializeAgent), next_cursor: page.nextCursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/agents/{id}',
      operationId: 'getAgent',
      summary: 'Get an agent: its runtimes and limits',
      tags: ['agents'],
      scope: 'goals:read',
      params: ZAgentIdParams,
      responses: { 200: { description: 'The agent.', schema: ZAgent } },
      errors: ['NOT_FOUND'],
      handler: async ({ params, ctx }) => ({ status: 200, body: serializeAgent(await deps.agents.getAgent(ctx.actor, params.id)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/agents',
      operationId: 'createAgent',
      summary: 'Create an agent for your user',
      description: 'Without `allowed_runtimes` it may use http, manual and agent actions: shell commands are a privilege granted explicitly. Names are unique (409 when taken). Mint it a token with `POST /api/tokens {agent_id}`.',
      tags: ['agents'],
      scope: 'admin',
      body: ZAgentCreate,
      responses: { 201: { description: 'The new agent.', schema: ZAgent } },
      errors: ['CONFLICT'],
      handler: async ({ body, ctx }) => {
        const agent = await deps.agents.createAgent(ctx.actor, {
          name: body.name,
          allowedRuntimes: body.allowed_runtimes,
          maxDepth: body.max_depth,
          maxChildren: body.max_children,
          maxGoals: body.max_goals,
          defaultParallelism: body.default_parallelism,
        });
        return { status: 201, body: serializeAgent(agent) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/agents/{id}',
      operationId: 'updateAgent',
      summary: "Change an agent's runtimes, limits or default parallelism",
      description:
        'Runtimes taken away take effect at the next leaf of every goal, run and schedule under the agent: that leaf fails, naming why, and nothing of it runs. Limits apply to plans submitted from now on. The name never changes.',
      tags: ['agents'],
      scope: 'admin',
      params: ZAgentIdParams,
      body: ZAgentUpdate,
      responses: { 200: { description: 'The agent as it now is.', schema: ZAgent } },
      errors: ['NOT_FOUND'],
      handler: async ({ params, body, ctx }) => {
        const agent = await deps.agents.updateAgent(ctx.actor, params.id, {
          allowedRuntimes: body.allowed_runtimes,
          maxDepth: body.max_depth,
          maxChildren: body.max_children,
          maxGoals: body.max_goals,
          defaultParallelism: body.default_parallelism,
        });
        return { status: 200, body: serializeAgent(agent) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/agents/{id}',
      operationId: 'deleteAgent',
      summary: 'Delete an agent nothing refers to',
      description:
        "409, naming why and what would free it: an agent that has goals is kept for good (goals are never deleted); workflows and schedules that refer to it must be deleted and its live tokens revoked first; a user's only agent is kept.",
      tags: ['agents'],
      scope: 'admin',
      params: ZAgentIdParams,
      responses: { 204: { description: 'Deleted.' } },
      errors: ['NOT_FOUND', 'CONFLICT'],
      handler: async ({ params, ctx }) => {
        await deps.agents.deleteAgent(ctx.actor, params.id);
        return { status: 204, body: undefined };
      },
    }),
  ];
}
