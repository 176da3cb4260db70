import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { type Router, type Request } from 'express';
import type { ZodObject, ZodType } from 'zod';
import { DomainError, ERROR_CODES, type TErrorCode } from '../domain/errors';
import { ZErrorBody, validationDetails } from './errors';
import { grants, type TScope } from '../domain/scopes';
import type { TActor } from '../domain/actor';

/**
 * One route, defined once: its zod schemas validate the request, describe
 * the response, and produce the OpenAPI document. Handlers receive parsed
 * values and never see Express; the response body is parsed through the
 * documented schema, so undocumented fields never leak.
 */

export interface TRequestContext {
  /** Who the request acts for (from its bearer token). Public routes have none: reading it throws. */
  actor: TActor;
  /** The scopes of the caller's token (none on public routes). */
  scopes: readonly string[];
  requestId: string;
  /** The request's `If-None-Match` (a conditional read): a route that can tell cheaply that nothing changed answers 304. */
  ifNoneMatch?: string;
}

/** What a bearer token says of its caller. */
export interface TCaller {
  actor: TActor;
  scopes: readonly string[];
}

/** A route's access: the scope its token needs, or `public` (no token: health, the API's own document). */
export type TRouteAccess = TScope | 'public';

export interface TRouteResponse {
  description: string;
  schema?: ZodType;
}

export interface TRouteDef<P extends ZodObject | undefined, Q extends ZodObject | undefined, B extends ZodType | undefined> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI-style path: /api/goals/{id} */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** The scope a caller's token needs (SPEC §6), or `public`. Every route says which. */
  scope: TRouteAccess;
  params?: P;
  query?: Q;
  body?: B;
  responses: Record<number, TRouteResponse>;
  /** Error codes this route can answer with (documented as responses). */
  errors?: TErrorCode[];
  handler: (input: {
    params: P extends ZodObject ? P['_output'] : undefined;
    query: Q extends ZodObject ? Q['_output'] : undefined;
    body: B extends ZodType ? B['_output'] : undefined;
    ctx: TRequestContext;
  }) => Promise<{ status: number; body?: unknown; etag?: string }>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- routes of differing params/query/body types in one list
export type TAnyRoute = TRouteDef<any, any, any>;

export function defineRoute<P extends ZodObject | undefined = undefined, Q extends ZodObject | undefined = undefined, B extends ZodType | undefined = undefined>(
  def: TRouteDef<P, Q, B>,
): TRouteDef<P, Q, B> {
  return def;
}

/** `/api/goals/{id}` → `/api/goals/:id` */
export function expressPath(openapiPath: string): string {
  return openapiPath.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

function parsePart<T extends ZodType>(schema: T | undefined, value: unknown, part: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new DomainError('VALIDATION_FAILED', `invalid request ${part}: ${result.error.issues.map((i) => `${[part, ...i.path].join('.')}: ${i.message}`).join('; ')}`, validationDetails(result.error, part));
  }
  return result.data;
}

const STANDARD_ERRORS: TErrorCode[] = ['VALIDATION_FAILED', 'INTERNAL'];
const AUTH_ERRORS: TErrorCode[] = ['UNAUTHENTICATED', 'FORBIDDEN'];

/** The OpenAPI security scheme every non-public route names. */
export const BEARER_SCHEME = 'bearerAuth';

function publicContext(requestId: string): TRequestContext {
  return Object.defineProperty({ requestId, scopes: [] } as unknown as TRequestContext, 'actor', {
    get() {
      throw new Error('a public route has no actor');
    },
  });
}

export function registerRoute(registry: OpenAPIRegistry, router: Router, route: TAnyRoute, authenticate: (req: Request) => Promise<TCaller>): void {
  const responses: Record<string, { description: string; content?: { 'application/json': { schema: ZodType } } }> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    responses[status] = r.schema ? { description: r.description, content: { 'application/json': { schema: r.schema } } } : { description: r.description };
  }
  const isPublic = route.scope === 'public';
  for (const code of [...STANDARD_ERRORS, ...(isPublic ? [] : AUTH_ERRORS), ...(route.errors ?? [])]) {
    const status = String(ERROR_CODES[code]);
    const existing = responses[status];
    if (!existing) responses[status] = { description: `Error: ${code}`, content: { 'application/json': { schema: ZErrorBody } } };
    else if (!existing.description.includes(code)) existing.description += `, ${code}`;
  }
  registry.registerPath({
    method: route.method,
    path: route.path,
    operationId: route.operationId,
    summary: route.summary,
    description: [route.description, isPublic ? 'No token needed.' : `Needs a bearer token with scope \`${route.scope}\` (or \`admin\`).`].filter(Boolean).join('\n\n'),
    tags: route.tags,
    ...(isPublic ? { security: [] } : { security: [{ [BEARER_SCHEME]: [] }] }),
    request: {
      ...(route.params ? { params: route.params } : {}),
      ...(route.query ? { query: route.query } : {}),
      ...(route.body ? { body: { required: true, content: { 'application/json': { schema: route.body } } } } : {}),
    },
    responses: responses as RouteConfig['responses'],
  });

  router[route.method](expressPath(route.path), async (req, res) => {
    const requestId = String((req as { id?: unknown }).id ?? '');
    let ctx: TRequestContext = publicContext(requestId);
    const ifNoneMatch = typeof req.headers['if-none-match'] === 'string' ? req.headers['if-none-match'] : undefined;
    // Who first (401), then may they (403), then what they asked (400/404).
    if (route.scope !== 'public') {
      // Normally the app's auth middleware already knows (before the body was read).
      const caller = (res.locals.caller as TCaller | undefined) ?? (await authenticate(req));
      if (!grants(caller.scopes, route.scope)) {
        throw new DomainError('FORBIDDEN', `this token lacks the scope ${route.scope} (it has: ${caller.scopes.join(', ') || 'none'})`);
      }
      ctx = { actor: caller.actor, scopes: caller.scopes, requestId, ifNoneMatch };
    }
    const params = parsePart(route.params, req.params, 'params');
    const query = parsePart(route.query, req.query, 'query');
    // No body at all reads as `{}`: a route whose body is all optional needs none.
    const body = parsePart(route.body, req.body ?? {}, 'body');
    const result = await route.handler({ params, query, body, ctx } as Parameters<TAnyRoute['handler']>[0]);
    // A route's own validator replaces Express's (a hash of the body): Express still answers 304 when it matches.
    if (result.etag) res.setHeader('etag', result.etag);
    if (result.status === 204 || result.status === 304) {
      res.status(result.status).end();
      return;
    }
    const schema = route.responses[result.status]?.schema;
    res.status(result.status).json(schema ? schema.parse(result.body) : result.body);
  });
}
