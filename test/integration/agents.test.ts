import type { PrismaClient } from '../../src/db/client';
import { createTokenDirect } from '../../src/services/tokens';
import { http, startTestApi, testPrisma, uniqueTaskQueue } from '../support/env';

/**
 * Agents through the API (SPEC §1, §6): a user lists and reads its agents;
 * an admin token creates them, changes their runtimes and limits, and
 * deletes one nothing refers to (409 naming why otherwise). Scopes on every
 * route are in authMatrix.test.ts.
 */

type TJson = any;

let prisma: PrismaClient;
let api: Awaited<ReturnType<typeof startTestApi>>;
// No worker: nothing here runs (goals are created unstarted).
const taskQueue = uniqueTaskQueue('agents');
const unique = (name: string) => `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

beforeAll(async () => {
  prisma = testPrisma();
  api = await startTestApi(prisma, taskQueue);
});

afterAll(async () => {
  await api?.close();
  await prisma?.$disconnect();
});

const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => http(method, `${api.url}${path}`, body, headers);

describe('agents', () => {
  it('creates with defaults (no shell), lists, reads and updates; the name never changes', async () => {
    const name = unique('bot');
    const created = await call('POST', '/api/agents', { name });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name,
      owner: { type: 'user', id: 'user_local' },
      allowed_runtimes: ['http', 'manual', 'agent'],
      max_depth: 8,
      max_children: 100,
      max_goals: 1000,
      default_parallelism: 100,
    });
    expect(created.body.id).toMatch(/^agent_/);

    const listed = await call('GET', '/api/agents?limit=200');
    expect(listed.body.items.map((a: TJson) => a.id)).toContain(created.body.id);
    expect(listed.body.items.map((a: TJson) => a.id)).toContain('agent_default');
    expect((await call('GET', `/api/agents/${created.body.id}`)).body).toEqual(created.body);

    const updated = await call('PATCH', `/api/agents/${created.body.id}`, { allowed_runtimes: ['shell', 'shell', 'manual'], max_depth: 3, default_parallelism: 7 });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name, allowed_runtimes: ['shell', 'manual'], max_depth: 3, max_children: 100, default_parallelism: 7 });

    // The limits apply to the next plan: depth 3 is the most it takes now.
    const token = (await call('POST', '/api/tokens', { name: 'bot', agent_id: created.body.id })).body.secret;
    const deep = { children: [{ key: 'a', kind: 'composite', title: 'A', plan: { children: [{ key: 'b', kind: 'composite', title: 'B', plan: { children: [{ key: 'c', kind: 'composite', title: 'C', plan: { children: [{ key: 'd', kind: 'leaf', title: 'D', action: { runtime: 'manual' } }] } }] } }] } }] };
    const refused = await call('POST', '/api/goals', { title: 'Too deep', start: false, plan: deep }, { authorization: `Bearer ${token}` });
    expect([refused.status, refused.body.error.code]).toEqual([400, 'PLAN_INVALID']);
    expect(refused.body.error.message).toContain("exceed the agent's maximum depth of 3");

    const renamed = await call('PATCH', `/api/agents/${created.body.id}`, { name: 'other' });
    expect([renamed.status, renamed.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('answers bad input with a 400 naming the field', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', '/api/agents', {}, 'body.name'],
      ['POST', '/api/agents', { name: 'agent_01jd3v8k2m7q9x4w5y6z7a8b9c' }, 'body.name'],
      ['POST', '/api/agents', { name: ' spaced ' }, 'body.name'],
      ['POST', '/api/agents', { name: unique('x'), allowed_runtimes: ['ssh'] }, 'body.allowed_runtimes.0'],
      ['POST', '/api/agents', { name: unique('x'), max_depth: 0 }, 'body.max_depth'],
      ['POST', '/api/agents', { name: unique('x'), max_children: 1.5 }, 'body.max_children'],
      ['POST', '/api/agents', { name: unique('x'), default_parallelism: 100_000 }, 'body.default_parallelism'],
      ['POST', '/api/agents', { name: unique('x'), owner: 'someone' }, 'body'],
      ['PATCH', '/api/agents/agent_default', {}, 'body'],
      ['PATCH', '/api/agents/agent_default', { max_goals: -1 }, 'body.max_goals'],
      ['GET', '/api/agents/_not-an-id-or-name', undefined, 'params.id'],
      ['POST', '/api/agents', { name: unique('x'), allowed_runtimes: [] }, 'body.allowed_runtimes'],
      ['PATCH', '/api/agents/agent_default', { allowed_runtimes: [] }, 'body.allowed_runtimes'],
      ['GET', '/api/agents?limit=0', undefined, 'query.limit'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await call(method, path, body);
      expect([method, path, res.status, res.body.error.code]).toEqual([method, path, 400, 'VALIDATION_FAILED']);
      expect([path, res.body.error.details.map((d: TJson) => d.path)]).toEqual([path, expect.arrayContaining([field])]);
    }
    // Nothing changed on the agent a refused patch named.
    expect((await call('GET', '/api/agents/agent_default')).body.max_goals).toBeGreaterThan(0);
    expect((await call('GET', '/api/agents/agent_default')).body.allowed_runtimes.length).toBeGreaterThan(0);
  });

  it('words refusals so a person can act on them: the runtimes allowed, and at least one', async () => {
    const unknown = await call('POST', '/api/agents', { name: unique('x'), allowed_runtimes: ['ssh'] });
    expect(unknown.body.error.details).toEqual([{ path: 'body.allowed_runtimes.0', message: 'must be one of: "shell", "http", "manual", "agent" (got "ssh")' }]);
    const none = await call('POST', '/api/agents', { name: unique('x'), allowed_runtimes: [] });
    expect(none.body.error.details).toEqual([{ path: 'body.allowed_runtimes', message: 'give at least one runtime (shell, http, manual, agent); to stop an agent running commands or requests, allow only manual' }]);
  });

  it('names an agent by id or by name on every route', async () => {
    const name = unique('named');
    const created = (await call('POST', '/api/agents', { name, allowed_runtimes: ['manual'] })).body;
    expect((await call('GET', `/api/agents/${name}`)).body).toEqual(created);
    expect((await call('PATCH', `/api/agents/${name}`, { max_depth: 2 })).body).toMatchObject({ id: created.id, max_depth: 2 });
    // Another user's, by name, is as absent as by id.
    const other = (await createTokenDirect(prisma, { user: unique('someone') }, { name: 'other', scopes: ['admin'] })).secret;
    expect((await call('GET', `/api/agents/${name}`, undefined, { authorization: `Bearer ${other}` })).status).toBe(404);
    expect((await call('DELETE', `/api/agents/${name}`)).status).toBe(204);
    expect((await call('GET', `/api/agents/${created.id}`)).status).toBe(404);
  });

  it('refuses a name that is taken (409), even by another user', async () => {
    const name = unique('taken');
    expect((await call('POST', '/api/agents', { name })).status).toBe(201);
    const other = (await createTokenDirect(prisma, { user: unique('someone') }, { name: 'other', scopes: ['admin'] })).secret;
    const again = await call('POST', '/api/agents', { name }, { authorization: `Bearer ${other}` });
    expect([again.status, again.body.error.code]).toEqual([409, 'CONFLICT']);
    expect(again.body.error.message).toContain(`an agent named "${name}" already exists`);
    // Another user's agent is not there for this one (404, never 403).
    const theirs = await call('POST', '/api/agents', { name: unique('theirs') }, { authorization: `Bearer ${other}` });
    expect((await call('GET', `/api/agents/${theirs.body.id}`)).status).toBe(404);
    expect((await call('PATCH', `/api/agents/${theirs.body.id}`, { max_depth: 2 })).status).toBe(404);
    expect((await call('DELETE', `/api/agents/${theirs.body.id}`)).status).toBe(404);
  });

  it('deletes an unused agent; one in use (goals, live tokens) or a user\'s only agent is kept, with the reason', async () => {
    const unused = (await call('POST', '/api/agents', { name: unique('unused') })).body;
    expect((await call('DELETE', `/api/agents/${unused.id}`)).status).toBe(204);
    expect((await call('GET', `/api/agents/${unused.id}`)).status).toBe(404);

    const busy = (await call('POST', '/api/agents', { name: unique('busy'), allowed_runtimes: ['manual'] })).body;
    const minted = (await call('POST', '/api/tokens', { name: 'busy', agent_id: busy.id })).body;
    const withToken = await call('DELETE', `/api/agents/${busy.id}`);
    expect([withToken.status, withToken.body.error.code]).toEqual([409, 'CONFLICT']);
    expect(withToken.body.error.message).toBe(`agent ${busy.name} is in use by 1 live token; to delete it, first revoke its live tokens (\`token list\`, \`token revoke\`)`);

    const goal = await call('POST', '/api/goals', { title: 'Busy work', action: { runtime: 'manual' }, start: false }, { authorization: `Bearer ${minted.secret}` });
    expect(goal.status).toBe(201);
    await call('DELETE', `/api/tokens/${minted.token.id}`);
    const withGoal = await call('DELETE', `/api/agents/${busy.id}`);
    expect([withGoal.status, withGoal.body.error.code]).toEqual([409, 'CONFLICT']);
    // Goals are never deleted: the 409 says the agent is kept for good, not to go revoke tokens.
    expect(withGoal.body.error.message).toBe(
      `agent ${busy.name} is in use by 1 goal; goals and runs are never deleted, so an agent that has either is kept for good (it can stay unused; \`agent update\` can take runtimes away from it)`,
    );
    expect((await call('GET', `/api/agents/${busy.id}`)).status).toBe(200);

    // The local user's agent, by name, once it has goals (the local token's run under it): kept for good, saying so.
    expect((await call('POST', '/api/goals', { title: 'Local work', action: { runtime: 'manual' }, start: false })).status).toBe(201);
    const local = await call('DELETE', '/api/agents/default');
    expect([local.status, local.body.error.message]).toEqual([409, expect.stringMatching(/^agent default is in use by \d+ goals?(, [^;]+)?; goals and runs are never deleted, so an agent that has either is kept for good/)]);

    // A new user's only agent: its user tokens run goals under it.
    const user = unique('lonely');
    const lonely = (await createTokenDirect(prisma, { user }, { name: 'lonely', scopes: ['admin'] })).secret;
    const auth = { authorization: `Bearer ${lonely}` };
    const [only] = (await call('GET', '/api/agents', undefined, auth)).body.items;
    expect(only.name).toBe(`${user}-default`);
    const last = await call('DELETE', `/api/agents/${only.id}`, undefined, auth);
    expect([last.status, last.body.error.code]).toEqual([409, 'CONFLICT']);
    expect(last.body.error.message).toContain("its user's only agent");
    expect((await call('GET', '/api/agents', undefined, auth)).body.items).toHaveLength(1);
  });

  it('pages with cursors', async () => {
    const user = unique('pager');
    const token = (await createTokenDirect(prisma, { user }, { name: 'pager', scopes: ['admin'] })).secret;
    const auth = { authorization: `Bearer ${token}` };
    for (let i = 0; i < 3; i++) expect((await call('POST', '/api/agents', { name: unique(`page${i}`) }, auth)).status).toBe(201);
    const first = (await call('GET', '/api/agents?limit=2', undefined, auth)).body;
    expect(first.items).toHaveLength(2);
    const second = (await call('GET', `/api/agents?limit=2&cursor=${first.next_cursor}`, undefined, auth)).body;
    expect(second.items).toHaveLength(2);
    expect(second.next_cursor).toBeNull();
    expect(new Set([...first.items, ...second.items].map((a: TJson) => a.id)).size).toBe(4);
  });
});
