import { compileErrors, validate } from '@readme/openapi-parser';
import type { PrismaClient } from '../../src/db/client';
import { http, startTestApi, testPrisma, uniqueTaskQueue } from '../support/env';

type TJson = any;

/** Every route Express serves is in the OpenAPI document, and nothing else is. */
describe('GET /api/openapi.json', () => {
  let prisma: PrismaClient;
  let api: Awaited<ReturnType<typeof startTestApi>>;
  beforeAll(async () => {
    prisma = testPrisma();
    api = await startTestApi(prisma, uniqueTaskQueue('openapi'));
  });
  afterAll(async () => {
    await api.close();
    await prisma.$disconnect();
  });

  function expressRoutes(): string[] {
    // Express 5 keeps the app's router on app.router; ours is one nested Router.
    const stack = (api.app as unknown as { router: { stack: Layer[] } }).router.stack;
    const out: string[] = [];
    const walk = (layers: Layer[]) => {
      for (const layer of layers) {
        if (layer.route) {
          for (const method of Object.keys(layer.route.methods)) out.push(`${method} ${layer.route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
        } else if (layer.handle?.stack) {
          walk(layer.handle.stack);
        }
      }
    };
    walk(stack);
    return out.sort();
  }
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
  }

  it('documents exactly the routes the app serves', async () => {
    const res = await http('GET', `${api.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const documented = Object.entries(res.body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`))
      .sort();
    expect(expressRoutes().length).toBeGreaterThanOrEqual(4);
    expect(documented).toEqual(expressRoutes());
  });

  it('describes request bodies, responses and error bodies from the zod schemas', async () => {
    const doc = (await http('GET', `${api.url}/api/openapi.json`)).body;
    const create = doc.paths['/api/goals'].post;
    expect(create.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/GoalCreate');
    expect(create.responses['201'].content['application/json'].schema.$ref).toBe('#/components/schemas/Goal');
    expect(create.responses['400'].description).toMatch(/VALIDATION_FAILED.*MALFORMED_JSON/);
    expect(doc.components.schemas.Error.properties.error.required).toEqual(expect.arrayContaining(['code', 'message']));
    expect(doc.paths['/api/goals/{id}'].get.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true });
  });

  it('says which routes need a bearer token and with which scope', async () => {
    const doc = (await http('GET', `${api.url}/api/openapi.json`)).body;
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const ops = Object.entries(doc.paths as Record<string, Record<string, TJson>>).flatMap(([p, byMethod]) => Object.entries(byMethod).map(([m, op]) => ({ key: `${m} ${p}`, op })));
    for (const { key, op } of ops) {
      if (key === 'get /healthz' || key === 'get /api/openapi.json') {
        expect([key, op.security]).toEqual([key, []]);
        continue;
      }
      expect([key, op.security]).toEqual([key, [{ bearerAuth: [] }]]);
      expect([key, op.description]).toEqual([key, expect.stringMatching(/Needs a bearer token with scope `[a-z:]+`/)]);
      expect([key, op.responses['401']?.description, op.responses['403']?.description]).toEqual([key, expect.stringContaining('UNAUTHENTICATED'), expect.stringContaining('FORBIDDEN')]);
    }
    expect(doc.paths['/api/goals/{id}/save-as-workflow'].post.description).toContain('`workflows:write`');
  });

  it('passes an independent OpenAPI 3.1 validator (@readme/openapi-parser)', async () => {
    const doc = (await http('GET', `${api.url}/api/openapi.json`)).body;
    const result = await validate(structuredClone(doc));
    expect(result.valid ? [] : compileErrors(result)).toEqual([]);
    // The validator does refuse a broken document (a response without its required description).
    const broken = structuredClone(doc);
    delete broken.paths['/api/goals'].post.responses['201'].description;
    expect((await validate(broken)).valid).toBe(false);
  });

  it('renders the document at /api/docs, offline (no CDN)', async () => {
    const page = await fetch(`${api.url}/api/docs`);
    const html = await page.text();
    expect([page.status, page.headers.get('content-type')]).toEqual([200, expect.stringMatching(/^text\/html/)]);
    expect(html).not.toMatch(/https?:\/\//);
    const init = await (await fetch(`${api.url}/api/docs/init.js`)).text();
    expect(init).toContain("url: '/api/openapi.json'");
    for (const asset of html.match(/\/api\/docs\/assets\/[\w.-]+/g) ?? []) {
      const res = await fetch(`${api.url}${asset}`);
      expect([asset, res.status]).toEqual([asset, 200]);
    }
  });
});
