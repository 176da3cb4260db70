import type { TConfig } from '../../src/config';
import { SA_ROOT_GOAL_ID, SA_RUN_ID, SA_WORKFLOW_NAME, SA_WORKFLOW_VERSION } from '../../src/domain/searchAttributes';
import type { PrismaClient } from '../../src/db/client';
import { isTerminalRunStatus } from '../../src/domain/runs';
import { http as call, startTestApi, startTestWorker, testConfig, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';
import { patchesIn, recordHistories } from '../support/histories';
import { saveFrozenWorkflow } from '../support/frozenWorkflows';
import { LOCAL_ACTOR } from '../../src/domain/actor';
import { createRunService } from '../../src/services/runs';
import { ZPlan } from '../../src/domain/plans';

/**
 * Saved workflows and runs (SPEC §3-4) end to end: the HTTP API, the real
 * Temporal dev server and real Postgres.
 */

let prisma: PrismaClient;
let config: TConfig;
let worker: Awaited<ReturnType<typeof startTestWorker>>;
let api: Awaited<ReturnType<typeof startTestApi>>;
let crashNextClaim = false;
const taskQueue = uniqueTaskQueue('workflows');

beforeAll(async () => {
  prisma = testPrisma();
  config = testConfig();
  worker = await startTestWorker(config, prisma, taskQueue);
  api = await startTestApi(prisma, taskQueue, {
    crashAfterClaim: () => {
      const crash = crashNextClaim;
      crashNextClaim = false;
      return crash;
    },
  });
});

afterAll(async () => {
  await api?.close();
  await worker?.stop();
  await prisma?.$disconnect();
});

type TJson = any;

const sh = (command: string, extra: Record<string, unknown> = {}) => ({ runtime: 'shell', command, ...extra });
const leaf = (key: string, command: string, extra: Record<string, unknown> = {}) => ({ key, kind: 'leaf', title: key, action: sh(command), ...extra });
/** A unique name per test, so parallel runs and reruns never share versions. */
const unique = (name: string) => `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

async function get(path: string): Promise<TJson> {
  const res = await call('GET', `${api.url}${path}`);
  expect([path, res.status]).toEqual([path, 200]);
  return res.body;
}

async function until(path: string, predicate: (body: TJson) => boolean, what: string, timeoutMs = 30_000): Promise<TJson> {
  let last: TJson;
  return waitFor(
    async () => {
      last = (await call('GET', `${api.url}${path}`)).body;
      return predicate(last) ? last : undefined;
    },
    () => `${what}; last: ${JSON.stringify(last).slice(0, 600)}`,
    timeoutMs,
  );
}

/** A root goal with this plan, run to its end (accepted). */
async function acceptedTree(title: string, plan: Record<string, unknown>): Promise<TJson> {
  const res = await call('POST', `${api.url}/api/goals`, { title, plan });
  expect([res.status, res.body?.error]).toEqual([201, undefined]);
  return until(`/api/goals/${res.body.id}`, (g) => ['done', 'failed', 'cancelled'].includes(g.lifecycle), `goal ${res.body.id} ends`).then((g) => {
    expect([g.lifecycle, g.done_reason, g.failure_reason]).toEqual(['done', 'accepted', null]);
    return g;
  });
}

async function save(goalId: string, body: Record<string, unknown>) {
  return call('POST', `${api.url}/api/goals/${goalId}/save-as-workflow`, body);
}

async function runWf(workflowId: string, body: Record<string, unknown>) {
  return call('POST', `${api.url}/api/workflows/${workflowId}/runs`, body);
}

async function runEnds(runId: string): Promise<TJson> {
  return until(`/api/runs/${runId}`, (r) => isTerminalRunStatus(r.status.status), `run ${runId} ends`);
}

const simplePlan = {
  children: [
    { key: 'build', kind: 'composite', title: 'Build', plan: { children: [leaf('compile', 'true'), leaf('test', 'true')], edges: [{ from: 'compile', to: 'test' }] } },
    leaf('ship', 'printf "%s" "$REPRISE_INPUT_target"'),
  ],
  edges: [{ from: 'build', to: 'ship' }],
};

describe('save, run, replay', () => {
  it('saves an accepted tree with an input and runs it idempotently under a key', async () => {
    const root = await acceptedTree('Release {{inputs.target}}', simplePlan);
    const name = unique('release');
    const saved = await save(root.id, { name, inputs: [{ name: 'target', required: true, description: 'where to ship' }] });
    expect([saved.status, saved.body.error]).toEqual([201, undefined]);
    expect(saved.body).toMatchObject({ name, version: 1, format: 'frozen/v0', fully_frozen: true, source_goal_id: root.id, source_run_id: null, run_count: 0 });
    expect(saved.body.content_hash).toMatch(/^[0-9a-f]{64}$/);
    const wf = saved.body;

    // Shell metacharacters in an input reach the command only as a variable.
    const nasty = `prod"; touch /tmp/reprise-pwned-$$; echo '$(id)' \`id\` {{inputs.target}}`;
    const first = await runWf(wf.id, { idempotency_key: 'k-1', inputs: { target: nasty } });
    expect([first.status, first.body.error]).toEqual([201, undefined]);
    expect(first.body.created).toBe(true);
    const again = await runWf(wf.id, { idempotency_key: 'k-1', inputs: { target: nasty } });
    expect([again.status, again.body.created, again.body.run.id]).toEqual([200, false, first.body.run.id]);

    const run = await runEnds(first.body.run.id);
    expect(run).toMatchObject({ state: 'materialized', status: { status: 'done', reason: 'accepted' }, inputs: { target: nasty }, workflow: { id: wf.id, name, version: 1 } });
    expect(run.temporal.workflow_id).toMatch(new RegExp(`^run-${name}-v1-k-1-[0-9a-f]{10}$`));
    // One run read carries its tree's progress (root, build, compile, test, ship); lists do not.
    expect(run.progress).toEqual({ goals: 5, ended: 5, by_lifecycle: { done: 5 }, current_layer: null, layers: 3 });
    expect((await get(`/api/workflows/${wf.id}/runs`)).items[0].progress).toBeUndefined();
    const tree = await get(`/api/goals/${run.root_goal_id}/tree?include=output`);
    expect(tree.title).toBe(`Release ${nasty}`);
    const ship = tree.children.find((c: TJson) => c.key === 'ship');
    expect(ship.action.command).toBe('printf "%s" "$REPRISE_INPUT_target"');
    expect(ship.output.stdout).toBe(nasty);
    // Every goal carries the workflow, its version and the run.
    const all = [tree, ...tree.children, ...tree.children.flatMap((c: TJson) => c.children)];
    expect(all).toHaveLength(5);
    for (const g of all) expect(g.attribution).toMatchObject({ workflow_id: wf.id, workflow_version: 1, run_id: run.id });

    const replayAfterDone = await runWf(wf.id, { idempotency_key: 'k-1', inputs: { target: nasty } });
    expect([replayAfterDone.status, replayAfterDone.body.run.id]).toEqual([200, run.id]);
    // A replay answers what a read of the run does (but its progress), from one statement to Postgres.
    const { progress: _progress, ...readBack } = await get(`/api/runs/${run.id}`);
    expect(replayAfterDone.body.run).toEqual(readBack);
    const statements: string[] = [];
    const counting = prisma.$extends({
      query: {
        async $allOperations({ operation, model, args, query }) {
          statements.push(`${model ?? ''}.${operation}`);
          return query(args);
        },
      },
    }) as unknown as PrismaClient;
    const service = createRunService({ prisma: counting, temporal: api.temporal, taskQueue });
    const replayed = await service.createRun(LOCAL_ACTOR, wf.id, { idempotencyKey: 'k-1', inputs: { target: nasty } });
    expect([replayed.created, replayed.run.id, replayed.run.tree.root?.lifecycle, statements]).toEqual([false, run.id, 'done', ['.$queryRaw']]);
    const otherInputs = await runWf(wf.id, { idempotency_key: 'k-1', inputs: { target: 'staging' } });
    expect([otherInputs.status, otherInputs.body.error.code]).toEqual([409, 'CONFLICT']);

    const second = await runWf(wf.id, { idempotency_key: 'k-2', inputs: { target: 'staging' } });
    expect(second.status).toBe(201);
    await runEnds(second.body.run.id);
    const runs = await get(`/api/workflows/${wf.id}/runs`);
    expect(runs.total).toBe(2);
    expect(runs.items.map((r: TJson) => [r.idempotency_key, r.title])).toEqual([
      ['k-2', 'Release staging'],
      ['k-1', `Release ${nasty}`],
    ]);
    expect(await prisma.goal.count({ where: { runId: run.id } })).toBe(5);

    const summary = await api.temporal.workflow.getHandle(run.temporal.workflow_id).describe();
    expect([
      summary.typedSearchAttributes.get(SA_WORKFLOW_NAME),
      summary.typedSearchAttributes.get(SA_WORKFLOW_VERSION),
      summary.typedSearchAttributes.get(SA_RUN_ID),
      summary.typedSearchAttributes.get(SA_ROOT_GOAL_ID),
    ]).toEqual([name, 1, run.id, run.root_goal_id]);
    expect(await summary.staticSummary()).toContain(`${name} v1 (target=`);
    // The start names its version (TPerformRunInput.version): no patch marker, nor the search-attribute upsert each costs.
    const history = await api.temporal.workflow.getHandle(run.temporal.workflow_id).fetchHistory();
    const events = history.events ?? [];
    expect(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data?.toString()).toContain('"version":2');
    expect([patchesIn(history), events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length]).toEqual([[], 0]);
    await recordHistories(api.temporal, [{ name: 'performRun-simple-v2', workflowId: run.temporal.workflow_id }]);
  });
});

