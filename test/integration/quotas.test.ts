import { execFile } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PrismaClient } from '../../src/db/client';
import { newId } from '../../src/domain/ids';
import { ZPlan } from '../../src/domain/plans';
import { createTokenDirect } from '../../src/services/tokens';
import { saveFrozenWorkflow } from '../support/frozenWorkflows';
import { http as call, startTestApi, startTestWorker, testConfig, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';

/**
 * Quotas and bounds (issue 17, finding 5) over HTTP, on real Postgres and
 * Temporal: nested runs count in an agent's limits, a run's layers are
 * checked before they are written, schedules are capped per owner and in
 * how often they fire, backfills in how many fires, a goal tree read is
 * bounded, and a completion is kept only for a goal waiting for one.
 */

let prisma: PrismaClient;
let worker: Awaited<ReturnType<typeof startTestWorker>>;
let api: Awaited<ReturnType<typeof startTestApi>>;
const taskQueue = uniqueTaskQueue('quotas');
const LIMITS = { maxPerOwner: 2, minIntervalMs: 60_000, backfillMaxFires: 5 };
const schedules: { id: string; auth: Record<string, string> }[] = [];

beforeAll(async () => {
  prisma = testPrisma();
  worker = await startTestWorker(testConfig(), prisma, taskQueue);
  api = await startTestApi(prisma, taskQueue, { scheduleLimits: LIMITS });
});

afterAll(async () => {
  for (const s of schedules) await call('DELETE', `${api.url}/api/schedules/${s.id}`, undefined, s.auth).catch(() => undefined);
  await api?.close();
  await worker?.stop();
  await prisma?.$disconnect();
});

type TJson = any;
const unique = (name: string) => `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const manual = (key: string) => ({ key, kind: 'leaf', title: key, action: { runtime: 'manual' } });
const shell = (key: string, command = 'true') => ({ key, kind: 'leaf', title: key, action: { runtime: 'shell', command } });
const get = async (path: string, auth?: Record<string, string>): Promise<TJson> => (await call('GET', `${api.url}${path}`, undefined, auth)).body;

async function until(path: string, predicate: (b: TJson) => boolean, what: string): Promise<TJson> {
  let last: TJson;
  return waitFor(
    async () => {
      last = await get(path);
      return predicate(last) ? last : undefined;
    },
    () => `${what}; last: ${JSON.stringify(last).slice(0, 600)}`,
  );
}

/** The `reprise` CLI against this test's API; never rejects on a non-zero exit. */
function reprise(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(REPRISE_|DATABASE_URL$|API_|TEMPORAL_)/.test(k)));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'reprise-quotas-cli-'));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.resolve(__dirname, '../../bin/reprise.cjs'), ...args], { env: { ...env, REPRISE_DATA_DIR: dataDir, REPRISE_URL: api.url, REPRISE_TOKEN: api.token }, timeout: 45_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`reprise ${args.join(' ')}: ${err.message}\n${stderr}`));
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

async function agentWith(limits: { maxGoals?: number; maxDepth?: number; maxChildren?: number }): Promise<string> {
  const id = `agent_${unique('q').replace(/-/g, '')}`.slice(0, 40);
  await prisma.agent.create({
    data: { id, name: id, ownerUserId: 'user_local', allowedRuntimes: ['shell', 'manual'], maxDepth: limits.maxDepth ?? 8, maxChildren: limits.maxChildren ?? 100, maxGoals: limits.maxGoals ?? 100 },
  });
  return id;
}

describe('a completion is kept only for a goal waiting for one', () => {
  it('refuses completions of a goal that is not waiting (409), writing nothing, and takes the one that waits', async () => {
    const root = (await call('POST', `${api.url}/api/goals`, { title: 'Two in a row', plan: { children: [manual('first'), manual('second')], edges: [{ from: 'first', to: 'second' }] } })).body;
    const [first, second] = (await get(`/api/goals/${root.id}/tree`)).children;
    await until(`/api/goals/${first.id}`, (g) => g.waiting_for === 'completion', 'the first leaf waits');

    // The second waits for the first: repeated completions of it are refused, and none is kept.
    for (const n of [1, 2, 3]) {
      const res = await call('POST', `${api.url}/api/goals/${second.id}/complete`, { outcome: 'succeeded', output: { n } });
      expect([res.status, res.body.error?.code]).toEqual([409, 'GOAL_NOT_WAITING']);
      expect(res.body.error.message).toMatch(/not waiting to be completed/);
    }
    expect(await prisma.goalCompletion.count({ where: { goalId: second.id } })).toBe(0);

    expect((await call('POST', `${api.url}/api/goals/${first.id}/complete`, { outcome: 'succeeded', output: { rows: 42 } })).status).toBe(200);
    await until(`/api/goals/${first.id}`, (g) => g.lifecycle === 'done', 'the first leaf ends');
    const again = await call('POST', `${api.url}/api/goals/${first.id}/complete`, { outcome: 'succeeded', output: { rows: 43 } });
    expect([again.status, again.body.error?.code]).toEqual([409, 'GOAL_ENDED']);
    expect(await prisma.goalCompletion.count({ where: { goalId: first.id } })).toBe(0);
    expect((await get(`/api/goals/${first.id}`)).output).toEqual({ rows: 42 });

    await until(`/api/goals/${second.id}`, (g) => g.waiting_for === 'completion', 'the second leaf waits');
    expect((await call('POST', `${api.url}/api/goals/${second.id}/complete`, { outcome: 'succeeded' })).status).toBe(200);
    await until(`/api/goals/${root.id}`, (g) => g.lifecycle === 'done', 'the tree ends');
  });
});

describe('GET /api/goals/{id}/tree is bounded', () => {
  // root → a (→ b → c), x, y, z: seven goals, four levels.
  const deep = { key: 'a', kind: 'composite', title: 'A', plan: { children: [{ key: 'b', kind: 'composite', title: 'B', plan: { children: [manual('c')] } }] } };

  it('cuts by depth and by limit, breadth first, says so, and gives outputs only when asked', async () => {
    const root = (await call('POST', `${api.url}/api/goals`, { title: 'Bounded', start: false, plan: { children: [deep, manual('x'), manual('y'), manual('z')], edges: [{ from: 'x', to: 'y' }] } })).body;

    const whole = await get(`/api/goals/${root.id}/tree`);
    expect([whole.truncated, whole.goals, whole.child_count]).toEqual([false, { shown: 7, total: 7 }, 4]);
    expect(whole.children.map((c: TJson) => c.key)).toEqual(['a', 'x', 'y', 'z']);
    expect(whole.edges).toEqual([{ from: 'x', to: 'y', on: 'succeeded' }]);
    expect('output' in whole.children[1]).toBe(false);

    const shallow = await get(`/api/goals/${root.id}/tree?depth=1`);
    expect([shallow.truncated, shallow.goals]).toEqual([true, { shown: 5, total: 7 }]);
    expect([shallow.children[0].child_count, shallow.children[0].children]).toEqual([1, []]);

    const few = await get(`/api/goals/${root.id}/tree?limit=3`);
    expect([few.truncated, few.goals, few.child_count, few.children.map((c: TJson) => c.key)]).toEqual([true, { shown: 3, total: 7 }, 4, ['a', 'x']]);
    // The edge between a shown child and one left out is still named by keys.
    expect(few.edges).toEqual([{ from: 'x', to: 'y', on: 'succeeded' }]);

    const alone = await get(`/api/goals/${root.id}/tree?depth=0&include=output`);
    expect([alone.children, alone.child_count, alone.output, alone.goals]).toEqual([[], 4, null, { shown: 1, total: 7 }]);

    // A subtree reads the same way.
    const sub = await get(`/api/goals/${whole.children[0].id}/tree?depth=1`);
    expect([sub.key, sub.children.map((c: TJson) => c.key), sub.truncated, sub.goals]).toEqual(['a', ['b'], true, { shown: 2, total: 3 }]);

    // The CLI's tree shows where it was cut, and says how much it shows.
    const shown = await reprise(['goal', 'tree', root.id, '--depth', '1']);
    expect(shown.code).toBe(0);
    expect(shown.stdout.split('\n').slice(0, 3)).toEqual([expect.stringMatching(/^Bounded {2}\[draft\]/), expect.stringMatching(/^├─ A {2}\[draft\]/), '│  └─ +1 more']);
    expect(shown.stderr).toMatch(/5 of 7 goals shown/);

    for (const [query, field] of [['depth=-1', 'query.depth'], ['depth=101', 'query.depth'], ['limit=0', 'query.limit'], ['limit=10001', 'query.limit'], ['include=everything', 'query.include'], ['deep=1', 'query']] as const) {
      const res = await call('GET', `${api.url}/api/goals/${root.id}/tree?${query}`);
      expect([query, res.status, res.body.error.code]).toEqual([query, 400, 'VALIDATION_FAILED']);
      expect(res.body.error.details.map((d: TJson) => d.path)).toContain(field);
    }
    // A closed list's refusal names what it takes, not zod's `Invalid input: expected "output"`.
    const include = await call('GET', `${api.url}/api/goals/${root.id}/tree?include=outputs`);
    expect(include.body.error.details).toEqual([{ path: 'query.include', message: 'must be "output" (got "outputs")' }]);
  });
});

/** A GET as it travels: the raw bytes and headers, nothing decompressed. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers: { authorization: `Bearer ${api.token}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('GET /api/goals/{id}/tree for pollers: conditional and compressed', () => {
  it('answers 304 while nothing in the subtree changed, and the tree again once something did', async () => {
    const root = (await call('POST', `${api.url}/api/goals`, { title: 'Polled', start: false, plan: { children: [manual('x'), manual('y')] } })).body;
    const first = await call('GET', `${api.url}/api/goals/${root.id}/tree`);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\/"/);
    // Never kept by a shared or disk cache, but revalidated with the tag.
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    const again = await call('GET', `${api.url}/api/goals/${root.id}/tree`, undefined, { 'if-none-match': etag! });
    expect([again.status, again.body]).toEqual([304, undefined]);
    // The version names the bounds too: another depth is another answer.
    expect((await call('GET', `${api.url}/api/goals/${root.id}/tree?depth=0`, undefined, { 'if-none-match': etag! })).status).toBe(200);
    // A change anywhere below (a leaf, not the goal asked for) is a new version.
    await prisma.goal.updateMany({ where: { parentId: root.id, key: 'y' }, data: { lifecycle: 'cancelled' } });
    const changed = await call('GET', `${api.url}/api/goals/${root.id}/tree`, undefined, { 'if-none-match': etag! });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(changed.body.children.map((c: TJson) => c.lifecycle)).toEqual(['draft', 'cancelled']);
    // A stranger learns nothing from a version: 404 as for any goal not theirs.
    const stranger = { authorization: `Bearer ${(await createTokenDirect(prisma, { user: unique('stranger') }, { name: 'stranger' })).secret}` };
    expect((await call('GET', `${api.url}/api/goals/${root.id}/tree`, undefined, { ...stranger, 'if-none-match': changed.headers.get('etag')! })).status).toBe(404);
  });

  it('gzips big answers for clients that accept it, and only for them', async () => {
    const children = Array.from({ length: 60 }, (_, i) => manual(`leaf-${i}`));
    const root = (await call('POST', `${api.url}/api/goals`, { title: 'Wide', start: false, plan: { children } })).body;
    const url = `${api.url}/api/goals/${root.id}/tree`;
    const plain = await rawGet(url, {});
    const zipped = await rawGet(url, { 'accept-encoding': 'br;q=1, gzip;q=0.8' });
    expect([plain.status, plain.headers['content-encoding'], zipped.status, zipped.headers['content-encoding']]).toEqual([200, undefined, 200, 'gzip']);
    expect(zipped.headers.vary).toMatch(/accept-encoding/i);
    expect(JSON.parse(gunzipSync(zipped.bytes).toString('utf8'))).toEqual(JSON.parse(plain.bytes.toString('utf8')));
    expect(zipped.bytes.length).toBeLessThan(plain.bytes.length / 4);
    // Refused by q=0, and too small to be worth it: as is.
    expect((await rawGet(url, { 'accept-encoding': 'gzip;q=0' })).headers['content-encoding']).toBeUndefined();
    const small = await rawGet(`${api.url}/healthz`, { 'accept-encoding': 'gzip' });
    expect([small.status === 200 || small.status === 503, small.headers['content-encoding']]).toEqual([true, undefined]);
    // A 304 stays bodiless.
    const notModified = await rawGet(url, { 'accept-encoding': 'gzip', 'if-none-match': String(zipped.headers.etag) });
    expect([notModified.status, notModified.bytes.length]).toEqual([304, 0]);
  });
});

describe('schedules: a cap per owner, a minimum interval, bounded backfills', () => {
  let user: Record<string, string>;
  let admin: Record<string, string>;
  let workflowId: string;

  beforeAll(async () => {
    const name = unique('quota');
    user = { authorization: `Bearer ${(await createTokenDirect(prisma, { user: name }, { name: 'quota user' })).secret}` };
    admin = { authorization: `Bearer ${(await createTokenDirect(prisma, { user: name }, { name: 'quota admin', scopes: ['admin'] })).secret}` };
    const owner = await prisma.user.findFirstOrThrow({ where: { name } });
    const agent = await prisma.agent.findFirstOrThrow({ where: { ownerUserId: owner.id } });
    workflowId = (await saveFrozenWorkflow(prisma, { agentId: agent.id, ownerUserId: owner.id, name: unique('tick'), title: 'Tick', plan: ZPlan.parse({ children: [manual('tick')] }) })).id;
  });

  async function schedule(body: Record<string, unknown>, auth: Record<string, string>) {
    const res = await call('POST', `${api.url}/api/workflows/${workflowId}/schedules`, { paused: true, ...body }, auth);
    if (res.status === 201) schedules.push({ id: res.body.id, auth });
    return res;
  }

  it('refuses a schedule firing more often than SCHEDULE_MIN_INTERVAL unless an admin token asks, and caps schedules per owner', async () => {
    for (const spec of [{ every: '30s' }, { cron: '@every 10s' }]) {
      const res = await schedule({ spec }, user);
      expect([JSON.stringify(spec), res.status, res.body.error?.code]).toEqual([JSON.stringify(spec), 400, 'VALIDATION_FAILED']);
      expect(res.body.error.message).toMatch(/at most once per 1m \(SCHEDULE_MIN_INTERVAL\)/);
      expect(res.body.error.details).toEqual([{ path: 'body.spec', message: expect.any(String) }]);
    }
    // A seconds field is refused outright, for admins too: a Reprise cron has five fields.
    const seconds = await schedule({ spec: { cron: '*/20 * * * * * *' } }, admin);
    expect([seconds.status, seconds.body.error?.details]).toEqual([400, [{ path: 'body.spec.cron', message: expect.stringMatching(/^has 7 fields: a Reprise cron has five/) }]]);
    const fast = await schedule({ spec: { every: '30s' } }, admin);
    expect([fast.status, fast.body.error]).toEqual([201, undefined]);
    const hourly = await schedule({ spec: { cron: '0 * * * *' } }, user);
    expect([hourly.status, hourly.body.error]).toEqual([201, undefined]);

    const patch = await call('PATCH', `${api.url}/api/schedules/${hourly.body.id}`, { spec: { every: '10s' } }, user);
    expect([patch.status, patch.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);

    const third = await schedule({ spec: { every: '1h' } }, user);
    expect([third.status, third.body.error?.code]).toEqual([409, 'QUOTA_EXCEEDED']);
    expect(third.body.error.message).toMatch(/you have 2 schedules; SCHEDULE_MAX_PER_OWNER allows 2/);
    expect(await prisma.schedule.count({ where: { savedWorkflowId: workflowId } })).toBe(2);
  });

  it('refuses a backfill of more fires than SCHEDULE_BACKFILL_MAX_FIRES, saying how many the range would fire', async () => {
    const hourly = schedules.find((s) => s.auth === user) ?? (await schedule({ spec: { every: '1h' } }, user)).body;
    const hour = 3_600_000;
    const boundary = Math.floor(Date.now() / hour) * hour;
    // Ten hourly fires: boundary-10h … boundary-1h.
    const res = await call('POST', `${api.url}/api/schedules/${hourly.id}/backfill`, { start: new Date(boundary - 10 * hour).toISOString(), end: new Date(boundary - 1000).toISOString() }, user);
    expect([res.status, res.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(res.body.error.message).toMatch(/the range would fire 10 times; a backfill runs at most 5 fires \(SCHEDULE_BACKFILL_MAX_FIRES\)/);
    expect(await prisma.run.count({ where: { scheduleId: hourly.id } })).toBe(0);
  });
});

describe('nested runs count in max_goals and max_depth', () => {
  let inner: { id: string; name: string };
  beforeAll(async () => {
    // inner@1: a composite of three shell leaves: four goals below its root, two levels deep.
    const plan = ZPlan.parse({ children: [{ key: 'part', kind: 'composite', title: 'Part', plan: { children: [shell('l1'), shell('l2'), shell('l3')] } }] });
    const saved = await saveFrozenWorkflow(prisma, { agentId: 'agent_default', name: unique('inner'), title: 'Inner', plan });
    inner = { id: saved.id, name: saved.name };
  });

  it('at plan submission: a child whose nested run goes past max_depth is refused', async () => {
    // Composites down to depth 7, then a child at depth 8 naming inner@1 (two more levels): 10 > 8.
    let plan: TJson = { children: [{ key: 'r', kind: 'composite', title: 'R', workflow: `${inner.name}@1` }] };
    for (let i = 7; i >= 1; i--) plan = { children: [{ key: `c${i}`, kind: 'composite', title: `C${i}`, plan }] };
    const res = await call('POST', `${api.url}/api/goals`, { title: 'Too deep with its nested run', start: false, plan });
    expect([res.status, res.body.error?.code]).toEqual([400, 'PLAN_INVALID']);
    expect(res.body.error.message).toMatch(new RegExp(`max_depth at .*children\\[0\\]\\.workflow: "r" runs workflow ${inner.name}@1, whose goals go 2 levels below it: depth 10 exceeds`));
  });

  it("at save: a tree within its agent's limits alone, but not with the nested runs it ran, is refused", async () => {
    const root = (await call('POST', `${api.url}/api/goals`, { title: 'Outer', plan: { children: [shell('a'), { key: 'r', kind: 'composite', title: 'R', workflow: `${inner.name}@1` }] } })).body;
    await until(`/api/goals/${root.id}`, (g) => g.lifecycle === 'done', 'the outer tree with its nested run is accepted');
    // Its agent now allows six goals: the saved plan has three (root, a, r), its nested run four more.
    const agentId = await agentWith({ maxGoals: 6 });
    await prisma.goal.updateMany({ where: { id: root.id }, data: { agentId } });
    const res = await call('POST', `${api.url}/api/goals/${root.id}/save-as-workflow`, { name: unique('outer') });
    expect([res.status, res.body.error?.code]).toEqual([400, 'PLAN_INVALID']);
    expect(res.body.error.message).toMatch(/nested runs, the tree would have 7 goals; the agent allows at most 6/);
  });

  it("at run: a workflow whose tree with its nested runs no longer fits its agent's limits is refused, nothing claimed", async () => {
    const plan = ZPlan.parse({ children: [shell('a'), { key: 'r', kind: 'composite', title: 'R', workflow: `${inner.name}@1` }] });
    for (const [limits, message] of [
      [{ maxGoals: 6 }, /max_goals at plan: a run's tree would have 7 goals \(nested runs included\); the agent allows at most 6/],
      [{ maxDepth: 2 }, /max_depth at plan: a run's tree would go 3 levels deep \(nested runs included\); the agent allows at most 2/],
    ] as const) {
      const wf = await saveFrozenWorkflow(prisma, { agentId: await agentWith(limits), name: unique('outer'), title: 'Outer', plan });
      const res = await call('POST', `${api.url}/api/workflows/${wf.id}/runs`, { idempotency_key: 'k', inputs: {} });
      expect([res.status, res.body.error?.code]).toEqual([400, 'PLAN_INVALID']);
      expect(res.body.error.message).toMatch(message);
      expect(await prisma.run.count({ where: { savedWorkflowId: wf.id } })).toBe(0);
    }
  });
});

describe("a run's layer is checked before it is written", () => {
  it('fails the run and its root with the rule it breaks, writing nothing of that layer', async () => {
    // Its agent allows two children per composite; "part" has three (saved past the API, as an older limit allowed).
    const agentId = await agentWith({ maxChildren: 2 });
    const plan = ZPlan.parse({ children: [{ key: 'part', kind: 'composite', title: 'Part', plan: { children: [manual('l1'), manual('l2'), manual('l3')] } }] });
    const wf = await saveFrozenWorkflow(prisma, { agentId, name: unique('wide'), title: 'Wide', plan });
    const created = await call('POST', `${api.url}/api/workflows/${wf.id}/runs`, { idempotency_key: newId('run'), inputs: {} });
    expect([created.status, created.body.error]).toEqual([201, undefined]);
    const run = await until(`/api/runs/${created.body.run.id}`, (r) => r.state === 'failed' || r.state === 'materialized', 'the run to be instantiated or fail');
    expect(run.state).toBe('failed');
    // The root's layer is checked with everything it holds: nothing of the tree is written but its root.
    expect(run.error).toMatch(/the layer of goal \S+ \("Wide"\) breaks a rule of a plan: max_children at children\[0\]\.plan\.children: 3 children; the agent allows at most 2 per composite/);
    const root = await until(`/api/goals/${run.root_goal_id}`, (g) => g.lifecycle === 'failed', 'the root fails');
    expect(root.failure_reason).toMatch(/max_children/);
    expect([root.planned_at, await prisma.goal.count({ where: { rootId: run.root_goal_id } })]).toEqual([null, 1]);
  });
});
