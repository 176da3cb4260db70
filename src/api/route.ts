import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { type Router, type Request } from 'express';
import type { ZodObject, ZodType } from 'zod';
import { DomainError, ERROR_CODES, type TErrorCode } from '../domain/errors';
import { ZErrorBody, validationDetails } from './errors';
import type { TActor } from './actor';

/**
 * One route, defined once: its zod schemas validate the request, describe
 * the response, and produce the OpenAPI document. Handlers receive parsed
 * values and never see Express; the response body is parsed through the
 * documented schema, so undocumented fields never leak.
 */

export interface TRequestContext {
  actor: TActor;
  requestId: string;
}

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
  }) => Promise<{ status: number; body: unknown }>;
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

export function registerRoute(registry: OpenAPIRegistry, router: Router, route: TAnyRoute, actorOf: (req: Request) => TActor): void {
  const responses: Record<string, { description: string; content?: { 'application/json': { schema: ZodType } } }> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    responses[status] = r.schema ? { description: r.description, content: { 'application/json': { schema: r.schema } } } : { description: r.description };
  }
  for (const code of [...STANDARD_ERRORS, ...(route.errors ?? [])]) {
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
    description: route.description,
    tags: route.tags,
    request: {
      ...(route.params ? { params: route.params } : {}),
      ...(route.query ? { query: route.query } : {}),
      ...(route.body ? { body: { required: true, content: { 'application/json': { schema: route.body } } } } : {}),
    },
    responses: responses as RouteConfig['responses'],
  });

  router[route.method](expressPath(route.path), async (req, res) => {
    const params = parsePart(route.params, req.params, 'params');
    const query = parsePart(route.query, req.query, 'query');
    // No body at all reads as `{}`: a route whose body is all optional needs none.
    const body = parsePart(route.body, req.body ?? {}, 'body');
    const ctx: TRequestContext = { actor: actorOf(req), requestId: String((req as { id?: unknown }).id ?? '') };
    const result = await route.handler({ params, query, body, ctx } as Parameters<TAnyRoute['handler']>[0]);
    if (result.status === 204) {
      res.status(204).end();
      return;
    }
    const schema = route.responses[result.status]?.schema;
    res.status(result.status).json(schema ? schema.parse(result.body) : result.body);
  });
}
