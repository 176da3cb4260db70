import fc from 'fast-check';
import { Client as PgClient } from 'pg';
import type { TConfig } from '../../src/config';
import type { PrismaClient } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { AGENT_ID_PATTERN } from '../../src/domain/ids';
import { SCOPES } from '../../src/domain/scopes';
import {
  operationsOf,
  POLLUTION_MARKER,
  requestArbitrary,
  schemaContextOf,
  urlOf,
  type TOperation,
  type TRequestShape,
} from '../support/hostileArbitraries';
import { setupClient, testActors, type TActors } from '../support/actors';
import { scratchDatabase, startTestApi, startTestWorker, testConfig, testPrisma, uniqueTaskQueue } from '../support/env';

/**
 * Property-based hostile requests (issue 16). For every operation of the
 * OpenAPI document (a route missing from the walk fails it, as the auth
 * matrix does), requests derived from its schemas and mutated
 * (test/support/hostileArbitraries.ts) are sent one at a time, mostly with a
 * token of the route's own scope, some with none, a garbage one or another
 * scope's. Each answer must be below 500, a 4xx must be our error body with
 * no internals in its message, and a refused request must leave every table
 * as it was (row counts and contents, hashed around each request). At the
 * end: no workflow execution or Temporal schedule that an accepted request
 * does not account for, and Object.prototype untouched.
 *
 * In the integration tier, not the fault tier: it needs exactly the real
 * Postgres, Temporal and workflow bundle the integration global setup
 * provides, and the fault tier's files each start `npm start` (no shared
 * setup) — starting services here would cost most of the time budget. Rows
 * are counted in a scratch database of its own, so the integration files
 * running beside it cannot move the counts.
 *
 * Reproduce a failure: HOSTILE_SEED=<seed> [HOSTILE_PATH=<path>] npx jest
 * test/integration/hostileRequests.test.ts -t '<method path>' (seed and path
 * are in the failure message); HOSTILE_RUNS sets requests per operation.
 */

type TJson = any;

const SEED = Number(process.env.HOSTILE_SEED ?? 20_261_116);
const RUNS = Number(process.env.HOSTILE_RUNS ?? 18);
const VALID_RUNS = Number(process.env.HOSTILE_VALID_RUNS ?? 4);
/** What a 4xx message must not show: stack frames, source files, Prisma's own text. */
const INTERNALS = /at \/|\.ts:|prisma|invocation/i;
jest.setTimeout(180_000);

let prisma: PrismaClient;
let pg: PgClient;
let db: Awaited<ReturnType<typeof scratchDatabase>>;
let config: TConfig;
let worker: Awaited<ReturnType<typeof startTestWorker>> | undefined;
let api: Awaited<ReturnType<typeof startTestApi>>;
const taskQueue = uniqueTaskQueue('hostile');
const workflowName = `hostile-${Date.now().toString(36)}`;
let actors: TActors;
let ops: TOperation[] = [];
let ctx: ReturnType<typeof schemaContextOf>;
let phaseStart: Date;
let tables: string[] = [];

/** What the run saw, for the summary and the Temporal check. */
const accepted: { op: string; status: number; mutations: string[] }[] = [];
const acceptedIds = new Set<string>();
const statuses = new Map<string, Map<number, number>>();
let sent = 0;
let workerDownAnswers = 0;

// startTestApi's own token is in the shared test database; this API reads the scratch one, where the actors' are.
const { ok, goalUntil } = setupClient(
  () => api.url,
  () => actors.withScope('admin'),
);

/** Every table's row count and a hash of its rows (a token's last use aside: authenticating touches it, by design). */
async function snapshot(): Promise<Record<string, string>> {
  const sql = tables
    .map(
      (t) =>
        `SELECT '${t}' AS t, count(*)::text || ':' || md5(coalesce(string_agg((to_jsonb(x) - 'last_used_at')::text, '|' ORDER BY (to_jsonb(x) - 'last_used_at')::text), '')) AS v FROM "${t}" x`,
    )
    .join(' UNION ALL ');
  const { rows } = await pg.query<{ t: string; v: string }>(sql);
  return Object.fromEntries(rows.map((r) => [r.t, r.v]));
}

