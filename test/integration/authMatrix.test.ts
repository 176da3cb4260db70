import type { TConfig } from '../../src/config';
import type { PrismaClient } from '../../src/db/client';
import type { TScope } from '../../src/domain/scopes';
import { setupClient, testActors, uniqueName as unique, type TActors } from '../support/actors';
import { http, startTestApi, startTestWorker, testConfig, testPrisma, uniqueTaskQueue } from '../support/env';

/**
 * Every route, four ways (issue 10): no token → 401, a token without the
 * route's scope → 403, another user's token on an existing object → 404
 * (never 403: ids don't leak), the owner's token → 2xx. The table below must
 * name every route the app registers, so a new route fails here until it is
 * in the matrix.
 */

type TJson = any;

let prisma: PrismaClient;
let config: TConfig;
let worker: Awaited<ReturnType<typeof startTestWorker>>;
let api: Awaited<ReturnType<typeof startTestApi>>;
const taskQueue = uniqueTaskQueue('authmatrix');
let actors: TActors;

beforeAll(async () => {
  prisma = testPrisma();
  config = testConfig();
  worker = await startTestWorker(config, prisma, taskQueue);
  api = await startTestApi(prisma, taskQueue);
  actors = testActors(prisma, 'matrix');
});

afterAll(async () => {
  await api?.close();
  await worker?.stop();
  await prisma?.$disconnect();
});

const sh = (command: string) => ({ runtime: 'shell', command });

const { ok, goalUntil } = setupClient(() => api.url);

/** An accepted composite (one shell leaf), saved as a workflow. */
async function savedWorkflow(name = unique('matrix')): Promise<TJson> {
  const goal = await ok('POST', '/api/goals', { title: 'Matrix tree', plan: { children: [{ key: 'a', kind: 'leaf', title: 'A', action: sh('true') }] } });
  await goalUntil(goal.id, (g) => g.lifecycle === 'done', 'the tree to finish');
  return ok('POST', `/api/goals/${goal.id}/save-as-workflow`, { name });
}

async function schedule(): Promise<TJson> {
  const wf = await savedWorkflow();
  return ok('POST', `/api/workflows/${wf.id}/schedules`, { spec: { every: '1h' }, paused: true });
}

/** What one route needs: its path params and body, made fresh for the owner's call. */
interface TCase {
  params?: Record<string, string>;
  query?: string;
  body?: unknown;
  /** The other user's body, where the owner's would collide with what the other made (a unique name). */
  otherBody?: unknown;
  /** The 2xx the owner's call answers. */
  status: number;
  /** For lists: the owner's object another user must not see. */
  hidden?: (body: TJson) => boolean;
}

