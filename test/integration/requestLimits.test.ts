import type { PrismaClient } from '../../src/db/client';
import { authFor, http as call, startTestApi, testPrisma, uniqueTaskQueue } from '../support/env';

/**
 * Hostile input found by a hostile run against the API: bodies that are not
 * JSON, numbers JavaScript reads too kindly, and inputs whose error would be
 * far larger than the request. Each is a small 4xx naming the problem.
 */

let prisma: PrismaClient;
let api: Awaited<ReturnType<typeof startTestApi>>;

beforeAll(async () => {
  prisma = testPrisma();
  api = await startTestApi(prisma, uniqueTaskQueue('limits'));
});

afterAll(async () => {
  await api?.close();
  await prisma?.$disconnect();
});

async function raw(body: string, contentType: string | undefined) {
  const res = await fetch(`${api.url}/api/goals`, { method: 'POST', headers: { ...authFor(api.url), ...(contentType ? { 'content-type': contentType } : {}) }, body });
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
}

describe('request limits', () => {
  it.each([
    ['text/plain', '{"title": "x", "action": {"runtime": "manual"}}'],
    ['application/x-www-form-urlencoded', 'title=x'],
    ['multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nx\r\n--b--'],
    [undefined, '{"title": "x"}'],
  ])('answers a %s body with 415 naming the type expected', async (type, body) => {
    const res = await raw(body, type);
    expect([res.status, res.body.error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect(res.body.error.message).toMatch(/must be JSON \(Content-Type: application\/json\)/);
  });

  // Express routes /API/goals to /api/goals, so the token is checked first there too: a malformed body
  // unauthenticated is a 401, never a parse error (which would mean it was read and parsed).
  it.each(['/api/goals', '/API/goals', '/Api/Goals', '/API/GOALS/'])('answers an unauthenticated POST %s with 401 before parsing its body', async (path) => {
    const res = await fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title": ' });
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('routes /API/goals like /api/goals for a caller with a token', async () => {
    const res = await fetch(`${api.url}/API/goals`, { method: 'POST', headers: { ...authFor(api.url), 'content-type': 'application/json' }, body: '{"title": ' });
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([400, 'MALFORMED_JSON']);
  });

  it('takes application/json with a charset, and vendor +json types', async () => {
    expect((await raw('{"title": "x", "start": false, "action": {"runtime": "manual"}}', 'application/json; charset=utf-8')).status).toBe(201);
    expect((await raw('{"title": "x", "start": false, "action": {"runtime": "manual"}}', 'application/vnd.reprise+json')).status).toBe(201);
  });

  it.each([['2e2'], ['0x10'], ['5.0'], [' 5'], ['0'], ['201'], ['-1']])('refuses limit=%s', async (limit) => {
    const res = await call('GET', `${api.url}/api/goals?limit=${encodeURIComponent(limit)}`);
    expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(res.body.error.message).toMatch(/limit/);
  });

  it('takes a plain limit on every list', async () => {
    for (const path of ['/api/goals', '/api/workflows', '/api/schedules']) {
      expect([path, (await call('GET', `${api.url}${path}?limit=5`)).status]).toEqual([path, 200]);
      expect([path, (await call('GET', `${api.url}${path}?limit=1e1`)).status]).toEqual([path, 400]);
    }
  });

  it('keeps errors small however many problems the input has', async () => {
    const env = Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`${i}bad name`, 'x']));
    const manyEnv = await call('POST', `${api.url}/api/goals`, { title: 'x', action: { runtime: 'shell', command: 'true', env } });
    expect([manyEnv.status, manyEnv.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(JSON.stringify(manyEnv.body).length).toBeLessThan(20_000);
    expect(manyEnv.body.error.details.length).toBeLessThanOrEqual(51);

    const key = 'k'.repeat(100);
    const edges = Array.from({ length: 4300 }, () => ({ from: key, to: key }));
    const selfEdges = await call('POST', `${api.url}/api/goals`, { title: 'x', plan: { children: [{ key: 'a', kind: 'leaf', title: 'a', action: { runtime: 'manual' } }], edges } });
    expect(selfEdges.status).toBe(400);
    expect(JSON.stringify(selfEdges.body).length).toBeLessThan(20_000);
    expect(selfEdges.body.error.details.at(-1)).toEqual({ path: '', message: expect.stringMatching(/^and \d+ more problems$/) });
  });

  it('lets exactly one of 20 concurrent cancels of a draft goal win; the others are 409', async () => {
    const draft = await call('POST', `${api.url}/api/goals`, { title: 'Cancel race', start: false, plan: { children: [{ key: 'a', kind: 'leaf', title: 'a', action: { runtime: 'manual' } }] } });
    const results = await Promise.all(Array.from({ length: 20 }, () => call('POST', `${api.url}/api/goals/${draft.body.id}/cancel`)));
    const statuses = results.map((r) => r.status).sort((a, b) => a - b);
    expect(statuses).toEqual([200, ...Array(19).fill(409)]);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'GOAL_ENDED')).toBe(true);
    expect((await call('GET', `${api.url}/api/goals/${draft.body.id}`)).body.lifecycle).toBe('cancelled');
  });

  it('lists summaries: no action or output in a page, the whole goal one GET away', async () => {
    const big = 'x'.repeat(200_000);
    const created = await call('POST', `${api.url}/api/goals`, { title: 'Big action', start: false, action: { runtime: 'shell', command: 'true', env: { BIG: big.slice(0, 16_000) } } });
    const page = await call('GET', `${api.url}/api/goals?limit=5`);
    const item = page.body.items.find((g: { id: string }) => g.id === created.body.id);
    expect(item).toBeDefined();
    expect(['action' in item, 'output' in item, 'acceptance' in item]).toEqual([false, false, false]);
    expect((await call('GET', `${api.url}/api/goals/${created.body.id}`)).body.action.env.BIG).toHaveLength(16_000);
  });
});