beforeAll(async () => {
  db = await scratchDatabase('hostile');
  await migrate(db.url);
  pg = new PgClient({ connectionString: db.url });
  await pg.connect();
  tables = (
    await pg.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_%' ORDER BY 1`)
  ).rows.map((r) => r.name);
  prisma = testPrisma(db.url);
  config = testConfig({ DATABASE_URL: db.url });
  worker = await startTestWorker(config, prisma, taskQueue);
  api = await startTestApi(prisma, taskQueue);
  actors = testActors(prisma, 'hostile');
  // Minted before the first snapshot: a token made mid-run would count as a row a request wrote.
  for (const scope of SCOPES) await actors.withScope(scope);

  // Real objects for the id patterns, so mutated bodies reach past "not found" into each route's own checks.
  const draft = await ok('POST', '/api/goals', { title: 'Hostile draft', action: { runtime: 'manual' }, start: false });
  const composite = await ok('POST', '/api/goals', { title: 'Hostile composite', kind: 'composite', start: false });
  const manual = await ok('POST', '/api/goals', { title: 'Hostile manual', action: { runtime: 'manual' } });
  const judged = await ok('POST', '/api/goals', { title: 'Hostile judged', action: { runtime: 'shell', command: 'true' }, acceptance: { judgment: { prompt: 'OK?' } } });
  const agent = await ok('POST', '/api/goals', { title: 'Hostile agent', action: { runtime: 'agent', task: 'look' } });
  const tree = await ok('POST', '/api/goals', { title: 'Hostile tree', plan: { children: [{ key: 'a', kind: 'leaf', title: 'A', action: { runtime: 'shell', command: 'true' } }] } });
  await goalUntil(manual.id, (g) => g.waiting_for === 'completion', 'the manual leaf to wait');
  await goalUntil(judged.id, (g) => g.waiting_for === 'judgment', 'the judgment');
  await goalUntil(agent.id, (g) => g.waiting_for === 'agent', 'the agent pool');
  await goalUntil(tree.id, (g) => g.lifecycle === 'done', 'the tree to finish');
  const wf = await ok('POST', `/api/goals/${tree.id}/save-as-workflow`, { name: workflowName });
  const run = await ok('POST', `/api/workflows/${wf.id}/runs`, { idempotency_key: 'hostile-fixture' });
  const schedule = await ok('POST', `/api/workflows/${wf.id}/schedules`, { spec: { every: '1h' }, paused: true });
  const token = await ok('POST', '/api/tokens', { name: 'hostile target', scopes: ['goals:read'] });
  const spareAgent = await ok('POST', '/api/agents', { name: `hostile-agent-${Date.now().toString(36)}` });
  // The fixtures' own executions and schedule are accounted for (the Temporal check counts only the unaccounted).
  for (const id of [draft.id, composite.id, manual.id, judged.id, agent.id, tree.id, run.run.id, schedule.id]) acceptedIds.add(id);

  // No worker while hostile requests run: whatever one accepts never executes, and nothing moves rows behind the snapshots.
  await worker.stop();
  worker = undefined;

  const doc = api.openapi();
  const ids = (prefix: string) => `^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`;
  ctx = schemaContextOf(doc, {
    [ids('goal')]: [draft.id, composite.id, manual.id, judged.id, agent.id, tree.id],
    [ids('wf')]: [wf.id],
    [ids('run')]: [run.run.id],
    [ids('tok')]: [token.token.id],
    [AGENT_ID_PATTERN.source]: [spareAgent.id, 'agent_default'],
    '^sched-[a-z0-9-]{1,40}-[0-9a-hjkmnp-tv-z]{10}$': [schedule.id],
    '^[a-z0-9][a-z0-9_-]{0,63}$': [workflowName, 'a', 'b'],
  });
  ops = operationsOf(doc);
  phaseStart = new Date();
});

