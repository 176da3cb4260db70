import { randomUUID } from 'node:crypto';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { Client } from '@temporalio/client';
import express, { Router, type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { PrismaClient } from '../db/client';
import type { Logger } from '../logger';
import type { TEngineTuning } from '../domain/execution';
import type { TScheduleLimits } from '../domain/schedules';
import { z } from '../domain/zod';
import { createGoalService } from '../services/goals';
import { errorHandler, notFoundHandler } from './errors';
import { goalRoutes } from './goals/routes';
import { workflowRoutes } from './workflows/routes';
import { runRoutes } from './runs/routes';
import { scheduleRoutes } from './schedules/routes';
import { createScheduleService } from '../services/schedules';
import { createWorkflowService } from '../services/workflows';
import { createRunService } from '../services/runs';
import type { TTemporalUi } from './goals/serializers';
import { healthRoutes } from './health/routes';
import { tokenRoutes } from './tokens/routes';
import { agentRoutes } from './agents/routes';
import { createAgentService } from '../services/agents';
import { createTokenService } from '../services/tokens';
import { docsRouter } from './docs';
import { webRouter } from './web';
import { inputGuard, jsonOnly } from './inputGuard';
import { gzipResponses } from './compression';
import { BEARER_SCHEME, defineRoute, registerRoute, type TAnyRoute, type TCaller } from './route';

export interface TApiDeps {
  prisma: PrismaClient;
  temporal: Client;
  logger: Logger;
  taskQueue: string;
  bodyLimit: string;
  temporalUi: TTemporalUi;
  engine?: TEngineTuning;
  /** LEAF_DEFAULT_TIMEOUT_S: how root leaves without `timeout_s` started here are timed. */
  leafDefaultTimeoutS?: number;
  /** The catch-up window of a schedule created without one (SCHEDULE_CATCHUP_WINDOW). */
  scheduleCatchupWindow?: string;
  /** Schedule quotas (SCHEDULE_MAX_PER_OWNER, SCHEDULE_MIN_INTERVAL, SCHEDULE_BACKFILL_MAX_FIRES); default DEFAULT_SCHEDULE_LIMITS. */
  scheduleLimits?: TScheduleLimits;
  /** Where the built web UI is (default web/dist); src/api/web.ts serves it at `/`. */
  webDir?: string;
  /** Tests only: runs stop right after their claim, as a crash between claim and start would. */
  crashAfterClaim?: () => boolean;
}

export interface TApp {
  app: Express;
  routes: TAnyRoute[];
  openapi: () => object;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

export function createApp(deps: TApiDeps): TApp {
  const registry = new OpenAPIRegistry();
  const goals = createGoalService({ prisma: deps.prisma, temporal: deps.temporal, taskQueue: deps.taskQueue, engine: deps.engine, leafDefaultTimeoutS: deps.leafDefaultTimeoutS });
  const workflows = createWorkflowService({ prisma: deps.prisma, temporal: deps.temporal });
  const tokens = createTokenService({ prisma: deps.prisma });
  registry.registerComponent('securitySchemes', BEARER_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'A Reprise token (`rpr_…`): `npm start` writes a local admin one to `.data/local-admin-token.json`; `reprise token create` makes more.',
  });
  const authenticate = async (req: express.Request): Promise<TCaller> => tokens.authenticate(req.headers.authorization);
  const runs = createRunService({ prisma: deps.prisma, temporal: deps.temporal, taskQueue: deps.taskQueue, engine: deps.engine, crashAfterClaim: deps.crashAfterClaim });

  let document: object | undefined;
  const openapi = (): object =>
    (document ??= new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: {
        title: 'Reprise API',
        version: '0.1.0',
        description: 'Goal trees run durably on Temporal, saved as versioned, reusable workflows.',
      },
    }));

  const routes: TAnyRoute[] = [
    ...healthRoutes(deps),
    ...goalRoutes({ goals, temporalUi: deps.temporalUi }),
    ...workflowRoutes({ workflows }),
    ...runRoutes({ runs, temporalUi: deps.temporalUi }),
    ...tokenRoutes({ tokens }),
    ...agentRoutes({ agents: createAgentService({ prisma: deps.prisma }) }),
    ...scheduleRoutes({ schedules: createScheduleService({ prisma: deps.prisma, temporal: deps.temporal, taskQueue: deps.taskQueue, engine: deps.engine, catchupWindow: deps.scheduleCatchupWindow, limits: deps.scheduleLimits }), temporalUi: deps.temporalUi }),
    defineRoute({
      method: 'get',
      path: '/api/openapi.json',
      operationId: 'getOpenApi',
      summary: 'This API as an OpenAPI 3.1 document',
      tags: ['meta'],
      scope: 'public',
      responses: { 200: { description: 'The OpenAPI document.', schema: z.record(z.string(), z.unknown()) } },
      handler: async () => ({ status: 200, body: openapi() }),
    }),
  ];

  const router = Router();
  for (const route of routes) registerRoute(registry, router, route, authenticate);

  const app = express();
  app.disable('x-powered-by');
  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
      // Credentials never reach the logs.
      redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
    }),
  );
  // Big answers (a goal tree of thousands of goals, the UI's bundle) travel gzipped to clients that accept it.
  app.use(gzipResponses());
  // API answers hold users' titles and outputs: never kept in a shared or disk cache (after a sign-out on a
  // shared machine); `no-cache` still lets a client revalidate with an ETag (a goal tree's 304).
  app.use((req, res, next) => {
    if (req.path.toLowerCase().startsWith('/api/')) res.setHeader('cache-control', 'private, no-cache');
    next();
  });
  // Who is asking comes first: a request without a valid token is a 401 before its body is read or parsed.
  // Express matches routes case-insensitively (/API/goals reaches /api/goals), so this gate judges the
  // lower-cased path: a gate stricter in case than the router would let /API/… parse bodies unauthenticated.
  const publicApiPaths = new Set(routes.filter((r) => r.scope === 'public').map((r) => r.path.toLowerCase()));
  app.use(async (req, res, next) => {
    const path = req.path.toLowerCase();
    const isPublic = !path.startsWith('/api/') || publicApiPaths.has(path) || path === '/api/docs' || path.startsWith('/api/docs/');
    if (!isPublic) res.locals.caller = await authenticate(req);
    next();
  });
  app.use(jsonOnly);
  app.use(express.json({ limit: deps.bodyLimit, type: ['application/json', 'application/*+json'] }));
  app.use(inputGuard);
  app.use(docsRouter());
  app.use(router);
  app.use(webRouter(deps.webDir));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return { app, routes, openapi };
}