describe('save: versions and refusals', () => {
  it('gives concurrent saves of one name distinct versions', async () => {
    const root = await acceptedTree('Concurrent saves', { children: [leaf('a', 'true')] });
    const name = unique('concurrent');
    const results = await Promise.all(Array.from({ length: 8 }, () => save(root.id, { name })));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(results.map((r) => r.body.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(results.map((r) => r.body.content_hash)).size).toBe(1);
    const listed = await get(`/api/workflows?name=${name}&limit=5`);
    expect(listed.items.map((w: TJson) => w.version)).toHaveLength(5);
    expect(listed.items[0].frozen_plan).toBeUndefined();
    expect(listed.next_cursor).toEqual(expect.any(String));
    const rest = await get(`/api/workflows?name=${name}&limit=5&cursor=${listed.next_cursor}`);
    expect([...listed.items, ...rest.items].map((w: TJson) => w.version).sort((a: number, b: number) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('refuses what cannot be saved, naming the problem, and writes nothing', async () => {
    const root = await acceptedTree('Refusals {{inputs.who}}', { children: [leaf('a', 'true')] });
    const name = unique('refused');
    const cases: [Record<string, unknown>, number, string, RegExp][] = [
      [{ name, inputs: [{ name: 'bad name' }] }, 400, 'VALIDATION_FAILED', /input names/],
      [{ name, inputs: [{ name: 'who' }, { name: 'who' }] }, 400, 'VALIDATION_FAILED', /declared twice/],
      [{ name }, 400, 'VALIDATION_FAILED', /\{\{inputs\.who\}\} names no declared input/],
      [{ name, inputs: [{ name: 'who' }, { name: 'a-b' }, { name: 'a_b' }] }, 400, 'VALIDATION_FAILED', /REPRISE_INPUT_a_b/],
      [{ name: 'Not A Slug' }, 400, 'VALIDATION_FAILED', /slug/],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await save(root.id, body);
      expect([JSON.stringify(body), res.status, res.body.error?.code]).toEqual([JSON.stringify(body), status, code]);
      expect(res.body.error.message).toMatch(message);
    }
    expect(await prisma.savedWorkflow.count({ where: { name } })).toBe(0);

    const draft = await call('POST', `${api.url}/api/goals`, { title: 'Draft', start: false, plan: { children: [leaf('a', 'true')] } });
    const notAccepted = await save(draft.body.id, { name });
    expect([notAccepted.status, notAccepted.body.error.code]).toEqual([409, 'CONFLICT']);
    expect(notAccepted.body.error.message).toMatch(/only an accepted composite/);
    const leafGoal = await call('POST', `${api.url}/api/goals`, { title: 'Leaf', start: false, action: sh('true') });
    expect((await save(leafGoal.body.id, { name })).status).toBe(409);
    expect((await save('goal_01jd3v8k2m7q9x4w5y6z7a8b9c', { name })).status).toBe(404);
  });

  it("checks the tree against its agent's stored limits", async () => {
    const agentId = `agent_${unique('lim').replace(/-/g, '')}`.slice(0, 32);
    await prisma.agent.create({ data: { id: agentId, name: agentId, ownerUserId: 'user_local', allowedRuntimes: ['shell'], maxDepth: 8, maxChildren: 100, maxGoals: 100 } });
    const root = await acceptedTree('Limits', { children: [leaf('a', 'true'), leaf('b', 'true'), leaf('c', 'true')] });
    // The tree was built under other limits; its agent's stored ones now allow two children.
    await prisma.goal.updateMany({ where: { rootId: root.id }, data: { agentId } });
    await prisma.agent.update({ where: { id: agentId }, data: { maxChildren: 2 } });
    const res = await save(root.id, { name: unique('limits') });
    expect([res.status, res.body.error.code]).toEqual([400, 'PLAN_INVALID']);
    expect(res.body.error.message).toMatch(/max_children.*at most 2/);
  });
});

describe('runs: inputs, keys and crashes', () => {
  let wf: TJson;
  beforeAll(async () => {
    const root = await acceptedTree('Greet {{inputs.who}} ({{inputs.tone}})', { children: [leaf('say', 'printf "%s" "$REPRISE_INPUT_who"')] });
    wf = (await save(root.id, { name: unique('greet'), inputs: [{ name: 'who', required: true }, { name: 'tone', default: 'warm' }] })).body;
  });

  it('answers caller mistakes with 400 and writes nothing', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ idempotency_key: 'x1', inputs: { who: 'a', nope: 'b' } }, /unknown input "nope"/],
      [{ idempotency_key: 'x1', inputs: {} }, /input "who" is required/],
      [{ idempotency_key: 'has space', inputs: { who: 'a' } }, /printable/],
      [{ inputs: { who: 'a' } }, /idempotency_key/],
      // The keys Reprise mints for nested runs and schedule fires: a caller's would claim those runs first.
      [{ idempotency_key: 'nested:goal_01jd3v8k2m7q9x4w5y6z7a8b9c', inputs: { who: 'a' } }, /idempotency_key: keys starting with "nested:" are reserved/],
      [{ idempotency_key: 'sched-weekly-report-7q9x4w5y6z@2026-12-01T09:00:00.000Z', inputs: { who: 'a' } }, /idempotency_key: keys starting with "sched-" are reserved/],
    ];
    for (const [body, message] of cases) {
      const res = await runWf(wf.id, body);
      expect([JSON.stringify(body), res.status, res.body.error.code]).toEqual([JSON.stringify(body), 400, 'VALIDATION_FAILED']);
      expect(res.body.error.message).toMatch(message);
    }
    expect(await prisma.run.count({ where: { savedWorkflowId: wf.id } })).toBe(0);
    expect((await runWf('wf_01jd3v8k2m7q9x4w5y6z7a8b9c', { idempotency_key: 'x', inputs: {} })).status).toBe(404);
  });

  it('gives 50 concurrent requests with one key one run and one tree', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => runWf(wf.id, { idempotency_key: 'storm', inputs: { who: 'everyone' } })));
    expect(results.map((r) => r.status).sort((a, b) => a - b)).toEqual([200, ...Array(48).fill(200), 201].sort((a, b) => a - b));
    expect(new Set(results.map((r) => r.body.run.id)).size).toBe(1);
    const run = await runEnds(results[0]?.body.run.id);
    expect(run.status.status).toBe('done');
    expect(await prisma.run.count({ where: { savedWorkflowId: wf.id, idempotencyKey: 'storm' } })).toBe(1);
    expect(await prisma.goal.count({ where: { runId: run.id } })).toBe(2);
    const root = await get(`/api/goals/${run.root_goal_id}`);
    expect(root.title).toBe('Greet everyone (warm)');
  });

  it('heals a crash between claim and start when the key is replayed', async () => {
    crashNextClaim = true;
    const claimed = await runWf(wf.id, { idempotency_key: 'crash-1', inputs: { who: 'phoenix' } });
    expect([claimed.status, claimed.body.run.state, claimed.body.run.status.status]).toEqual([201, 'claimed', 'pending']);
    // Nothing started it: no Temporal workflow, no goals.
    await expect(api.temporal.workflow.getHandle(claimed.body.run.temporal.workflow_id).describe()).rejects.toThrow(/not found/i);
    const replay = await runWf(wf.id, { idempotency_key: 'crash-1', inputs: { who: 'phoenix' } });
    expect([replay.status, replay.body.created, replay.body.run.id]).toEqual([200, false, claimed.body.run.id]);
    const run = await runEnds(claimed.body.run.id);
    expect([run.state, run.status.status]).toEqual(['materialized', 'done']);
    expect(await prisma.goal.count({ where: { runId: run.id } })).toBe(2);
  });

  it('refuses to delete a workflow with runs, and deletes one without', async () => {
    const res = await call('DELETE', `${api.url}/api/workflows/${wf.id}`);
    expect([res.status, res.body.error.code]).toEqual([409, 'CONFLICT']);
    const root = await acceptedTree('Disposable', { children: [leaf('a', 'true')] });
    const other = (await save(root.id, { name: unique('disposable') })).body;
    expect((await call('DELETE', `${api.url}/api/workflows/${other.id}`)).status).toBe(204);
    expect((await call('GET', `${api.url}/api/workflows/${other.id}`)).status).toBe(404);
  });
});