afterAll(async () => {
  // The executions accepted requests started (never run: no worker) end with the test.
  if (api) {
    for await (const wf of api.temporal.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
      await api.temporal.workflow.getHandle(wf.workflowId, wf.runId).terminate('hostile test over').catch(() => undefined);
    }
    for await (const s of api.temporal.schedule.list()) {
      if (s.scheduleId.startsWith(`sched-${workflowName}`)) await api.temporal.schedule.getHandle(s.scheduleId).delete().catch(() => undefined);
    }
  }
  await worker?.stop();
  await api?.close();
  await prisma?.$disconnect();
  await pg?.end();
  await db?.drop();
  const summary = [...statuses].map(([op, byStatus]) => `${op}: ${[...byStatus].map(([s, n]) => `${s}×${n}`).join(' ')}`);
  console.log(`hostile requests: ${sent} sent (seed ${SEED}), ${accepted.length} accepted, ${workerDownAnswers} 503 (no worker, on purpose)\n${summary.join('\n')}\naccepted:\n${accepted.map((a) => `${a.op} ${a.status}: ${a.mutations.join('; ')}`).join('\n')}`);
});

type TTokenKind = 'scoped' | 'none' | 'garbage' | 'other-scope';
const tokenKind: fc.Arbitrary<TTokenKind> = fc.oneof(
  { weight: 14, arbitrary: fc.constant('scoped' as const) },
  { weight: 2, arbitrary: fc.constant('none' as const) },
  { weight: 2, arbitrary: fc.constant('garbage' as const) },
  { weight: 2, arbitrary: fc.constant('other-scope' as const) },
);
/** Authorization headers that are no token: wrong scheme, truncated, oversized, odd bytes (fetch refuses CR, LF, NUL in headers). */
const garbageAuth = fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', `Bearer rpr_${'x'.repeat(43)}`, `Bearer rpr_${'A'.repeat(3000)}`, 'Bearer rpr_\u00e9\u00ff', 'bearer  rpr_', 'Bearer null', 'Bearer rpr_../../etc');

function routeOf(op: TOperation) {
  return api.routes.find((r) => r.method === op.method && r.path === op.path);
}

async function authFor(op: TOperation, kind: TTokenKind, garbage: string): Promise<string> {
  const scope = routeOf(op)!.scope;
  if (scope === 'public' || kind === 'scoped') return scope === 'public' ? '' : `Bearer ${await actors.withScope(scope)}`;
  if (kind === 'none') return '';
  if (kind === 'garbage') return garbage;
  // Any single scope but the route's (and not admin, which grants all).
  const other = SCOPES.find((s) => s !== scope && s !== 'admin')!;
  return `Bearer ${await actors.withScope(other)}`;
}

