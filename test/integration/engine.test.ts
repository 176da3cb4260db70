import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TConfig } from '../../src/config';
import type { PrismaClient } from '../../src/db/client';
import { LOCAL_ACTOR } from '../../src/domain/actor';
import { ZPlan } from '../../src/domain/plans';
import { createGoalService } from '../../src/services/goals';
import { OPEN_GOAL_LOCALLY_PATCH } from '../../src/workflows/pursueGoal';
import { WHEN_STEP_BUDGET_PATCH } from '../../src/workflows/walk';
import { treeHistoryStats } from '../support/historyStats';
import { authFor, http as call, startTestApi, startTestWorker, testConfig, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';
import { patchesIn, recordHistories } from '../support/histories';

/**
 * The execution engine end to end (SPEC §2), through the HTTP API, on the
 * real Temporal dev server and real Postgres.
 */

let prisma: PrismaClient;
let config: TConfig;
let worker: Awaited<ReturnType<typeof startTestWorker>>;
let api: Awaited<ReturnType<typeof startTestApi>>;
let loopback: Server;
let loopbackUrl: string;
const taskQueue = uniqueTaskQueue('engine');
/** Side effects of commands land in files here, to count them. */
const effects = mkdtempSync(path.join(tmpdir(), 'reprise-effects-'));

beforeAll(async () => {
  prisma = testPrisma();
  config = testConfig();
  worker = await startTestWorker(config, prisma, taskQueue);
  api = await startTestApi(prisma, taskQueue);
  loopback = http.createServer((req, res) => {
    if (req.url === '/ok') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ items: 3, method: req.method }));
    } else {
      res.statusCode = 503;
      res.end('down for maintenance');
    }
  });
  await new Promise<void>((r) => loopback.listen(0, '127.0.0.1', () => r()));
  loopbackUrl = `http://127.0.0.1:${(loopback.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await api?.close();
  await worker?.stop();
  await prisma?.$disconnect();
  await new Promise((r) => loopback?.close(r));
});

type TJson = any;

const sh = (command: string, extra: Record<string, unknown> = {}) => ({ runtime: 'shell', command, ...extra });
const leaf = (key: string, action: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ key, kind: 'leaf', title: key, action, ...extra });
const mark = (name: string) => sh(`echo x >> ${path.join(effects, name)}`);
const count = (name: string): number => {
  try {
    return readFileSync(path.join(effects, name), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

async function create(body: Record<string, unknown>): Promise<TJson> {
  const res = await call('POST', `${api.url}/api/goals`, { title: 'Engine test', ...body });
  expect([res.status, res.body]).toEqual([201, expect.anything()]);
  return res.body;
}

async function goal(id: string): Promise<TJson> {
  return (await call('GET', `${api.url}/api/goals/${id}`)).body;
}

async function until(id: string, predicate: (g: TJson) => boolean, what: string, timeoutMs = 30_000): Promise<TJson> {
  let last: TJson;
  return waitFor(
    async () => {
      last = await goal(id);
      return predicate(last) ? last : undefined;
    },
    () => `${what} (goal is ${JSON.stringify({ lifecycle: last?.lifecycle, waiting_for: last?.waiting_for, failure_reason: last?.failure_reason })})`,
    timeoutMs,
  );
}

const ended = (id: string) => until(id, (g) => ['done', 'failed', 'cancelled'].includes(g.lifecycle), 'the goal to end');

async function tree(id: string): Promise<TJson> {
  const res = await call('GET', `${api.url}/api/goals/${id}/tree?include=output`);
  expect(res.status).toBe(200);
  return res.body;
}

/** `{key: "lifecycle/reason"}` for every goal in a tree, nested keys joined by "/". */
function states(node: TJson, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of node.children) {
    const key = prefix + c.key;
    out[key] = c.done_reason ? `${c.lifecycle}/${c.done_reason}` : c.lifecycle;
    Object.assign(out, states(c, `${key}/`));
  }
  return out;
}

describe('composite goals', () => {
  it('runs a fan-out, a join and a three-level nested tree to done/accepted', async () => {
    const root = await create({
      title: 'Nightly report',
      plan: {
        children: [
          leaf('fetch-a', mark('fan-a')),
          leaf('fetch-b', mark('fan-b')),
          leaf('merge', mark('merge')),
          {
            key: 'publish',
            kind: 'composite',
            title: 'Publish',
            plan: {
              children: [
                leaf('render', mark('render')),
                { key: 'ship', kind: 'composite', title: 'Ship', plan: { children: [leaf('upload', mark('upload'))] } },
              ],
              edges: [{ from: 'render', to: 'ship' }],
            },
          },
        ],
        edges: [
          { from: 'fetch-a', to: 'merge' },
          { from: 'fetch-b', to: 'merge' },
          { from: 'merge', to: 'publish', on: 'succeeded' },
        ],
      },
    });
    const done = await ended(root.id);
    expect(done).toMatchObject({ lifecycle: 'done', done_reason: 'accepted', kind: 'composite' });
    const t = await tree(root.id);
    expect(states(t)).toEqual({
      'fetch-a': 'done/accepted',
      'fetch-b': 'done/accepted',
      merge: 'done/accepted',
      publish: 'done/accepted',
      'publish/render': 'done/accepted',
      'publish/ship': 'done/accepted',
      'publish/ship/upload': 'done/accepted',
    });
    expect(t.edges).toEqual([
      { from: 'fetch-a', to: 'merge', on: 'succeeded' },
      { from: 'fetch-b', to: 'merge', on: 'succeeded' },
      { from: 'merge', to: 'publish', on: 'succeeded' },
    ]);
    for (const name of ['fan-a', 'fan-b', 'merge', 'render', 'upload']) expect([name, count(name)]).toEqual([name, 1]);

    // Nested composites run as child workflows under deterministic, readable ids.
    const publish = t.children.find((c: TJson) => c.key === 'publish');
    expect(publish.temporal.workflow_id).toBe(`goal-publish-${publish.id}`);
    const description = await api.temporal.workflow.getHandle(publish.temporal.workflow_id).describe();
    expect(description.status.name).toBe('COMPLETED');
    // A root opens in its first workflow task and finishes in its last, by local activities its start asked for (no
    // patch marker, no search-attribute upsert); a child opens and finishes by regular ones (see pursueGoal).
    const handleHistory = (workflowId: string) => api.temporal.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = (history: Awaited<ReturnType<typeof handleHistory>>) =>
      (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : []));
    const rootHistory = await handleHistory(root.temporal.workflow_id);
    expect(patchesIn(rootHistory)).not.toContain(OPEN_GOAL_LOCALLY_PATCH);
    expect((rootHistory.events ?? []).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toEqual([]);
    expect(scheduled(rootHistory)).not.toEqual(expect.arrayContaining(['openGoal']));
    expect(scheduled(rootHistory)).not.toEqual(expect.arrayContaining(['finishGoal']));
    expect((rootHistory.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length).toBe(2);
    expect(scheduled(await handleHistory(publish.temporal.workflow_id))).toEqual(expect.arrayContaining(['openGoal', 'finishGoal']));
    const ship = publish.children.find((c: TJson) => c.key === 'ship');
    await recordHistories(api.temporal, [
      { name: 'pursueGoal-engine-nested-root-own-steps-local', workflowId: root.temporal.workflow_id },
      { name: 'pursueGoal-engine-nested-publish', workflowId: publish.temporal.workflow_id },
      { name: 'pursueGoal-engine-nested-ship', workflowId: ship.temporal.workflow_id },
    ]);
  });

  it('fails a composite naming the failed child, runs the failure branch, and skips what can no longer run', async () => {
    const root = await create({
      plan: {
        children: [
          leaf('build', sh('echo "compile error" >&2; exit 2')),
          leaf('notify', sh('echo notified')),
          leaf('deploy', sh('echo deployed')),
          leaf('announce', sh('echo announced')),
        ],
        edges: [
          { from: 'build', to: 'notify', on: 'failed' },
          { from: 'build', to: 'deploy', on: 'succeeded' },
          { from: 'deploy', to: 'announce', on: 'always' },
        ],
      },
    });
    const done = await ended(root.id);
    expect(done.lifecycle).toBe('failed');
    expect(done.failure_reason).toBe('child "build" failed: the command exited with code 2');
    const t = await tree(root.id);
    expect(states(t)).toEqual({ build: 'failed', notify: 'done/accepted', deploy: 'done/skipped', announce: 'done/skipped' });
    const deploy = t.children.find((c: TJson) => c.key === 'deploy');
    expect(deploy.output.skipped_because).toEqual(['build → deploy: fires on succeeded, but it failed']);
    await recordHistories(api.temporal, [{ name: 'pursueGoal-engine-failure-branch', workflowId: root.temporal.workflow_id }]);
  });

  it('starts a child with join N once N edges fired', async () => {
    const root = await create({
      plan: {
        children: [leaf('mirror-1', sh('exit 1')), leaf('mirror-2', sh('true')), leaf('use-any', sh('echo got one'), { join: 1 })],
        edges: [
          { from: 'mirror-1', to: 'use-any', on: 'succeeded' },
          { from: 'mirror-2', to: 'use-any', on: 'succeeded' },
        ],
      },
    });
    await ended(root.id);
    const t = await tree(root.id);
    // mirror-1 failed, so the root fails; but use-any ran on mirror-2's edge alone.
    expect(states(t)).toEqual({ 'mirror-1': 'failed', 'mirror-2': 'done/accepted', 'use-any': 'done/accepted' });
    expect(t.children[2].join).toBe(1);
  });

  it('fires timed_out edges when a leaf times out', async () => {
    const root = await create({
      plan: {
        children: [leaf('slow', sh('sleep 20', { timeout_s: 1 })), leaf('fallback', sh('echo fallback')), leaf('next', sh('true'))],
        edges: [
          { from: 'slow', to: 'fallback', on: 'timed_out' },
          { from: 'slow', to: 'next', on: 'succeeded' },
        ],
      },
    });
    await ended(root.id);
    const t = await tree(root.id);
    expect(states(t)).toEqual({ slow: 'failed', fallback: 'done/accepted', next: 'done/skipped' });
    expect(t.children[0].failure_reason).toBe('the command timed out after 1s and was killed');
  });

  it('evaluates `when` expressions over the predecessor result (exit code, JSON output)', async () => {
    const root = await create({
      plan: {
        children: [
          leaf('count', sh(`echo '{"rows": 42, "source": "api"}'`)),
          leaf('big', sh('echo big')),
          leaf('small', sh('echo small')),
          leaf('missing-field', sh('echo never')),
        ],
        edges: [
          { from: 'count', to: 'big', on: { when: 'exit_code == 0 && output.rows > 10' } },
          { from: 'count', to: 'small', on: { when: 'output.rows <= 10' } },
          { from: 'count', to: 'missing-field', on: { when: 'output.nope == 1' } },
        ],
      },
    });
    await ended(root.id);
    const t = await tree(root.id);
    expect(states(t)).toEqual({ count: 'done/accepted', big: 'done/accepted', small: 'done/skipped', 'missing-field': 'done/skipped' });
    expect(t.children[3].output.skipped_because[0]).toMatch(/^count → missing-field: when "output.nope == 1": /);
    await recordHistories(api.temporal, [{ name: 'pursueGoal-engine-when', workflowId: root.temporal.workflow_id }]);
  });

  it('settles ends that arrive in one activation past the `when` step budget over several, every edge still evaluated', async () => {
    // Leaders each with a costly `when` edge to a follower (about two thirds of one edge's budget: 15 fit a
    // step), all ending in one activation. The workflow worker is held off (workflow and activity workers
    // apart, on a queue of their own) until every leader's end is in the history, so the ends arrive together
    // whatever the load; the walk then settles them over several activations, and the history records the
    // step-budget patch marker.
    const leaders = 24;
    const queue = uniqueTaskQueue('when-budget');
    const goals = createGoalService({ prisma, temporal: api.temporal, taskQueue: queue, engine: config.engine });
    const barrier = path.join(effects, `when-budget-${Date.now()}`);
    const items = `echo "{\\"items\\": [$(seq -s, 0 599)]}"`;
    const children = Array.from({ length: leaders }, (_, i) => [
      leaf(`lead-${i}`, sh(`while [ ! -e ${barrier} ]; do sleep 0.05; done; ${items}`)),
      leaf(`follow-${i}`, sh('true')),
    ]).flat();
    const edges = Array.from({ length: leaders }, (_, i) => ({ from: `lead-${i}`, to: `follow-${i}`, on: { when: 'output.items.all(i, i in output.items)' } }));

    let workflows: Awaited<ReturnType<typeof startTestWorker>> | undefined = await startTestWorker(config, prisma, queue, 'workflows');
    const activities = await startTestWorker(config, prisma, queue, 'activities');
    try {
      const root = await goals.createGoal(LOCAL_ACTOR, { kind: 'composite', title: 'Ends past the step budget', plan: ZPlan.parse({ parallelism: 2 * leaders, children, edges }), start: true });
      const handle = api.temporal.workflow.getHandle(root.temporalWorkflowId);
      const pendingLeaves = async () => ((await handle.describe()).raw.pendingActivities ?? []).filter((a) => a.activityType?.name === 'runLeaf').length;
      await waitFor(async () => ((await pendingLeaves()) === leaders ? true : undefined), 'every leader to be scheduled', 60_000);
      await workflows.stop();
      workflows = undefined;
      writeFileSync(barrier, '');
      await waitFor(async () => ((await pendingLeaves()) === 0 ? true : undefined), 'every leader to end', 60_000);
      workflows = await startTestWorker(config, prisma, queue, 'workflows');

      expect(await ended(root.id)).toMatchObject({ lifecycle: 'done', done_reason: 'accepted' });
      const expected = Object.fromEntries(children.map((c) => [c.key, 'done/accepted']));
      expect(states(await tree(root.id))).toEqual(expected);
      expect(patchesIn(await handle.fetchHistory())).toContain(WHEN_STEP_BUDGET_PATCH);
      await recordHistories(api.temporal, [{ name: 'pursueGoal-engine-when-step-budget', workflowId: root.temporalWorkflowId }]);
    } finally {
      await workflows?.stop();
      await activities.stop();
    }
  }, 180_000);

  it('waits blocked for a plan, then continues as soon as one is installed', async () => {
    const root = await create({ kind: 'composite', title: 'Plan me later' });
    const blocked = await until(root.id, (g) => g.lifecycle === 'blocked', 'the composite to block');
    expect(blocked).toMatchObject({ waiting_for: 'plan', block_reason: 'needs a plan', planned_at: null });

    const res = await call('POST', `${api.url}/api/goals/${root.id}/plan`, { children: [leaf('only', sh('echo planned'))] });
    expect(res.status).toBe(200);
    expect(res.body.planned_at).not.toBeNull();
    expect((await ended(root.id)).lifecycle).toBe('done');

    const again = await call('POST', `${api.url}/api/goals/${root.id}/plan`, { children: [leaf('other', sh('true'))] });
    expect([again.status, again.body.error.code]).toEqual([409, 'PLAN_ALREADY_INSTALLED']);
    await recordHistories(api.temporal, [{ name: 'pursueGoal-engine-plan-later', workflowId: root.temporal.workflow_id }]);
  });

  it('runs an unplanned composite child once its plan arrives, inside a running tree', async () => {
    const root = await create({
      plan: {
        children: [leaf('first', sh('true')), { key: 'later', kind: 'composite', title: 'Planned later', plan: null }, leaf('last', sh('true'))],
        edges: [
          { from: 'first', to: 'later' },
          { from: 'later', to: 'last' },
        ],
      },
    });
    const later = (await tree(root.id)).children[1];
    expect(later.planned_at).toBeNull();
    await until(later.id, (g) => g.waiting_for === 'plan', 'the nested composite to wait for its plan');
    expect((await goal(root.id)).lifecycle).toBe('active');
    const res = await call('POST', `${api.url}/api/goals/${later.id}/plan`, { children: [leaf('inner', sh('echo inner'))] });
    expect(res.status).toBe(200);
    expect((await ended(root.id)).lifecycle).toBe('done');
    expect(states(await tree(root.id))).toEqual({ first: 'done/accepted', later: 'done/accepted', 'later/inner': 'done/accepted', last: 'done/accepted' });
  });

  it("judges a composite after its children: it waits blocked, then ends with the verdict", async () => {
    const root = await create({
      acceptance: { judgment: { prompt: 'Is the release complete?' } },
      plan: { children: [leaf('part', sh('true'))] },
    });
    await until(root.id, (g) => g.waiting_for === 'judgment', 'the composite to wait for judgment');
    expect(states(await tree(root.id))).toEqual({ part: 'done/accepted' });
    expect((await call('POST', `${api.url}/api/goals/${root.id}/accept`, {})).status).toBe(200);
    expect(await ended(root.id)).toMatchObject({ lifecycle: 'done', done_reason: 'accepted' });
  });

  it('lets exactly one of many racing plan submissions win', async () => {
    const root = await create({ kind: 'composite', title: 'Raced', start: false });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call('POST', `${api.url}/api/goals/${root.id}/plan`, { children: [leaf(`variant-${i}`, sh('true'))] })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'PLAN_ALREADY_INSTALLED')).toBe(true);
    expect(await prisma.goal.count({ where: { parentId: root.id } })).toBe(1);
  });
});

describe('invalid plans are refused with the rule they break, and nothing is written', () => {
  const invalid: [string, TJson, string][] = [
    ['keys_unique', { children: [leaf('a', sh('true')), leaf('a', sh('true'))] }, 'keys_unique'],
    ['edge_endpoints', { children: [leaf('a', sh('true'))], edges: [{ from: 'a', to: 'ghost' }] }, 'edge_endpoints'],
    ['edge_self', { children: [leaf('a', sh('true'))], edges: [{ from: 'a', to: 'a' }] }, 'edge_self'],
    [
      'no_cycles',
      { children: [leaf('a', sh('true')), leaf('b', sh('true'))], edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }] },
      'no_cycles',
    ],
    ['join_satisfiable', { children: [leaf('a', sh('true')), leaf('b', sh('true'), { join: 2 })], edges: [{ from: 'a', to: 'b' }] }, 'join_satisfiable'],
    ['expression_valid', { children: [leaf('a', sh('true')), leaf('b', sh('true'))], edges: [{ from: 'a', to: 'b', on: { when: 'exit_code ==' } }] }, 'expression_valid'],
    [
      'expression_valid (a catastrophic regex)',
      { children: [leaf('a', sh('true')), leaf('b', sh('true'))], edges: [{ from: 'a', to: 'b', on: { when: 'stdout.matches("^(a+)+$")' } }] },
      'expression_valid',
    ],
    [
      'expression_valid (nested comprehensions)',
      { children: [leaf('a', sh('true')), leaf('b', sh('true'))], edges: [{ from: 'a', to: 'b', on: { when: '[1,2].all(x, [3,4].all(y, x < y))' } }] },
      'expression_valid',
    ],
    ['max_children', { children: Array.from({ length: 101 }, (_, i) => leaf(`c${i}`, sh('true'))) }, 'max_children'],
  ];

  it.each(invalid)('%s → 400 PLAN_INVALID', async (name, plan, rule) => {
    const title = `Bad plan ${name} ${Date.now()}`;
    const res = await call('POST', `${api.url}/api/goals`, { title, plan });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('PLAN_INVALID');
    expect(res.body.error.details.map((d: TJson) => d.rule)).toContain(rule);
    expect(res.body.error.message).toContain(rule);
    expect(await prisma.goal.count({ where: { title } })).toBe(0);
  });

  it('checks depth against the agent limit stored in Postgres', async () => {
    let plan: TJson = { children: [leaf('deepest', sh('true'))] };
    for (let i = 0; i < 8; i++) plan = { children: [{ key: `level-${i}`, kind: 'composite', title: 'Level', plan }] };
    const res = await call('POST', `${api.url}/api/goals`, { title: 'Too deep', plan });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: TJson) => d.rule)).toContain('max_depth');
  });

  it('refuses a plan on a leaf, and on a goal that does not exist', async () => {
    const l = await create({ title: 'A leaf', action: sh('true'), start: false });
    const res = await call('POST', `${api.url}/api/goals/${l.id}/plan`, { children: [leaf('x', sh('true'))] });
    expect([res.status, res.body.error.code]).toEqual([409, 'CONFLICT']);
    const missing = await call('POST', `${api.url}/api/goals/goal_00000000000000000000000000/plan`, { children: [leaf('x', sh('true'))] });
    expect(missing.status).toBe(404);
  });
});

describe('leaf runtimes', () => {
  it('http: a 2xx answer succeeds, with its status and body; another status fails', async () => {
    const root = await create({
      plan: {
        children: [
          leaf('get', { runtime: 'http', url: `${loopbackUrl}/ok` }),
          leaf('post', { runtime: 'http', method: 'POST', url: `${loopbackUrl}/down`, body: { a: 1 } }),
          leaf('on-items', sh('echo ok')),
        ],
        edges: [{ from: 'get', to: 'on-items', on: { when: 'http_status == 200 && output.items == 3' } }],
      },
    });
    await ended(root.id);
    const t = await tree(root.id);
    expect(states(t)).toEqual({ get: 'done/accepted', post: 'failed', 'on-items': 'done/accepted' });
    expect(t.children[0].output).toMatchObject({ http_status: 200, body: '{"items":3,"method":"GET"}' });
    expect(t.children[1].failure_reason).toBe('the request answered HTTP 503');
    expect(t.children[1].output).toMatchObject({ http_status: 503, body: 'down for maintenance' });
    await recordHistories(api.temporal, [{ name: 'pursueGoal-engine-http', workflowId: root.temporal.workflow_id }]);
  });

  it('manual: blocked until completed through the API; 409 when it is not waiting', async () => {
    const root = await create({ title: 'Sign off', action: { runtime: 'manual', instructions: 'Check the numbers' } });
    const waiting = await until(root.id, (g) => g.waiting_for === 'completion', 'the manual leaf to wait');
    expect(waiting).toMatchObject({ lifecycle: 'blocked', block_reason: 'waiting for someone to complete it' });

    const accept = await call('POST', `${api.url}/api/goals/${root.id}/accept`, {});
    expect([accept.status, accept.body.error.code]).toEqual([409, 'GOAL_NOT_WAITING']);
    expect(accept.body.error.message).toContain('not waiting for judgment');

    const res = await call('POST', `${api.url}/api/goals/${root.id}/complete`, { outcome: 'succeeded', output: { signed_by: 'ada' } });
    expect(res.status).toBe(200);
    expect(await ended(root.id)).toMatchObject({ lifecycle: 'done', done_reason: 'accepted', output: { signed_by: 'ada' } });

    const late = await call('POST', `${api.url}/api/goals/${root.id}/complete`, { outcome: 'succeeded' });
    expect([late.status, late.body.error.code]).toEqual([409, 'GOAL_ENDED']);
    await recordHistories(api.temporal, [{ name: 'pursueGoal-engine-manual', workflowId: root.temporal.workflow_id }]);
  });

  it('judgment: waits blocked for accept or reject; a rejection fails it with the reason', async () => {
    const root = await create({
      plan: {
        children: [
          leaf('draft', sh('echo draft'), { acceptance: { judgment: { prompt: 'Is the draft good?', rubric: 'clear, short' } } }),
          leaf('publish', sh('echo published')),
        ],
        edges: [{ from: 'draft', to: 'publish' }],
      },
    });
    const draft = (await tree(root.id)).children[0];
    await until(draft.id, (g) => g.waiting_for === 'judgment', 'the draft to wait for judgment');
    const rejected = await call('POST', `${api.url}/api/goals/${draft.id}/reject`, { reason: 'too long' });
    expect(rejected.status).toBe(200);
    expect(await ended(root.id)).toMatchObject({ lifecycle: 'failed', failure_reason: 'child "draft" failed: rejected: too long' });
    expect(states(await tree(root.id))).toEqual({ draft: 'failed', publish: 'done/skipped' });

    const second = await create({ title: 'Judged', action: sh('echo hi'), acceptance: { judgment: { prompt: 'OK?' } } });
    await until(second.id, (g) => g.waiting_for === 'judgment', 'judgment');
    expect((await call('POST', `${api.url}/api/goals/${second.id}/accept`, {})).status).toBe(200);
    expect((await ended(second.id)).lifecycle).toBe('done');
    await recordHistories(api.temporal, [
      { name: 'pursueGoal-engine-judgment-rejected', workflowId: root.temporal.workflow_id },
      { name: 'pursueGoal-engine-judgment-accepted', workflowId: second.temporal.workflow_id },
    ]);
  });

  it('acceptance check: a failing check fails a successful action', async () => {
    const root = await create({ title: 'Checked', action: sh(': > data.json'), acceptance: { check: 'test -s data.json' } });
    const done = await ended(root.id);
    expect(done).toMatchObject({ lifecycle: 'failed', failure_reason: 'acceptance check failed: it exited with code 1' });
    const ok = await create({ title: 'Checked ok', action: sh('echo "{}" > data.json'), acceptance: { check: 'test -s data.json' } });
    expect((await ended(ok.id)).lifecycle).toBe('done');
  });

  it('agent: claimed with a lease; another worker is refused; an expired lease returns it to the pool', async () => {
    const root = await create({ title: 'Summarise', action: { runtime: 'agent', task: 'summarise the report' } });
    await until(root.id, (g) => g.waiting_for === 'agent', 'the agent leaf to enter the pool');
    const pool = await call('GET', `${api.url}/api/goals?waiting_for=agent&limit=200`);
    expect(pool.body.items.map((g: TJson) => g.id)).toContain(root.id);

    const first = await call('POST', `${api.url}/api/goals/${root.id}/claim`, { worker: 'agent-1', lease_s: 5 });
    expect(first.status).toBe(200);
    expect(first.body.lease.claimed_by).toBe('agent-1');
    const claimablePool = async () => (await call('GET', `${api.url}/api/goals?claimable=true&limit=200`)).body.items.map((g: TJson) => g.id);
    expect(await claimablePool()).not.toContain(root.id);
    const other = await call('POST', `${api.url}/api/goals/${root.id}/claim`, { worker: 'agent-2' });
    expect([other.status, other.body.error.code]).toEqual([409, 'LEASE_CONFLICT']);
    const notHolder = await call('POST', `${api.url}/api/goals/${root.id}/complete`, { outcome: 'succeeded', worker: 'agent-2' });
    expect([notHolder.status, notHolder.body.error.code]).toEqual([409, 'LEASE_CONFLICT']);

    // Lease expiry (set it in the past rather than sleep): the leaf is claimable again.
    await prisma.goal.update({ where: { id: root.id }, data: { leaseExpiresAt: new Date(Date.now() - 1000) } });
    expect(await claimablePool()).toContain(root.id);
    const takeover = await call('POST', `${api.url}/api/goals/${root.id}/claim`, { worker: 'agent-2', lease_s: 60 });
    expect(takeover.status).toBe(200);
    const stale = await call('POST', `${api.url}/api/goals/${root.id}/complete`, { outcome: 'succeeded', worker: 'agent-1' });
    expect(stale.status).toBe(409);

    const done = await call('POST', `${api.url}/api/goals/${root.id}/complete`, { outcome: 'succeeded', worker: 'agent-2', output: { summary: 'fine' } });
    expect(done.status).toBe(200);
    expect(await ended(root.id)).toMatchObject({ lifecycle: 'done', output: { summary: 'fine' }, lease: null });
    await recordHistories(api.temporal, [{ name: 'pursueGoal-engine-agent', workflowId: root.temporal.workflow_id }]);
  });

  it('a claim of a leaf that is not an agent leaf is refused as such, whatever lease it asks for', async () => {
    const root = await create({ title: 'Approve', action: { runtime: 'manual', instructions: 'look' } });
    await until(root.id, (g) => g.waiting_for === 'completion', 'the manual leaf to wait');
    for (const body of [{ worker: 'agent-1' }, { worker: 'agent-1', lease_s: 30 }]) {
      const refused = await call('POST', `${api.url}/api/goals/${root.id}/claim`, body);
      expect([refused.status, refused.body.error.code, refused.body.error.message]).toEqual([409, 'GOAL_NOT_WAITING', `goal ${root.id} is not an agent leaf`]);
    }
    expect((await call('POST', `${api.url}/api/goals/${root.id}/cancel`, {})).status).toBe(200);
  });
});

describe('parallelism', () => {
  it('runs at most `parallelism` children at once; the rest wait their turn', async () => {
    const dir = mkdtempSync(path.join(effects, 'par-'));
    // Each child records how many siblings were running when it started (a file per running child).
    const probe = (k: string) => sh(`touch ${dir}/${k}; ls ${dir} | wc -l >> ${dir}.seen; sleep 0.3; rm ${dir}/${k}`);
    const root = await create({ plan: { parallelism: 2, children: Array.from({ length: 6 }, (_, i) => leaf(`p${i}`, probe(`p${i}`))) } });
    expect((await ended(root.id)).lifecycle).toBe('done');
    const seen = readFileSync(`${dir}.seen`, 'utf8').split('\n').filter(Boolean).map(Number);
    expect(seen).toHaveLength(6);
    expect(Math.max(...seen)).toBeLessThanOrEqual(2);
  });

  it('refuses a parallelism outside 1-1000', async () => {
    const res = await call('POST', `${api.url}/api/goals`, { title: 'Too parallel', plan: { parallelism: 0, children: [leaf('a', sh('true'))] } });
    expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});

describe('bounded histories', () => {
  it('a walk past its history limit continues as new, carrying its joins, skips and failures, and ends as one walk would', async () => {
    // A tiny limit makes a 24-child layer continue as new several times.
    const goals = createGoalService({ prisma, temporal: api.temporal, taskQueue, engine: { planRecheckS: 600, historyLimit: 60 } });
    const name = `carry-${Date.now()}`;
    const children = [
      ...Array.from({ length: 20 }, (_, i) => leaf(`w${i}`, mark(`${name}-w${i}`))),
      leaf('fails', sh('exit 3')),
      leaf('after-all', mark(`${name}-after-all`), { join: 'all' }),
      leaf('on-failure', mark(`${name}-on-failure`)),
      leaf('skipped', mark(`${name}-skipped`)),
    ];
    const edges = [
      ...Array.from({ length: 20 }, (_, i) => ({ from: `w${i}`, to: 'after-all' })),
      { from: 'fails', to: 'on-failure', on: 'failed' },
      { from: 'fails', to: 'skipped', on: 'succeeded' },
    ];
    const root = await goals.createGoal(LOCAL_ACTOR, { kind: 'composite', title: 'Carried walk', plan: ZPlan.parse({ parallelism: 3, children, edges }), start: true });
    const end = await ended(root.id);
    expect(end).toMatchObject({ lifecycle: 'failed', failure_reason: 'child "fails" failed: the command exited with code 3' });
    const tree = states(await call('GET', `${api.url}/api/goals/${root.id}/tree`).then((r) => r.body));
    expect(tree).toMatchObject({ 'after-all': 'done/accepted', 'on-failure': 'done/accepted', skipped: 'done/skipped', fails: 'failed' });
    for (let i = 0; i < 20; i++) expect(count(`${name}-w${i}`)).toBe(1);
    expect([count(`${name}-after-all`), count(`${name}-on-failure`), count(`${name}-skipped`)]).toEqual([1, 1, 0]);
    const stats = await treeHistoryStats(api.temporal, root.id);
    // At least one continue-as-new (how many depends on how many leaves end per activation, i.e. on load).
    expect(stats.executions).toBeGreaterThanOrEqual(2);
    expect(stats.maxEvents).toBeLessThan(200);
    // The root's last execution still opens and finishes locally: continue-as-new carried ownStepsLocal.
    const last = await api.temporal.workflow.getHandle(root.temporalWorkflowId).fetchHistory();
    const lastScheduled = (last.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : []));
    expect([lastScheduled.includes('openGoal'), lastScheduled.includes('finishGoal'), patchesIn(last)]).toEqual([false, false, []]);
    await recordHistories(api.temporal, [{ name: 'pursueGoal-engine-walk-continued-own-steps-local', workflowId: root.temporalWorkflowId }]);
  });

  it('a child whose stored action no longer parses fails alone, naming why; the goal does not hang', async () => {
    const root = await create({ start: false, plan: { children: [leaf('broken', sh('true')), leaf('fine', sh('true'))] } });
    const broken = (await tree(root.id)).children[0];
    await prisma.$executeRaw`UPDATE goals SET action = '{"runtime":"teleport"}'::jsonb WHERE id = ${broken.id}`;
    expect((await call('POST', `${api.url}/api/goals/${root.id}/start`)).status).toBe(200);
    expect(await ended(root.id)).toMatchObject({ lifecycle: 'failed', failure_reason: expect.stringMatching(/^child "broken" failed: its stored action is invalid/) });
    expect(states(await tree(root.id))).toEqual({ broken: 'failed', fine: 'done/accepted' });
  });

  it('a plan wait past its history limit continues as new, then runs the plan', async () => {
    const goals = createGoalService({ prisma, temporal: api.temporal, taskQueue, engine: { planRecheckS: 1, historyLimit: 50 } });
    const root = await goals.createGoal(LOCAL_ACTOR, { kind: 'composite', title: 'Long plan wait', start: true });
    await waitFor(async () => ((await treeHistoryStats(api.temporal, root.id)).executions >= 2 ? true : undefined), 'the plan wait to continue as new', 60_000);
    await goals.installPlan(LOCAL_ACTOR, root.id, ZPlan.parse({ children: [leaf('late', sh('true'))] }));
    expect((await ended(root.id)).lifecycle).toBe('done');
    await recordHistories(api.temporal, [{ name: 'pursueGoal-engine-plan-wait-continued', workflowId: root.temporalWorkflowId }]);
  });
});

describe('cancel', () => {
  it('cancels a running tree: the command is killed and unfinished goals end cancelled', async () => {
    const pidFile = path.join(effects, `sleeper-${Date.now()}.pid`);
    const root = await create({
      plan: {
        children: [leaf('sleeper', sh(`echo $$ > ${pidFile}; exec sleep 60`)), leaf('after', sh('true'))],
        edges: [{ from: 'sleeper', to: 'after' }],
      },
    });
    await waitFor(async () => (count(path.basename(pidFile)) > 0 ? true : undefined), 'the command to start');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const res = await call('POST', `${api.url}/api/goals/${root.id}/cancel`, {});
    expect(res.status).toBe(200);
    expect((await ended(root.id)).lifecycle).toBe('cancelled');
    expect(states(await tree(root.id))).toEqual({ sleeper: 'cancelled', after: 'cancelled' });
    await waitFor(async () => (isGone(pid) ? true : undefined), 'the command to be killed');
    const again = await call('POST', `${api.url}/api/goals/${root.id}/cancel`, {});
    expect([again.status, again.body.error.code]).toEqual([409, 'GOAL_ENDED']);
    await recordHistories(api.temporal, [{ name: 'pursueGoal-engine-cancel-tree', workflowId: root.temporal.workflow_id }]);
  });

  it('a cancel stops a command shorter than the heartbeat timeout within about a second, and nothing after it runs', async () => {
    const pidFile = path.join(effects, `short-${Date.now()}.pid`);
    const touched = path.join(effects, `short-${Date.now()}.touched`);
    const root = await create({
      plan: {
        children: [leaf('short', sh(`echo $$ > ${pidFile}; sleep 6 && touch ${touched}`)), leaf('next', mark(`next-${Date.now()}`))],
        edges: [{ from: 'short', to: 'next', on: 'always' }],
      },
    });
    await waitFor(async () => (count(path.basename(pidFile)) > 0 ? true : undefined), 'the command to start');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const asked = Date.now();
    expect((await call('POST', `${api.url}/api/goals/${root.id}/cancel`, {})).status).toBe(200);
    await waitFor(async () => (isGone(pid) ? true : undefined), 'the command to be killed', 5000);
    const killedAfterMs = Date.now() - asked;
    expect(killedAfterMs).toBeLessThan(3000);
    expect((await ended(root.id)).lifecycle).toBe('cancelled');
    expect(states(await tree(root.id))).toEqual({ short: 'cancelled', next: 'cancelled' });
    expect(existsSync(touched)).toBe(false);
  });

  it('cancels one leaf of a running composite, which then fails naming it', async () => {
    const root = await create({
      plan: { children: [leaf('wait-here', { runtime: 'manual' }), leaf('sibling', sh('true'))] },
    });
    const waitHere = (await tree(root.id)).children[0];
    await until(waitHere.id, (g) => g.waiting_for === 'completion', 'the manual leaf to wait');
    expect((await call('POST', `${api.url}/api/goals/${waitHere.id}/cancel`, {})).status).toBe(200);
    expect(await ended(root.id)).toMatchObject({ lifecycle: 'failed', failure_reason: 'child "wait-here" was cancelled' });
    expect(states(await tree(root.id))).toEqual({ 'wait-here': 'cancelled', sibling: 'done/accepted' });
    await recordHistories(api.temporal, [{ name: 'pursueGoal-engine-cancel-leaf', workflowId: root.temporal.workflow_id }]);
  });
});

describe('after review: edge cases that used to go wrong', () => {
  it('stores output containing NUL bytes (as U+FFFD) instead of wedging the goal', async () => {
    const root = await create({ title: 'NUL output', action: sh("printf 'a\\000b'") });
    expect(await ended(root.id)).toMatchObject({ lifecycle: 'done', output: { stdout: 'a\ufffdb' } });
  });

  it('accepts one of two racing completions and refuses the other', async () => {
    const root = await create({ title: 'Complete once', action: { runtime: 'manual' } });
    await until(root.id, (g) => g.waiting_for === 'completion', 'the manual leaf to wait');
    const [a, b] = await Promise.all([
      call('POST', `${api.url}/api/goals/${root.id}/complete`, { outcome: 'succeeded' }),
      call('POST', `${api.url}/api/goals/${root.id}/complete`, { outcome: 'failed', reason: 'second' }),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses[0]).toBe(200);
    expect(statuses[1]).toBe(409);
    const winner = a.status === 200 ? 'done' : 'failed';
    expect((await ended(root.id)).lifecycle).toBe(winner);
  });

  it('skips everything below a skipped composite', async () => {
    const root = await create({
      plan: {
        children: [leaf('gate', sh('exit 1')), { key: 'inner', kind: 'composite', title: 'Inner', plan: { children: [leaf('x', sh('true'))] } }],
        edges: [{ from: 'gate', to: 'inner' }],
      },
    });
    await ended(root.id);
    expect(states(await tree(root.id))).toEqual({ gate: 'failed', inner: 'done/skipped', 'inner/x': 'done/skipped' });
  });

  it('closes the subtree of a child workflow terminated from outside, naming why', async () => {
    const root = await create({
      plan: { children: [{ key: 'inner', kind: 'composite', title: 'Inner', plan: { children: [leaf('m', { runtime: 'manual' })] } }] },
    });
    const inner = (await tree(root.id)).children[0];
    const m = inner.children[0];
    await until(m.id, (g) => g.waiting_for === 'completion', 'the nested manual leaf to wait');
    await api.temporal.workflow.getHandle(inner.temporal.workflow_id).terminate('operator stopped it');
    expect((await ended(root.id)).lifecycle).toBe('failed');
    const t = await tree(root.id);
    expect(states(t)).toEqual({ inner: 'failed', 'inner/m': 'failed' });
    expect(t.children[0].failure_reason).toMatch(/Terminated|operator stopped it/);
    expect(t.children[0].children[0].failure_reason).toMatch(/^its parent ended: /);
  });

  it('does not run failure handlers when a leaf is cancelled', async () => {
    const root = await create({
      plan: {
        children: [leaf('w', { runtime: 'manual' }), leaf('on-fail', sh('echo rollback'))],
        edges: [{ from: 'w', to: 'on-fail', on: 'failed' }],
      },
    });
    const w = (await tree(root.id)).children[0];
    await until(w.id, (g) => g.waiting_for === 'completion', 'the manual leaf to wait');
    expect((await call('POST', `${api.url}/api/goals/${w.id}/cancel`, {})).status).toBe(200);
    await ended(root.id);
    const t = await tree(root.id);
    expect(states(t)).toEqual({ w: 'cancelled', 'on-fail': 'done/skipped' });
    expect(t.children[1].output.skipped_because).toEqual(['w → on-fail: "w" was cancelled']);
  });

  it('times out a manual leaf that nobody completes, firing timed_out edges', async () => {
    const root = await create({
      plan: {
        children: [leaf('sign-off', { runtime: 'manual', timeout_s: 1 }), leaf('escalate', sh('echo escalated'))],
        edges: [{ from: 'sign-off', to: 'escalate', on: 'timed_out' }],
      },
    });
    await ended(root.id);
    const t = await tree(root.id);
    expect(states(t)).toEqual({ 'sign-off': 'failed', escalate: 'done/accepted' });
    expect(t.children[0].failure_reason).toBe('not completed within 1s');
  });

  it('takes an accept with no body at all', async () => {
    const root = await create({ title: 'Bodiless accept', action: sh('true'), acceptance: { judgment: { prompt: 'OK?' } } });
    await until(root.id, (g) => g.waiting_for === 'judgment', 'judgment');
    const res = await fetch(`${api.url}/api/goals/${root.id}/accept`, { method: 'POST', headers: authFor(api.url) });
    expect(res.status).toBe(200);
    expect((await ended(root.id)).lifecycle).toBe('done');
  });

  it('starts a goal once: starting again changes nothing', async () => {
    const root = await create({ title: 'Once', action: mark('once'), start: false });
    const first = await call('POST', `${api.url}/api/goals/${root.id}/start`);
    expect(first.status).toBe(200);
    await ended(root.id);
    const again = await call('POST', `${api.url}/api/goals/${root.id}/start`);
    expect([again.status, again.body.error.code]).toEqual([409, 'GOAL_ENDED']);
    expect(count('once')).toBe(1);
  });
});

describe('GET /api/goals', () => {
  it('pages through goals with a cursor and filters roots and lifecycles', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await create({ title: `Page ${i}`, action: sh('true'), start: false })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: TJson = await call('GET', `${api.url}/api/goals?lifecycle=draft&root_only=true&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((g: TJson) => g.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(expect.arrayContaining(made));
    expect(new Set(seen).size).toBe(seen.length);
    const bad = await call('GET', `${api.url}/api/goals?limit=0`);
    expect(bad.status).toBe(400);
    const badCursor = await call('GET', `${api.url}/api/goals?cursor=nonsense`);
    expect(badCursor.status).toBe(400);
  });
});

function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}