const CASES: Record<string, () => Promise<TCase>> = {
  'post /api/goals': async () => ({ body: { title: 'Matrix draft', action: { runtime: 'manual' }, start: false }, status: 201 }),
  'get /api/goals': async () => {
    const g = await ok('POST', '/api/goals', { title: 'Matrix listed', action: { runtime: 'manual' }, start: false });
    return { status: 200, query: 'limit=200', hidden: (b) => b.items.some((x: TJson) => x.id === g.id) };
  },
  'get /api/goals/{id}': async () => ({ params: { id: (await ok('POST', '/api/goals', { title: 'Matrix get', action: { runtime: 'manual' }, start: false })).id }, status: 200 }),
  'get /api/goals/{id}/tree': async () => ({ params: { id: (await ok('POST', '/api/goals', { title: 'Matrix tree get', action: { runtime: 'manual' }, start: false })).id }, status: 200 }),
  'post /api/goals/{id}/plan': async () => ({
    params: { id: (await ok('POST', '/api/goals', { title: 'Matrix plan', kind: 'composite', start: false })).id },
    body: { children: [{ key: 'a', kind: 'leaf', title: 'A', action: { runtime: 'manual' } }] },
    status: 200,
  }),
  'post /api/goals/{id}/start': async () => ({ params: { id: (await ok('POST', '/api/goals', { title: 'Matrix start', action: { runtime: 'manual' }, start: false })).id }, status: 200 }),
  'post /api/goals/{id}/cancel': async () => ({ params: { id: (await ok('POST', '/api/goals', { title: 'Matrix cancel', action: { runtime: 'manual' }, start: false })).id }, status: 200 }),
  'post /api/goals/{id}/complete': async () => {
    const g = await ok('POST', '/api/goals', { title: 'Matrix complete', action: { runtime: 'manual' } });
    await goalUntil(g.id, (x) => x.waiting_for === 'completion', 'the manual leaf to wait');
    return { params: { id: g.id }, body: { outcome: 'succeeded' }, status: 200 };
  },
  'post /api/goals/{id}/accept': async () => {
    const g = await ok('POST', '/api/goals', { title: 'Matrix accept', action: sh('true'), acceptance: { judgment: { prompt: 'OK?' } } });
    await goalUntil(g.id, (x) => x.waiting_for === 'judgment', 'the judgment');
    return { params: { id: g.id }, status: 200 };
  },
  'post /api/goals/{id}/reject': async () => {
    const g = await ok('POST', '/api/goals', { title: 'Matrix reject', action: sh('true'), acceptance: { judgment: { prompt: 'OK?' } } });
    await goalUntil(g.id, (x) => x.waiting_for === 'judgment', 'the judgment');
    return { params: { id: g.id }, body: { reason: 'not good enough' }, status: 200 };
  },
  'post /api/goals/{id}/claim': async () => {
    const g = await ok('POST', '/api/goals', { title: 'Matrix claim', action: { runtime: 'agent', task: 'look' } });
    await goalUntil(g.id, (x) => x.waiting_for === 'agent', 'the agent pool');
    return { params: { id: g.id }, body: { worker: 'matrix-agent' }, status: 200 };
  },
  'post /api/goals/{id}/save-as-workflow': async () => {
    const goal = await ok('POST', '/api/goals', { title: 'Matrix save', plan: { children: [{ key: 'a', kind: 'leaf', title: 'A', action: sh('true') }] } });
    await goalUntil(goal.id, (g) => g.lifecycle === 'done', 'the tree to finish');
    return { params: { id: goal.id }, body: { name: unique('matrix-save') }, status: 201 };
  },
  'get /api/workflows': async () => {
    const wf = await savedWorkflow();
    return { status: 200, query: 'limit=200', hidden: (b) => b.items.some((x: TJson) => x.id === wf.id) };
  },
  'get /api/workflows/{id}': async () => ({ params: { id: (await savedWorkflow()).id }, status: 200 }),
  'delete /api/workflows/{id}': async () => ({ params: { id: (await savedWorkflow()).id }, status: 204 }),
  'get /api/workflows/{id}/diff': async () => {
    const a = await savedWorkflow();
    const b = await savedWorkflow(a.name);
    return { params: { id: b.id }, query: `against=${a.id}`, status: 200 };
  },
  'get /api/workflows/{id}/runs': async () => ({ params: { id: (await savedWorkflow()).id }, status: 200 }),
  'post /api/workflows/{id}/runs': async () => ({ params: { id: (await savedWorkflow()).id }, body: { idempotency_key: unique('key') }, status: 201 }),
  'get /api/runs/{id}': async () => {
    const wf = await savedWorkflow();
    const run = await ok('POST', `/api/workflows/${wf.id}/runs`, { idempotency_key: unique('key') });
    return { params: { id: run.run.id }, status: 200 };
  },
  'post /api/workflows/{id}/schedules': async () => ({ params: { id: (await savedWorkflow()).id }, body: { spec: { every: '1h' }, paused: true }, status: 201 }),
  'get /api/schedules': async () => {
    const s = await schedule();
    return { status: 200, query: 'limit=100', hidden: (b) => b.items.some((x: TJson) => x.id === s.id) };
  },
  'get /api/schedules/{id}': async () => ({ params: { id: (await schedule()).id }, status: 200 }),
  'patch /api/schedules/{id}': async () => ({ params: { id: (await schedule()).id }, body: { note: 'still paused' }, status: 200 }),
  'post /api/schedules/{id}/backfill': async () => ({
    params: { id: (await schedule()).id },
    body: { start: new Date(Date.now() - 3 * 3600_000).toISOString(), end: new Date(Date.now() - 2.5 * 3600_000).toISOString() },
    status: 200,
  }),
  // Nothing of anyone's: the other user may preview too.
  'post /api/schedules/preview': async () => ({ body: { spec: { every: '1h' }, count: 2 }, status: 200 }),
  'post /api/schedules/{id}/trigger': async () => ({ params: { id: (await schedule()).id }, status: 200 }),
  'delete /api/schedules/{id}': async () => ({ params: { id: (await schedule()).id }, status: 204 }),
  'post /api/tokens': async () => ({ body: { name: 'matrix', scopes: ['goals:read'] }, status: 201 }),
  'get /api/tokens': async () => {
    const t = await ok('POST', '/api/tokens', { name: 'matrix listed', scopes: ['goals:read'] });
    return { status: 200, query: 'limit=200', hidden: (b) => b.items.some((x: TJson) => x.id === t.token.id) };
  },
  'get /api/tokens/{id}': async () => ({ params: { id: (await ok('POST', '/api/tokens', { name: 'matrix get', scopes: ['goals:read'] })).token.id }, status: 200 }),
  'delete /api/tokens/{id}': async () => ({ params: { id: (await ok('POST', '/api/tokens', { name: 'matrix revoke', scopes: ['goals:read'] })).token.id }, status: 200 }),
  // Agent names are unique across users: the other user creates one of its own name.
  'post /api/agents': async () => ({ body: { name: unique('matrix-agent') }, otherBody: { name: unique('other-agent') }, status: 201 }),
  'get /api/agents': async () => {
    const a = await ok('POST', '/api/agents', { name: unique('matrix-listed') });
    return { status: 200, query: 'limit=200', hidden: (b) => b.items.some((x: TJson) => x.id === a.id) };
  },
  'get /api/agents/{id}': async () => ({ params: { id: (await ok('POST', '/api/agents', { name: unique('matrix-get') })).id }, status: 200 }),
  'patch /api/agents/{id}': async () => ({ params: { id: (await ok('POST', '/api/agents', { name: unique('matrix-patch') })).id }, body: { max_depth: 4 }, status: 200 }),
  'delete /api/agents/{id}': async () => ({ params: { id: (await ok('POST', '/api/agents', { name: unique('matrix-delete') })).id }, status: 204 }),
};