async function send(op: TOperation, shape: TRequestShape, authorization: string) {
  const headers: Record<string, string> = authorization ? { authorization } : {};
  let body: string | undefined;
  if (op.method !== 'get' && shape.body.kind === 'json') {
    body = JSON.stringify(shape.body.value);
    headers['content-type'] = 'application/json';
  } else if (op.method !== 'get' && shape.body.kind === 'text') {
    body = shape.body.text;
    headers['content-type'] = shape.body.contentType;
  }
  const res = await fetch(`${api.url}${urlOf(op, shape)}`, { method: op.method.toUpperCase(), headers, body });
  const text = await res.text();
  let json: TJson;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/** One request and its checks; returns nothing, throws a readable failure. */
async function check(op: TOperation, shape: TRequestShape, kind: TTokenKind, garbage: string, phase: 'hostile' | 'valid'): Promise<void> {
  const key = `${op.method} ${op.path}`;
  const authorization = await authFor(op, kind, garbage);
  const before = phase === 'hostile' ? await snapshot() : undefined;
  const res = await send(op, shape, authorization);
  sent++;
  const byStatus = statuses.get(key) ?? new Map<number, number>();
  byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
  statuses.set(key, byStatus);
  const what = () => `${key} (${kind} token) ${urlOf(op, shape).slice(0, 300)}\n  mutations: ${shape.mutations.join('; ') || 'none'}\n  answer: ${res.status} ${res.text.slice(0, 500)}`;

  // The one 5xx with a cause we made: no worker runs (on purpose), so a judgment, completion or claim a
  // valid request delivers to its goal's workflow finds nobody to take it, and says so. Nothing else.
  const workerDown = res.status === 503 && res.json?.error?.code === 'TEMPORAL_UNAVAILABLE' && /accept|reject|complete|claim/.test(op.path);
  if (workerDown) workerDownAnswers++;
  if (res.status >= 500 && !workerDown) throw new Error(`a 5xx: ${what()}`);
  const isPublic = routeOf(op)!.scope === 'public';
  if (!isPublic && (kind === 'none' || kind === 'garbage') && res.status !== 401) throw new Error(`expected 401: ${what()}`);
  // A token of another scope: 403 once the route is reached. Input the app refuses for every route comes
  // first (malformed JSON or percent-encoding, a body that is no JSON, NUL, too deep, too large), and a
  // path that dot segments turned into no route is a 404 ROUTE_NOT_FOUND; never anything about an object.
  const EDGE_CODES = ['MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE', 'VALIDATION_FAILED', 'ROUTE_NOT_FOUND'];
  if (!isPublic && kind === 'other-scope' && res.status !== 403 && !EDGE_CODES.includes(res.json?.error?.code)) throw new Error(`expected 403: ${what()}`);
  if (res.status >= 400) {
    const error = res.json?.error;
    if (res.status === 431) throw new Error(`Node refused the request head (the generator made a URL too long): ${what()}`);
    if (typeof error?.code !== 'string' || typeof error?.message !== 'string' || typeof error?.request_id !== 'string') throw new Error(`not our error body: ${what()}`);
    if (INTERNALS.test(error.message)) throw new Error(`internals in the message: ${what()}`);
    if (before) {
      const after = await snapshot();
      const changed = tables.filter((t) => before[t] !== after[t]);
      if (changed.length) throw new Error(`a refused request wrote to ${changed.join(', ')}: ${what()}`);
    }
  } else if (res.status >= 200 && res.status < 300) {
    accepted.push({ op: key, status: res.status, mutations: shape.mutations });
    // What a write answered names what it made or touched; a read's ids would account for executions it did not start.
    if (op.method !== 'get') {
      for (const id of res.text.match(/(?:goal|wf|run|tok)_[0-9a-hjkmnp-tv-z]{26}|sched-[a-z0-9-]{1,40}-[0-9a-hjkmnp-tv-z]{10}/g) ?? []) acceptedIds.add(id);
      // A run's Temporal workflow id comes from its idempotency key, not its run id: take it as answered.
      for (const [, id] of res.text.matchAll(/"workflow_id":"([^"]+)"/g)) acceptedIds.add(id!);
    }
  }
}

/** fast-check's failure cut to what reads: our own message (the cause), then its seed and path (the counterexample is in the cause, shortened). */
function failWith(err: unknown, key: string): never {
  const cause = (err as { cause?: unknown }).cause;
  const header = String((err as Error).message ?? err).split('\n').slice(0, 2).join('\n');
  throw new Error(`${cause instanceof Error ? cause.message : String(cause ?? '')}\n${header}\nreproduce: HOSTILE_SEED=${SEED} npx jest test/integration/hostileRequests.test.ts -t '${key}' (add HOSTILE_PATH=<path above> for this case alone)`);
}

describe('hostile requests against every operation', () => {
  it('walks every operation of the document, each with a scope the app registers', () => {
    expect(ops.length).toBeGreaterThan(0);
    const walked = ops.map((o) => `${o.method} ${o.path}`).sort();
    expect(walked).toEqual(api.routes.map((r) => `${r.method} ${r.path}`).sort());
    expect(ops.length * RUNS).toBeGreaterThanOrEqual(500);
  });

  // One test per operation so a failure names it; the list must match the document (checked above).
  const KEYS = [
    'get /healthz',
    'post /api/goals',
    'get /api/goals',
    'get /api/goals/{id}',
    'get /api/goals/{id}/tree',
    'post /api/goals/{id}/plan',
    'post /api/goals/{id}/start',
    'post /api/goals/{id}/cancel',
    'post /api/goals/{id}/complete',
    'post /api/goals/{id}/accept',
    'post /api/goals/{id}/reject',
    'post /api/goals/{id}/claim',
    'post /api/goals/{id}/save-as-workflow',
    'get /api/workflows',
    'get /api/workflows/{id}',
    'delete /api/workflows/{id}',
    'get /api/workflows/{id}/diff',
    'get /api/workflows/{id}/runs',
    'post /api/workflows/{id}/runs',
    'get /api/runs/{id}',
    'post /api/tokens',
    'get /api/tokens',
    'get /api/tokens/{id}',
    'delete /api/tokens/{id}',
    'post /api/agents',
    'get /api/agents',
    'get /api/agents/{id}',
    'patch /api/agents/{id}',
    'delete /api/agents/{id}',
    'post /api/workflows/{id}/schedules',
    'get /api/schedules',
    'get /api/schedules/{id}',
    'patch /api/schedules/{id}',
    'delete /api/schedules/{id}',
    'post /api/schedules/{id}/backfill',
    'post /api/schedules/{id}/trigger',
    'post /api/schedules/preview',
    'get /api/openapi.json',
  ];

  it('names every operation of the document', () => {
    expect([...KEYS].sort()).toEqual(ops.map((o) => `${o.method} ${o.path}`).sort());
  });

  it.each(KEYS)('%s: no 5xx, our error bodies, nothing written by a refused request', async (key) => {
    const op = ops.find((o) => `${o.method} ${o.path}` === key);
    expect(op).toBeDefined();
    await fc
      .assert(
        fc.asyncProperty(requestArbitrary(op!, ctx, 'hostile'), tokenKind, garbageAuth, (shape, kind, garbage) => check(op!, shape, kind, garbage, 'hostile')),
        { seed: SEED, numRuns: RUNS, path: process.env.HOSTILE_PATH, endOnFailure: !process.env.HOSTILE_SHRINK },
      )
      .catch((err: unknown) => failWith(err, key));
    // The generators reach the route's own checks: each operation refused something.
    const byStatus = statuses.get(key)!;
    if (routeOf(op!)!.scope !== 'public') expect([...byStatus.keys()].some((s) => s >= 400 && s < 500)).toBe(true);
  });

  it('valid-ish requests on every operation: no 5xx (writes allowed)', async () => {
    for (const op of ops) {
      await fc
        .assert(
          fc.asyncProperty(requestArbitrary(op, ctx, 'valid'), (shape) => check(op, shape, 'scoped', '', 'valid')),
          { seed: SEED, numRuns: VALID_RUNS, endOnFailure: true },
        )
        .catch((err: unknown) => failWith(err, 'valid-ish'));
    }
  });

  it('Temporal: every execution and schedule made since the hostile phase began belongs to an accepted request', async () => {
    const owned = (id: string) => [...acceptedIds].some((a) => id.includes(a));
    const executions: string[] = [];
    for await (const wf of api.temporal.workflow.list({ query: `TaskQueue = '${taskQueue}' AND StartTime > '${phaseStart.toISOString()}'` })) executions.push(wf.workflowId);
    expect(executions.filter((id) => !owned(id))).toEqual([]);
    const schedules: string[] = [];
    for await (const s of api.temporal.schedule.list()) if (s.scheduleId.startsWith(`sched-${workflowName}`)) schedules.push(s.scheduleId);
    expect(schedules.filter((id) => !owned(id))).toEqual([]);
    // Prototype pollution payloads reached this very process (the API runs in it).
    expect(Object.prototype).not.toHaveProperty(POLLUTION_MARKER);
    expect((Object.prototype as Record<string, unknown>)[POLLUTION_MARKER]).toBeUndefined();
    expect(sent).toBeGreaterThanOrEqual(500);
  });
});
