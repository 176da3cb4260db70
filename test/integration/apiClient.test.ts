import { ApiError, createApiClient } from '../../src/client/http';
import type { PrismaClient } from '../../src/db/client';
import { startTestApi, testPrisma, uniqueTaskQueue } from '../support/env';

/**
 * The typed client (src/client/http.ts, on types generated from the OpenAPI
 * document) against the real API: what it sends and what it reads are the
 * documented shapes, checked by tsc here and by the server at run time.
 */

let prisma: PrismaClient;
let api: Awaited<ReturnType<typeof startTestApi>>;

beforeAll(async () => {
  prisma = testPrisma();
  api = await startTestApi(prisma, uniqueTaskQueue('client'));
});

afterAll(async () => {
  await api?.close();
  await prisma?.$disconnect();
});

describe('the typed API client', () => {
  it('creates, reads and lists with documented types', async () => {
    const client = createApiClient({ baseUrl: api.url, token: api.token });
    const created = await client.call('post', '/api/goals', { body: { title: 'Typed', start: false, kind: 'leaf', action: { runtime: 'manual' } } });
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    const got = await client.call('get', '/api/goals/{id}', { params: { id } });
    expect([got.body.title, got.body.lifecycle]).toEqual(['Typed', 'draft']);
    // Other files' tests write goals of the same owner meanwhile: a narrow, long page still holds this one.
    const page = await client.call('get', '/api/goals', { query: { limit: 200, lifecycle: 'draft', root_only: 'true' } });
    expect(page.body.items.map((g) => g.id)).toContain(id);
    const workflows = await client.call('get', '/api/workflows', { query: { limit: 5 } });
    expect(Array.isArray(workflows.body.items)).toBe(true);
  });

  it('raises the API error with its code and message', async () => {
    const client = createApiClient({ baseUrl: api.url, token: api.token });
    await expect(client.call('get', '/api/goals/{id}', { params: { id: 'goal_01jd3v8k2m7q9x4w5y6z7a8b9c' } })).rejects.toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
      message: 'goal goal_01jd3v8k2m7q9x4w5y6z7a8b9c not found',
    });
    await expect(client.call('get', '/api/goals', { query: { limit: 0 } })).rejects.toBeInstanceOf(ApiError);
    await expect(createApiClient({ baseUrl: api.url }).call('get', '/api/goals', {})).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });
});
