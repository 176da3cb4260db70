import type { PrismaClient } from '../../src/db/client';
import { newId, newTokenSecret, tokenHash } from '../../src/domain/ids';
import { AGENT_DEFAULT_SCOPES } from '../../src/domain/scopes';
import { createTokenDirect, createTokenService, TOKEN_CACHE_MS } from '../../src/services/tokens';
import { http, startTestApi, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';

/** Tokens (SPEC §6): stored hashed, revocable, expiring, for a user or an agent acting for its user. */

type TJson = any;

let prisma: PrismaClient;
let api: Awaited<ReturnType<typeof startTestApi>>;
const unique = (name: string) => `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

beforeAll(async () => {
  prisma = testPrisma();
  api = await startTestApi(prisma, uniqueTaskQueue('tokens'));
});

afterAll(async () => {
  await api?.close();
  await prisma?.$disconnect();
});

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

describe('tokens', () => {
  it('stores only the hash; the secret is shown once and works until revoked', async () => {
    const created = await http('POST', `${api.url}/api/tokens`, { name: 'ci', scopes: ['goals:read'] });
    expect(created.status).toBe(201);
    const { token, secret } = created.body;
    expect(secret).toMatch(/^rpr_[A-Za-z0-9_-]{43}$/);
    expect(token).toMatchObject({ name: 'ci', scopes: ['goals:read'], owner: { type: 'user', id: 'user_local' }, revoked_at: null, last_used_at: null });
    expect(secret.startsWith(token.prefix)).toBe(true);

    const row = await prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(row.tokenHash).toBe(tokenHash(secret));
    expect(JSON.stringify(row)).not.toContain(secret);
    // Nothing the API answers afterwards carries it.
    expect(JSON.stringify((await http('GET', `${api.url}/api/tokens/${token.id}`)).body)).not.toContain(secret.slice(12));

    expect((await http('GET', `${api.url}/api/goals?limit=1`, undefined, bearer(secret))).status).toBe(200);
    expect((await http('GET', `${api.url}/api/tokens/${token.id}`)).body.last_used_at).not.toBeNull();

    const revoked = await http('DELETE', `${api.url}/api/tokens/${token.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    // Idempotent by design: revoking again answers the same.
    expect((await http('DELETE', `${api.url}/api/tokens/${token.id}`)).body.revoked_at).toBe(revoked.body.revoked_at);
    const after = await http('GET', `${api.url}/api/goals?limit=1`, undefined, bearer(secret));
    expect([after.status, after.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
    expect(after.body.error.message).toContain('revoked');
  });

  it('refuses an expired token, a malformed header and a bad request to mint one', async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const created = await http('POST', `${api.url}/api/tokens`, { name: 'short', expires_at: later });
    expect(created.status).toBe(201);
    expect(created.body.token.expires_at).toBe(later);
    expect((await http('GET', `${api.url}/api/goals?limit=1`, undefined, bearer(created.body.secret))).status).toBe(200);
    // Its hour passes in the row, not in this test: no window to race. The API reuses a lookup for at most
    // TOKEN_CACHE_MS, so the row's new expiry is seen within that bound.
    await prisma.apiToken.update({ where: { id: created.body.token.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const changed = Date.now();
    const expired = await waitFor(async () => {
      const res = await http('GET', `${api.url}/api/goals?limit=1`, undefined, bearer(created.body.secret));
      return res.status === 401 ? res : undefined;
    }, 'the expired token to be refused', TOKEN_CACHE_MS + 5_000);
    expect(Date.now() - changed).toBeLessThan(TOKEN_CACHE_MS + 2_000);
    expect(expired.body.error.message).toBe('the bearer token is not valid (unknown, revoked or expired)');

    // Who comes before what: without a token, nothing of the request is read or parsed.
    for (const [body, type] of [['{', 'application/json'], ['title=x', 'text/plain'], ['x'.repeat(2_000_000), 'application/json']] as const) {
      const res = await fetch(`${api.url}/api/goals`, { method: 'POST', headers: { 'content-type': type }, body });
      expect([type, body.length, res.status]).toEqual([type, body.length, 401]);
    }
    expect((await http('GET', `${api.url}/api/no-such-route`, undefined, { authorization: '' })).status).toBe(401);
    expect((await http('GET', `${api.url}/api/no-such-route`)).status).toBe(404);

    const basic = await http('GET', `${api.url}/api/goals`, undefined, { authorization: 'Basic dXNlcjpwYXNz' });
    expect([basic.status, basic.body.error.message]).toEqual([401, 'the Authorization header must be "Bearer <token>"']);

    const past = await http('POST', `${api.url}/api/tokens`, { name: 'old', expires_at: '2020-01-01T00:00:00Z' });
    expect([past.status, past.body.error.message]).toEqual([400, 'expires_at must be in the future']);
    const badScope = await http('POST', `${api.url}/api/tokens`, { name: 'x', scopes: ['root'] });
    expect(badScope.status).toBe(400);
    expect(badScope.body.error.details[0].path).toBe('body.scopes.0');
    const before = await prisma.apiToken.count();
    expect((await http('POST', `${api.url}/api/tokens`, { name: 'x', agent_id: 'agent_nobody' })).status).toBe(404);
    expect(await prisma.apiToken.count()).toBe(before);
  });

  it('a lookup is reused for at most TOKEN_CACHE_MS: a token revoked elsewhere stops working within it, one revoked through this API at once', async () => {
    const service = createTokenService({ prisma });
    const elsewhere = await createTokenDirect(prisma, { user: 'local' }, { name: unique('revoked-elsewhere') });
    await expect(service.authenticate(`Bearer ${elsewhere.secret}`)).resolves.toMatchObject({ tokenId: elsewhere.token.id });
    // Revoked by another API process (here: straight in the database). The lookup this process made may still
    // serve the token, but never past the bound.
    await prisma.apiToken.update({ where: { id: elsewhere.token.id }, data: { revokedAt: new Date() } });
    const revoked = Date.now();
    await waitFor(
      () => service.authenticate(`Bearer ${elsewhere.secret}`).then(() => undefined, (err: { code?: string }) => (err.code === 'UNAUTHENTICATED' ? true : undefined)),
      'the token revoked elsewhere to be refused',
      TOKEN_CACHE_MS + 5_000,
    );
    expect(Date.now() - revoked).toBeLessThan(TOKEN_CACHE_MS + 1_000);

    // Revoked through the API that serves it: refused on the very next request.
    const minted = await http('POST', `${api.url}/api/tokens`, { name: unique('revoked-here'), scopes: ['goals:read'] });
    expect((await http('GET', `${api.url}/api/goals?limit=1`, undefined, bearer(minted.body.secret))).status).toBe(200);
    expect((await http('DELETE', `${api.url}/api/tokens/${minted.body.token.id}`)).status).toBe(200);
    expect((await http('GET', `${api.url}/api/goals?limit=1`, undefined, bearer(minted.body.secret))).status).toBe(401);
  });

  it('expires at its instant, and records use at most once a minute (on a clock of the test\'s own)', async () => {
    const t0 = Date.now() + 1000;
    const at = (ms: number) => new Date(t0 + ms);
    let clock = at(0);
    const service = createTokenService({ prisma, now: () => clock });
    const expiresAt = at(3_600_000);
    const { token, secret } = await createTokenDirect(prisma, { user: 'local' }, { name: unique('clock'), expiresAt });
    const lastUsed = async () => (await prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).lastUsedAt?.getTime();

    await service.authenticate(`Bearer ${secret}`);
    expect(await lastUsed()).toBe(at(0).getTime());
    clock = at(59_000);
    await service.authenticate(`Bearer ${secret}`);
    expect(await lastUsed()).toBe(at(0).getTime());
    clock = at(61_000);
    await service.authenticate(`Bearer ${secret}`);
    expect(await lastUsed()).toBe(at(61_000).getTime());

    clock = new Date(expiresAt.getTime() - 1);
    await expect(service.authenticate(`Bearer ${secret}`)).resolves.toMatchObject({ tokenId: token.id });
    clock = expiresAt;
    await expect(service.authenticate(`Bearer ${secret}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('an agent token acts for its owner: it sees the user\'s goals, and its own run under the agent', async () => {
    const agentId = unique('agent_tok');
    await prisma.agent.create({ data: { id: agentId, name: agentId, ownerUserId: 'user_local', allowedRuntimes: ['manual'], maxDepth: 3, maxChildren: 10, maxGoals: 50 } });
    const minted = await http('POST', `${api.url}/api/tokens`, { name: 'agent', agent_id: agentId });
    expect(minted.status).toBe(201);
    expect(minted.body.token).toMatchObject({ owner: { type: 'agent', id: agentId }, scopes: [...AGENT_DEFAULT_SCOPES] });
    const asAgent = bearer(minted.body.secret);

    const mine = (await http('POST', `${api.url}/api/goals`, { title: 'By the user', action: { runtime: 'manual' }, start: false })).body;
    expect((await http('GET', `${api.url}/api/goals/${mine.id}`, undefined, asAgent)).status).toBe(200);
    const its = await http('POST', `${api.url}/api/goals`, { title: 'By the agent', action: { runtime: 'manual' }, start: false }, asAgent);
    expect(its.status).toBe(201);
    expect(its.body).toMatchObject({ agent_id: agentId, owner: { type: 'user', id: 'user_local' } });
    // The agent's runtimes bind its goals.
    const shell = await http('POST', `${api.url}/api/goals`, { title: 'Shell', action: { runtime: 'shell', command: 'true' }, start: false }, asAgent);
    expect([shell.status, shell.body.error.code]).toEqual([400, 'RUNTIME_NOT_ALLOWED']);
    // Nor can it plant shell commands in a plan of a goal that runs under a shell agent.
    const composite = (await http('POST', `${api.url}/api/goals`, { title: 'Planned by the agent', kind: 'composite', start: false })).body;
    const planned = await http('POST', `${api.url}/api/goals/${composite.id}/plan`, { children: [{ key: 'x', kind: 'leaf', title: 'X', action: { runtime: 'shell', command: 'id' } }] }, asAgent);
    expect([planned.status, planned.body.error.code, planned.body.error.details[0].rule]).toEqual([400, 'PLAN_INVALID', 'runtime_allowed']);
    const manualPlan = await http('POST', `${api.url}/api/goals/${composite.id}/plan`, { children: [{ key: 'x', kind: 'leaf', title: 'X', action: { runtime: 'manual' } }] }, asAgent);
    expect(manualPlan.status).toBe(200);
    // Its default scopes leave schedules:write and admin out.
    expect((await http('GET', `${api.url}/api/tokens`, undefined, asAgent)).status).toBe(403);
  });

  it('never gives an agent token admin (it could grant its own agent shell): 400, and an old one holds admin no more', async () => {
    const agent = await prisma.agent.create({ data: { id: unique('agent_adm'), name: unique('adm'), ownerUserId: 'user_local', allowedRuntimes: ['manual'], maxDepth: 3, maxChildren: 10, maxGoals: 50 } });
    const before = await prisma.apiToken.count({ where: { agentId: agent.id } });
    const refused = await http('POST', `${api.url}/api/tokens`, { name: 'self-granting', agent_id: agent.id, scopes: ['goals:read', 'admin'] });
    expect([refused.status, refused.body.error.code, refused.body.error.message]).toEqual([
      400,
      'VALIDATION_FAILED',
      expect.stringMatching(/^an agent token cannot have the admin scope: .*could grant itself shell; agents are managed by their user/),
    ]);
    await expect(createTokenDirect(prisma, { agent: agent.name }, { name: 'direct', scopes: ['admin'] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/^an agent token cannot have the admin scope/) });
    expect(await prisma.apiToken.count({ where: { agentId: agent.id } })).toBe(before);

    // One minted before the rule: its admin is ignored, so it cannot change its agent's runtimes.
    const secret = newTokenSecret();
    await prisma.apiToken.create({ data: { id: newId('tok'), name: 'old agent admin', tokenHash: tokenHash(secret), prefix: secret.slice(0, 12), scopes: ['admin', 'goals:read'], agentId: agent.id } });
    expect((await createTokenService({ prisma }).authenticate(`Bearer ${secret}`)).scopes).toEqual(['goals:read']);
    const grant = await http('PATCH', `${api.url}/api/agents/${agent.id}`, { allowed_runtimes: ['shell'] }, bearer(secret));
    expect(grant.status).toBe(403);
    expect((await prisma.agent.findUniqueOrThrow({ where: { id: agent.id } })).allowedRuntimes).toEqual(['manual']);
  });

  it('another user sees none of it: the local user\'s tokens are 404 to them', async () => {
    for (const blank of ['', ' ', ' x', 'a b', '../x']) {
      await expect(createTokenDirect(prisma, { user: blank }, { name: 'bad' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    await expect(createTokenDirect(prisma, { user: 'local' }, { name: '  ' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: 'a token name is 1-100 characters' });
    const other = await createTokenDirect(prisma, { user: unique('someone') }, { name: 'theirs', scopes: ['admin'] });
    expect(other.userCreated).toBe(true);
    const listed = await http('GET', `${api.url}/api/tokens?limit=200`, undefined, bearer(other.secret));
    expect(listed.body.items.map((t: TJson) => t.id)).toEqual([other.token.id]);
    const localToken = (await http('GET', `${api.url}/api/tokens?limit=1`)).body.items[0];
    expect((await http('DELETE', `${api.url}/api/tokens/${localToken.id}`, undefined, bearer(other.secret))).status).toBe(404);
    // Their own goals run under the agent made with the user, which may not run shell commands.
    const g = await http('POST', `${api.url}/api/goals`, { title: 'Theirs', action: { runtime: 'shell', command: 'true' }, start: false }, bearer(other.secret));
    expect([g.status, g.body.error.code]).toEqual([400, 'RUNTIME_NOT_ALLOWED']);
  });
});
