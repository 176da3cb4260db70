import type { TTokenService } from '../../services/tokens';
import { defineRoute, type TAnyRoute } from '../route';
import { ZToken, ZTokenCreate, ZTokenCreated, ZTokenIdParams, ZTokenList, ZTokenListQuery } from './schemas';
import { serializeToken } from './serializers';

/** Token management (SPEC §6): admin scope only. A caller sees its user's tokens and its agents'. */
export function tokenRoutes(deps: { tokens: TTokenService }): TAnyRoute[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/tokens',
      operationId: 'createToken',
      summary: 'Create a bearer token for you or one of your agents',
      description: 'The response carries the secret once; only its sha256 is stored. An agent token (`agent_id`) may not have `admin` (400): admin changes agents\' runtimes, so an agent holding it could grant itself shell; agents are managed by their user.',
      tags: ['tokens'],
      scope: 'admin',
      body: ZTokenCreate,
      responses: { 201: { description: 'The token and its secret.', schema: ZTokenCreated } },
      errors: ['NOT_FOUND'],
      handler: async ({ body, ctx }) => {
        const minted = await deps.tokens.createToken(ctx.actor, {
          name: body.name,
          scopes: body.scopes,
          agentId: body.agent_id,
          expiresAt: body.expires_at ? new Date(body.expires_at) : null,
        });
        return { status: 201, body: { token: serializeToken(minted.token), secret: minted.secret } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/tokens',
      operationId: 'listTokens',
      summary: 'List tokens, newest first (revoked ones included)',
      tags: ['tokens'],
      scope: 'admin',
      query: ZTokenListQuery,
      responses: { 200: { description: 'One page; pass `next_cursor` as `cursor` for the next.', schema: ZTokenList } },
      handler: async ({ query, ctx }) => {
        const page = await deps.tokens.listTokens(ctx.actor, query);
        return { status: 200, body: { items: page.items.map(serializeToken), next_cursor: page.nextCursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/tokens/{id}',
      operationId: 'getToken',
      summary: 'Get a token (never its secret)',
      tags: ['tokens'],
      scope: 'admin',
      params: ZTokenIdParams,
      responses: { 200: { description: 'The token.', schema: ZToken } },
      errors: ['NOT_FOUND'],
      handler: async ({ params, ctx }) => ({ status: 200, body: serializeToken(await deps.tokens.getToken(ctx.actor, params.id)) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/api/tokens/{id}',
      operationId: 'revokeToken',
      summary: 'Revoke a token',
      description: 'It stops working at once. Revoking a revoked token answers the same (idempotent by design).',
      tags: ['tokens'],
      scope: 'admin',
      params: ZTokenIdParams,
      responses: { 200: { description: 'The revoked token.', schema: ZToken } },
      errors: ['NOT_FOUND'],
      handler: async ({ params, ctx }) => ({ status: 200, body: serializeToken(await deps.tokens.revokeToken(ctx.actor, params.id)) }),
    }),
  ];
}