describe('every route: 401, 403, 404, 2xx', () => {
  it('the matrix names every route the app registers', () => {
    const registered = api.routes.filter((r) => r.scope !== 'public').map((r) => `${r.method} ${r.path}`);
    expect(registered.sort()).toEqual(Object.keys(CASES).sort());
    // Public routes: no token needed, and nothing of anyone's in them.
    expect(api.routes.filter((r) => r.scope === 'public').map((r) => r.path).sort()).toEqual(['/api/openapi.json', '/healthz']);
  });

  it('the OpenAPI document lists exactly these routes, each with the scope it enforces (the cases below refuse a token lacking it)', async () => {
    const doc = (await http('GET', `${api.url}/api/openapi.json`)).body;
    const documented: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, TJson>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const route = api.routes.find((r) => r.method === method && r.path === path);
        expect([method, path, route !== undefined]).toEqual([method, path, true]);
        if (route!.scope === 'public') {
          expect([path, op.security]).toEqual([path, []]);
          continue;
        }
        documented.push(`${method} ${path}`);
        expect([path, op.security]).toEqual([path, [{ bearerAuth: [] }]]);
        expect([path, op.description]).toEqual([path, expect.stringContaining(`Needs a bearer token with scope \`${route!.scope}\``)]);
      }
    }
    expect(documented.sort()).toEqual(Object.keys(CASES).sort());
  });

  const routes = () => api.routes.filter((r) => r.scope !== 'public');
  // One test per route, so a failure names it.
  it.each(Object.keys(CASES))('%s', async (key) => {
    const route = routes().find((r) => `${r.method} ${r.path}` === key)!;
    expect(route).toBeDefined();
    const c = await CASES[key]!();
    const path = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => c.params?.[name] ?? '');
    const url = `${api.url}${path}${c.query ? `?${c.query}` : ''}`;
    const method = route.method.toUpperCase();

    const none = await http(method, url, c.body, { authorization: '' });
    expect([none.status, none.body?.error?.code]).toEqual([401, 'UNAUTHENTICATED']);
    const bogus = await http(method, url, c.body, { authorization: 'Bearer rpr_' + 'x'.repeat(43) });
    expect([bogus.status, bogus.body?.error?.code]).toEqual([401, 'UNAUTHENTICATED']);

    const forbidden = await http(method, url, c.body, { authorization: `Bearer ${await actors.withoutScope(route.scope as TScope)}` });
    expect([forbidden.status, forbidden.body?.error?.code]).toEqual([403, 'FORBIDDEN']);
    expect(forbidden.body.error.message).toContain(route.scope);

    const other = await http(method, url, c.otherBody ?? c.body, { authorization: `Bearer ${await actors.otherUser()}` });
    if (c.params) {
      expect([other.status, other.body?.error?.code]).toEqual([404, 'NOT_FOUND']);
    } else if (c.hidden) {
      expect(other.status).toBe(200);
      expect(c.hidden(other.body)).toBe(false);
    } else {
      // A create without a referenced object: the other user may, and it is theirs.
      expect(other.status).toBe(c.status);
    }

    const mine = await http(method, url, c.body);
    expect([mine.status, mine.status >= 300 ? mine.body : 'ok']).toEqual([c.status, 'ok']);
    if (c.hidden) expect(c.hidden(mine.body)).toBe(true);
  });
});