describe('run numbers', () => {
  it('numbers runs 1..n by creation, one number per run under concurrent triggers, the same in every answer and on every page', async () => {
    const draft = await call('POST', `${api.url}/api/goals`, { title: 'Numbers', start: false, plan: { children: [leaf('a', 'true')] } });
    expect(draft.status).toBe(201);
    const plan = ZPlan.parse({ children: [leaf('a', 'true')] });
    const wf = await saveFrozenWorkflow(prisma, { agentId: draft.body.agent_id, name: unique('numbered'), title: 'Numbered', plan });
    const first = await runWf(wf.id, { idempotency_key: 'n-first' });
    expect([first.status, first.body.run.number]).toEqual([201, 1]);

    // Racing triggers: each run gets its own number, none twice, none skipped, and a replay keeps its number.
    const racing = await Promise.all(Array.from({ length: 8 }, (_, i) => runWf(wf.id, { idempotency_key: `n-race-${i}` })));
    expect(racing.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(racing.map((r) => r.body.run.number as number).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    const replays = await Promise.all(racing.map((r) => runWf(wf.id, { idempotency_key: r.body.run.idempotency_key })));
    expect(replays.map((r) => [r.status, r.body.run.number])).toEqual(racing.map((r) => [200, r.body.run.number]));

    // Newest first in pages of 4: the numbers count down across pages, and each run reads the same alone.
    const listed: TJson[] = [];
    let cursor: string | null = null;
    do {
      const page: TJson = await get(`/api/workflows/${wf.id}/runs?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.total).toBe(9);
      listed.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    expect(listed.map((r) => r.number)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
    for (const r of listed.slice(0, 3)) expect((await get(`/api/runs/${r.id}`)).number).toBe(r.number);

    // Another version of the workflow counts its own runs from 1.
    const v2 = await saveFrozenWorkflow(prisma, { agentId: draft.body.agent_id, name: wf.name, title: 'Numbered again', plan });
    expect((await runWf(v2.id, { idempotency_key: 'n-first' })).body.run.number).toBe(1);
    await Promise.all(listed.map((r) => runEnds(r.id)));
  });
});

describe('partial freeze, lineage and diff', () => {
  it('runs a workflow saved with an unplanned composite: it blocks, takes a plan, completes; its root saves as the next version', async () => {
    const root = await acceptedTree('Audit {{inputs.mode}}', {
      children: [leaf('probe', `printf '{"full":"%s"}' "$REPRISE_INPUT_mode"`), { key: 'deep', kind: 'composite', title: 'Deep audit ({{inputs.mode}})' }],
      edges: [{ from: 'probe', to: 'deep', on: { when: 'output.full == "yes"' } }],
    });
    const name = unique('audit');
    const v1 = (await save(root.id, { name, inputs: [{ name: 'mode', default: 'no' }] })).body;
    expect([v1.version, v1.fully_frozen]).toEqual([1, false]);
    expect(v1.frozen_plan.root.plan.children[1]).toMatchObject({ key: 'deep', kind: 'composite', plan: null });

    const created = await runWf(v1.id, { idempotency_key: 'full-1', inputs: { mode: 'yes' } });
    const blocked = await until(`/api/runs/${created.body.run.id}`, (r) => r.status.status === 'blocked', 'the run blocks on its unplanned composite');
    expect(blocked.status.reason).toBe('goal "deep" needs a plan');
    // A replay of the key shows the same blocked goal (its tree state comes from the replay's own statement).
    const replayedBlocked = await runWf(v1.id, { idempotency_key: 'full-1', inputs: { mode: 'yes' } });
    expect([replayedBlocked.status, replayedBlocked.body.run.status]).toEqual([200, blocked.status]);
    const deep = await get(`/api/goals/${blocked.status.goal_id}`);
    expect([deep.title, deep.attribution.plan_frozen, deep.planned_at]).toEqual(['Deep audit (yes)', false, null]);
    const planned = await call('POST', `${api.url}/api/goals/${deep.id}/plan`, { children: [leaf('scan', 'true'), leaf('report', 'true')], edges: [{ from: 'scan', to: 'report' }] });
    expect([planned.status, planned.body.error]).toEqual([200, undefined]);
    const run = await runEnds(created.body.run.id);
    expect(run.status.status).toBe('done');
    // Plans submitted during the run carry the run too.
    expect(await prisma.goal.count({ where: { runId: run.id } })).toBe(5);

    // A composite whose plan came from the workflow takes no other.
    const frozenRun = await runWf(v1.id, { idempotency_key: 'frozen-check', inputs: {} });
    const frozenDone = await runEnds(frozenRun.body.run.id);
    const frozenRoot = await get(`/api/goals/${frozenDone.root_goal_id}`);
    const again = await call('POST', `${api.url}/api/goals/${frozenRoot.id}/plan`, { children: [leaf('x', 'true')] });
    expect([again.status, again.body.error.code]).toEqual([409, 'PLAN_ALREADY_INSTALLED']);
    await prisma.goal.update({ where: { id: frozenRoot.id }, data: { plannedAt: null } });
    const stamped = await call('POST', `${api.url}/api/goals/${frozenRoot.id}/plan`, { children: [leaf('x', 'true')] });
    expect([stamped.status, stamped.body.error.message]).toEqual([409, expect.stringMatching(/takes its plan from workflow/)]);

    const v2res = await save(run.root_goal_id, { name });
    expect([v2res.status, v2res.body.error]).toEqual([201, undefined]);
    const v2 = v2res.body;
    expect(v2).toMatchObject({ version: 2, fully_frozen: true, source_run_id: run.id, inputs: [{ name: 'mode', default: 'no' }] });
    expect(v2.frozen_plan.root.title).toBe('Audit {{inputs.mode}}');
    expect(v2.frozen_plan.root.plan.children[1]).toMatchObject({ key: 'deep', title: 'Deep audit ({{inputs.mode}})', plan: { children: [{ key: 'scan' }, { key: 'report' }] } });

    const diff = await get(`/api/workflows/${v2.id}/diff?against=${v1.id}`);
    expect(diff).toMatchObject({ identical: false, workflow: { version: 2 }, against: { version: 1 } });
    expect(diff.goals.added.map((g: TJson) => g.path)).toEqual(['deep/scan', 'deep/report'].sort());
    expect(diff.goals.removed).toEqual([]);
    expect(diff.goals.changed).toEqual([{ path: 'deep', fields: [{ field: 'planned', from: false, to: true }] }]);
    expect(diff.edges.added).toEqual([{ parent_path: 'deep', from: 'scan', to: 'report', on: 'succeeded' }]);
    const other = await acceptedTree('Other', { children: [leaf('a', 'true')] });
    const otherWf = (await save(other.id, { name: unique('other') })).body;
    expect((await call('GET', `${api.url}/api/workflows/${v2.id}/diff?against=${otherWf.id}`)).status).toBe(400);
  });

  it('derives a failed status, and refuses a failed key', async () => {
    const root = await acceptedTree('Check {{inputs.ok}}', { children: [leaf('gate', 'test "$REPRISE_INPUT_ok" != "no"')] });
    const wf = (await save(root.id, { name: unique('gate'), inputs: [{ name: 'ok', default: 'yes' }] })).body;
    const created = await runWf(wf.id, { idempotency_key: 'bad', inputs: { ok: 'no' } });
    const run = await runEnds(created.body.run.id);
    expect(run.status).toMatchObject({ status: 'failed', reason: expect.stringMatching(/child "gate" failed/) });
    expect(run.state).toBe('materialized');
    // The tree failed; instantiation did not: the key still names this run.
    expect((await runWf(wf.id, { idempotency_key: 'bad', inputs: { ok: 'no' } })).status).toBe(200);
  });
});

describe('nested workflows, failed instantiation, cancellation', () => {
  it('runs a child naming another workflow as a nested run, in live trees and in runs', async () => {
    const inner = await acceptedTree('Hello {{inputs.who}}', { children: [leaf('say', 'printf "%s" "$REPRISE_INPUT_who"')] });
    const innerName = unique('hello');
    const innerWf = (await save(inner.id, { name: innerName, inputs: [{ name: 'who', required: true }] })).body;

    const bad = await call('POST', `${api.url}/api/goals`, { title: 'Bad ref', plan: { children: [{ key: 'x', kind: 'composite', title: 'X', workflow: `${innerName}@9` }] } });
    expect([bad.status, bad.body.error.message]).toEqual([400, expect.stringMatching(new RegExp(`no workflow ${innerName}@9`))]);
    const missing = await call('POST', `${api.url}/api/goals`, { title: 'Bad inputs', plan: { children: [{ key: 'x', kind: 'composite', title: 'X', workflow: `${innerName}@1` }] } });
    expect([missing.status, missing.body.error.message]).toEqual([400, expect.stringMatching(/input "who" is required/)]);

    const outer = await acceptedTree('Outer {{inputs.team}}', {
      children: [leaf('before', 'true'), { key: 'greet', kind: 'composite', title: 'Greet', workflow: `${innerName}@1`, inputs: { who: 'team {{inputs.team}}' } }],
      edges: [{ from: 'before', to: 'greet' }],
    });
    const live = await get(`/api/goals/${outer.id}/tree?include=output`);
    const liveGreet = live.children.find((c: TJson) => c.key === 'greet');
    expect([liveGreet.lifecycle, liveGreet.attribution.workflow_id, liveGreet.children[0].output.stdout]).toEqual(['done', innerWf.id, 'team {{inputs.team}}']);

    const outerWf = (await save(outer.id, { name: unique('outer'), inputs: [{ name: 'team', required: true }] })).body;
    expect(outerWf.frozen_plan.root.plan.children[1]).toEqual({ key: 'greet', kind: 'composite', title: 'Greet', workflow: `${innerName}@1`, inputs: { who: 'team {{inputs.team}}' } });
    const created = await runWf(outerWf.id, { idempotency_key: 'nest-1', inputs: { team: 'blue' } });
    const run = await runEnds(created.body.run.id);
    expect(run.status.status).toBe('done');
    const tree = await get(`/api/goals/${run.root_goal_id}/tree?include=output`);
    const greet = tree.children.find((c: TJson) => c.key === 'greet');
    expect(greet.children[0].output.stdout).toBe('team blue');
    const nested = await get(`/api/workflows/${innerWf.id}/runs`);
    const nestedRun = nested.items.find((r: TJson) => r.parent_run_id === run.id);
    expect(nestedRun).toMatchObject({ root_goal_id: greet.id, inputs: { who: 'team blue' }, status: { status: 'done' }, state: 'materialized' });
    expect(nestedRun.temporal.workflow_id).toMatch(new RegExp(`^run-${innerName}-v1-`));
    await recordHistories(api.temporal, [
      { name: 'performRun-nested-outer-v2', workflowId: run.temporal.workflow_id },
      { name: 'performRun-nested-inner-v2', workflowId: nestedRun.temporal.workflow_id },
      { name: 'pursueGoal-nested-run-child-v2', workflowId: live.temporal.workflow_id },
    ]);

    // A run whose nested workflow can no longer be found fails to instantiate, says why, and its key is spent.
    await prisma.user.upsert({ where: { id: 'user_elsewhere' }, create: { id: 'user_elsewhere', name: 'elsewhere' }, update: {} });
    await prisma.savedWorkflow.update({ where: { id: innerWf.id }, data: { ownerUserId: 'user_elsewhere' } });
    try {
      const doomed = await runWf(outerWf.id, { idempotency_key: 'nest-2', inputs: { team: 'red' } });
      expect(doomed.status).toBe(201);
      const failed = await until(`/api/runs/${doomed.body.run.id}`, (r) => r.state === 'failed', 'the run fails to instantiate');
      expect(failed.status).toMatchObject({ status: 'failed', reason: expect.stringMatching(new RegExp(`instantiation failed: .*no workflow ${innerName}@1`)) });
      const root = await get(`/api/goals/${failed.root_goal_id}`);
      expect([root.lifecycle, root.failure_reason]).toEqual(['failed', expect.stringMatching(/could not be instantiated/)]);
      const replay = await runWf(outerWf.id, { idempotency_key: 'nest-2', inputs: { team: 'red' } });
      expect([replay.status, replay.body.error.message]).toEqual([409, expect.stringMatching(/failed .*use a new key/)]);
    } finally {
      await prisma.savedWorkflow.update({ where: { id: innerWf.id }, data: { ownerUserId: 'user_local' } });
    }
  });

  it('ends a run whose tree is cancelled as cancelled', async () => {
    // A workflow whose leaf waits for a person, so the run is still going when it is cancelled.
    const manual = await call('POST', `${api.url}/api/goals`, { title: 'Manual', plan: { children: [{ key: 'ok', kind: 'leaf', title: 'OK', action: { runtime: 'manual' } }] } });
    const ok = (await get(`/api/goals/${manual.body.id}/tree`)).children[0];
    await until(`/api/goals/${ok.id}`, (g) => g.waiting_for === 'completion', 'the manual leaf waits');
    await call('POST', `${api.url}/api/goals/${ok.id}/complete`, { outcome: 'succeeded' });
    await until(`/api/goals/${manual.body.id}`, (g) => g.lifecycle === 'done', 'the manual tree ends');
    const manualWf = (await save(manual.body.id, { name: unique('manual') })).body;
    const created = await runWf(manualWf.id, { idempotency_key: 'c1', inputs: {} });
    const blocked = await until(`/api/runs/${created.body.run.id}`, (r) => r.status.status === 'blocked', 'the run waits on its manual leaf');
    expect(blocked.status.reason).toBe('goal "ok" waiting for someone to complete it');
    const cancelled = await call('POST', `${api.url}/api/goals/${blocked.root_goal_id}/cancel`);
    expect(cancelled.status).toBe(200);
    const run = await runEnds(created.body.run.id);
    expect(run.status.status).toBe('cancelled');
    const described = await waitFor(async () => {
      const d = await api.temporal.workflow.getHandle(run.temporal.workflow_id).describe();
      return d.status.name === 'RUNNING' ? undefined : d;
    }, 'the run workflow closes');
    expect(described.status.name).toBe('COMPLETED');
  });
});

describe('inputs never make a text longer than its field allows', () => {
  const a1000 = 'x'.repeat(1000);
  const intent833 = '{{inputs.a}}'.repeat(833);

  it('refuses the measured case (833 placeholders, a 1,000-character input) with a 400 naming the field, and writes nothing', async () => {
    // Saving such a text now is refused: too many placeholders in one text.
    const goal = await call('POST', `${api.url}/api/goals`, { title: 'Amplify', intent: intent833, plan: { children: [leaf('a', 'true')] } });
    expect([goal.status, goal.body.error]).toEqual([201, undefined]);
    await until(`/api/goals/${goal.body.id}`, (g) => g.lifecycle === 'done', 'the tree is accepted');
    const refused = await save(goal.body.id, { name: unique('amplify'), inputs: [{ name: 'a' }] });
    expect([refused.status, refused.body.error.code, refused.body.error.details]).toEqual([400, 'VALIDATION_FAILED', [{ path: 'intent', message: '833 placeholders; a text has at most 100' }]]);

    // A version saved before that cap still reads; running it with a 1,000-character input is a 400 naming the field.
    const legacy = await saveFrozenWorkflow(prisma, {
      agentId: goal.body.agent_id,
      name: unique('amplify-old'),
      title: 'Amplify',
      intent: intent833,
      plan: ZPlan.parse({ children: [leaf('a', 'true')] }),
      inputs: [{ name: 'a' }],
    });
    const res = await runWf(legacy.id, { idempotency_key: 'amp-1', inputs: { a: a1000 } });
    const message = 'with its inputs substituted it would be 833000 characters; this field holds at most 10000';
    expect([res.status, res.body.error.code, res.body.error.message, res.body.error.details]).toEqual([400, 'VALIDATION_FAILED', `invalid inputs: intent: ${message}`, [{ path: 'intent', message }]]);
    expect(await prisma.run.count({ where: { savedWorkflowId: legacy.id } })).toBe(0);
  });

  it('names every text that would not fit, with its path; inputs that fit run', async () => {
    const root = await call('POST', `${api.url}/api/goals`, { title: 'Fits {{inputs.a}}', intent: '{{inputs.a}}'.repeat(100), plan: { children: [{ ...leaf('step', 'true'), title: 'Step {{inputs.a}}' }] } });
    await until(`/api/goals/${root.body.id}`, (g) => g.lifecycle === 'done', 'the tree is accepted');
    const wf = (await save(root.body.id, { name: unique('fits'), inputs: [{ name: 'a' }] })).body;
    const res = await runWf(wf.id, { idempotency_key: 'too-long', inputs: { a: 'y'.repeat(200) } });
    expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(res.body.error.details.map((d: TJson) => d.path)).toEqual(['title', 'intent', 'plan.children[0].title']);
    expect(res.body.error.message).toMatch(/plan\.children\[0\]\.title: with its inputs substituted it would be 205 characters; this field holds at most 200/);
    expect(await prisma.run.count({ where: { savedWorkflowId: wf.id } })).toBe(0);
    const fits = await runWf(wf.id, { idempotency_key: 'fits', inputs: { a: 'y'.repeat(90) } });
    expect(fits.status).toBe(201);
    expect((await runEnds(fits.body.run.id)).title).toBe(`Fits ${'y'.repeat(90)}`);
  });

  it('fails a nested run whose inputs would not fit its texts, recording the reason (no 500, no stack)', async () => {
    const inner = await acceptedTree('Hello {{inputs.who}}', { children: [{ ...leaf('say', 'true'), title: 'Say {{inputs.who}}' }] });
    const innerName = unique('hello-long');
    const innerWf = (await save(inner.id, { name: innerName, inputs: [{ name: 'who', required: true }] })).body;
    const outer = await acceptedTree('Outer', { children: [{ key: 'greet', kind: 'composite', title: 'Greet', workflow: `${innerName}@1`, inputs: { who: '{{inputs.team}}' } }] });
    const outerWf = (await save(outer.id, { name: unique('outer-long'), inputs: [{ name: 'team', required: true }] })).body;

    // The outer run's own texts fit (a nested input holds 10,000 characters); the nested workflow's title does not.
    const created = await runWf(outerWf.id, { idempotency_key: 'long-team', inputs: { team: 'z'.repeat(300) } });
    expect([created.status, created.body.error]).toEqual([201, undefined]);
    const run = await runEnds(created.body.run.id);
    expect(run.status.status).toBe('failed');
    const nested = (await get(`/api/workflows/${innerWf.id}/runs`)).items.find((r: TJson) => r.parent_run_id === run.id);
    const why = /plan\.children\[0\]\.title: with its inputs substituted it would be 304 characters; this field holds at most 200/;
    expect(nested).toMatchObject({ state: 'failed', status: { status: 'failed', reason: expect.stringMatching(why) } });
    expect(nested.error).toMatch(why);
    expect(nested.error).not.toMatch(/\n\s+at /);
    const greet = await get(`/api/goals/${nested.root_goal_id}`);
    expect([greet.lifecycle, greet.failure_reason]).toEqual(['failed', expect.stringMatching(why)]);
    // Nothing of the nested workflow's tree was written under it.
    expect(await prisma.goal.count({ where: { parentId: greet.id } })).toBe(0);
  });
});
