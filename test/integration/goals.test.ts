import path from 'node:path';
import { SA_GOAL_ID, SA_ROOT_GOAL_ID } from '../../src/domain/searchAttributes';
import { DEFAULT_LEAF_TIMEOUT_S, KILL_GRACE_S } from '../../src/domain/execution';
import { newId } from '../../src/domain/ids';
import { createGoalService } from '../../src/services/goals';
import { PURSUE_GOAL_TYPE } from '../../src/temporal/starts';
import type { PrismaClient } from '../../src/db/client';
import type { TConfig } from '../../src/config';
import { http, startTestApi, startTestWorker, testConfig, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';
import { recordHistories, recordingHistories } from '../support/histories';

/**
 * The Foundation slice end to end: HTTP → Prisma → Temporal → shell activity
 * → Prisma, on the real dev server and real Postgres.
 */

let prisma: PrismaClient;
let config: TConfig;
let worker: Awaited<ReturnType<typeof startTestWorker>>;
let api: Awaited<ReturnType<typeof startTestApi>>;
const taskQueue = uniqueTaskQueue('goals');

beforeAll(async () => {
  prisma = testPrisma();
  config = testConfig({ LEAF_OUTPUT_MAX_BYTES: '2048' });
  worker = await startTestWorker(config, prisma, taskQueue);
  api = await startTestApi(prisma, taskQueue, { bodyLimit: '10kb' });
});

afterAll(async () => {
  await api?.close();
  await worker?.stop();
  await prisma?.$disconnect();
});

async function createGoal(body: unknown) {
  const res = await http('POST', `${api.url}/api/goals`, body);
  expect(res.status).toBe(201);
  return res.body as { id: string; temporal: { workflow_id: string } };
}

async function finished(id: string) {
  return waitFor(async () => {
    const res = await http('GET', `${api.url}/api/goals/${id}`);
    return ['done', 'failed', 'cancelled'].includes(res.body.lifecycle) ? res.body : undefined;
  }, `goal ${id} to finish`);
}

describe('POST /api/goals with a shell leaf', () => {
  it('runs the command on Temporal and records done/accepted with its output', async () => {
    const created = await createGoal({ title: 'Say hello', action: { runtime: 'shell', command: 'echo "hello $WHO from $REPRISE_GOAL_ID"', env: { WHO: 'Ada' } } });
    expect(created).toMatchObject({ kind: 'leaf', lifecycle: 'draft', owner: { type: 'user', id: 'user_local' }, agent_id: 'agent_default' });
    expect(created.temporal.workflow_id).toBe(`goal-say-hello-${created.id}`);

    const goal = await finished(created.id);
    expect(goal).toMatchObject({ lifecycle: 'done', done_reason: 'accepted', failure_reason: null });
    expect(goal.output).toMatchObject({ exit_code: 0, stdout: `hello Ada from ${created.id}\n`, stderr: '' });
    expect(Date.parse(goal.started_at)).toBeLessThanOrEqual(Date.parse(goal.finished_at));

    // Findable in Temporal under the readable id, with our search attributes.
    const handle = api.temporal.workflow.getHandle(created.temporal.workflow_id);
    await expect(handle.result()).resolves.toMatchObject({ goalId: created.id, status: 'succeeded', lifecycle: 'done' });
    const description = await handle.describe();
    expect(description.type).toBe('pursueGoal');
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(SA_GOAL_ID)).toBe(created.id);
    expect(description.typedSearchAttributes.get(SA_ROOT_GOAL_ID)).toBe(created.id);

    // A root leaf the worker runs starts at once: its start says how to run it (timed with the API's
    // LEAF_DEFAULT_TIMEOUT_S, handed to its activity), so the first workflow task schedules the leaf, unopened.
    const history = await handle.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(started?.input?.payloads?.[0]?.data && JSON.parse(Buffer.from(started.input.payloads[0].data).toString('utf8')).leaf).toMatchObject({
      runtime: 'shell',
      explicitTimeout: false,
      defaultTimeoutS: DEFAULT_LEAF_TIMEOUT_S,
      activityTimeoutS: DEFAULT_LEAF_TIMEOUT_S + KILL_GRACE_S,
    });
    expect((history.events ?? []).filter((e) => e.markerRecordedEventAttributes)).toEqual([]);
    const scheduled = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : []));
    expect(scheduled).toEqual(['runLeaf']);
  });

  it('records failed with the exit code and stderr as the reason, and fails the Temporal workflow too', async () => {
    const created = await createGoal({ title: 'Break', action: { runtime: 'shell', command: 'echo partial; echo "disk full" >&2; exit 3' } });
    const goal = await finished(created.id);
    expect(goal).toMatchObject({ lifecycle: 'failed', done_reason: null, failure_reason: 'the command exited with code 3' });
    expect(goal.output).toMatchObject({ exit_code: 3, stdout: 'partial\n', stderr: 'disk full\n' });
    const handle = api.temporal.workflow.getHandle(created.temporal.workflow_id);
    await expect(handle.result()).rejects.toMatchObject({ cause: { message: `goal ${created.id} failed: the command exited with code 3` } });
    expect((await handle.describe()).status.name).toBe('FAILED');
  });

  it('kills a command at its timeout and says so', async () => {
    const created = await createGoal({ title: 'Too slow', action: { runtime: 'shell', command: 'sleep 30', timeout_s: 1 } });
    const goal = await finished(created.id);
    expect(goal.lifecycle).toBe('failed');
    expect(goal.failure_reason).toBe('the command timed out after 1s and was killed');
    expect(goal.output).toMatchObject({ timed_out: true });
  });

  it('retries a failing command as many times as the action says', async () => {
    // Fails on the first attempt, succeeds on the second: a counter file in the goal's workspace.
    const created = await createGoal({
      title: 'Flaky',
      action: { runtime: 'shell', command: 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 2 ] && echo ok-after-$n', retries: 2 },
    });
    const goal = await finished(created.id);
    expect(goal).toMatchObject({ lifecycle: 'done', output: { stdout: 'ok-after-2\n' } });
  });

  it('gives up after the last retry, naming how many attempts ran', async () => {
    const created = await createGoal({ title: 'Always fails', action: { runtime: 'shell', command: 'exit 1', retries: 1 } });
    const goal = await finished(created.id);
    expect(goal.failure_reason).toBe('the command exited with code 1 (after 2 attempts)');
  });

  it('keeps only the last bytes of long output', async () => {
    const created = await createGoal({ title: 'Chatty', action: { runtime: 'shell', command: 'seq 1 20000' } });
    const goal = await finished(created.id);
    expect(goal.output.stdout_truncated).toBe(true);
    expect(Buffer.byteLength(goal.output.stdout)).toBeLessThanOrEqual(2048);
    expect(goal.output.stdout.endsWith('20000\n')).toBe(true);
  });

  it('keeps a goal as draft when start is false', async () => {
    const created = await createGoal({ title: 'Later', action: { runtime: 'shell', command: 'true' }, start: false });
    // A start happens inside the create request, before its answer: no execution now means none was started
    // (a wrong start cannot hide behind a late one, as it could behind a sleep and a look at the lifecycle).
    await expect(api.temporal.workflow.getHandle(created.temporal.workflow_id).describe()).rejects.toMatchObject({ name: 'WorkflowNotFoundError' });
    expect((await http('GET', `${api.url}/api/goals/${created.id}`)).body.lifecycle).toBe('draft');
    // The same id finds the execution once it is started: the look above was at the right place.
    expect((await http('POST', `${api.url}/api/goals/${created.id}/start`)).status).toBe(200);
    expect((await api.temporal.workflow.getHandle(created.temporal.workflow_id).describe()).type).toBe(PURSUE_GOAL_TYPE);
    expect((await finished(created.id)).lifecycle).toBe('done');
  });
});

describe('a root leaf without timeout_s', () => {
  it("is timed with the LEAF_DEFAULT_TIMEOUT_S of the API that started it, which its activity is handed, whatever the worker's", async () => {
    const queue = uniqueTaskQueue('goals-default-timeout');
    const longWorker = await startTestWorker(testConfig({ LEAF_DEFAULT_TIMEOUT_S: '600' }), prisma, queue);
    const shortApi = await startTestApi(prisma, queue, { leafDefaultTimeoutS: 1 });
    try {
      const res = await http('POST', `${shortApi.url}/api/goals`, { title: 'Default timeout', action: { runtime: 'shell', command: 'sleep 30' } });
      expect(res.status).toBe(201);
      const goal = await waitFor(async () => {
        const seen = await http('GET', `${shortApi.url}/api/goals/${res.body.id}`);
        return seen.body.lifecycle === 'failed' ? seen.body : undefined;
      }, 'the leaf to time out');
      expect([goal.failure_reason, goal.output.timed_out]).toEqual(['the command timed out after 1s and was killed', true]);
    } finally {
      await shortApi.close();
      await longWorker.stop();
    }
  });
});

describe('bad input gets a 4xx naming the problem, and writes nothing', () => {
  // Other test files create goals meanwhile: count only goals this test could have written.
  const marker = `nothing-written-${Date.now()}`;
  async function goalCount() {
    return prisma.goal.count({ where: { title: { startsWith: marker } } });
  }

  it.each([
    ['an empty title', { title: ' ', action: { runtime: 'shell', command: 'true' } }, 'body.title'],
    ['a leaf without an action', { title: `${marker} x`, kind: 'leaf' }, 'body.action'],
    ['an unknown kind', { title: `${marker} x`, kind: 'branch' }, 'body.kind'],
    ['a plan with a bad key', { title: `${marker} x`, plan: { children: [{ key: 'Bad Key', kind: 'leaf', title: `${marker} x`, action: { runtime: 'manual' } }] } }, 'body.plan.children.0.key'],
    ['an unknown runtime', { title: `${marker} x`, action: { runtime: 'ssh', command: 'true' } }, 'body.action.runtime'],
    ['an empty command', { title: `${marker} x`, action: { runtime: 'shell', command: '' } }, 'body.action.command'],
    ['a negative timeout', { title: `${marker} x`, action: { runtime: 'shell', command: 'true', timeout_s: -1 } }, 'body.action.timeout_s'],
    ['a bad env name', { title: `${marker} x`, action: { runtime: 'shell', command: 'true', env: { 'A-B': '1' } } }, 'body.action.env.A-B'],
    ['an unknown field', { title: `${marker} x`, action: { runtime: 'shell', command: 'true' }, colour: 'red' }, 'body'],
  ])('%s → 400 VALIDATION_FAILED', async (_what, body, path) => {
    const before = await goalCount();
    const res = await http('POST', `${api.url}/api/goals`, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(res.headers.get('x-request-id')).toBe(res.body.error.request_id);
    expect(await goalCount()).toBe(before);
  });

  it('malformed JSON → 400 MALFORMED_JSON', async () => {
    const res = await http('POST', `${api.url}/api/goals`, '{"title": ');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('MALFORMED_JSON');
  });

  it('an oversized body → 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await http('POST', `${api.url}/api/goals`, { title: `${marker} x`, action: { runtime: 'shell', command: 'x'.repeat(20_000) } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('an id of the wrong shape → 400, an absent goal → 404', async () => {
    expect((await http('GET', `${api.url}/api/goals/nope`)).status).toBe(400);
    const res = await http('GET', `${api.url}/api/goals/${newId('goal')}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });

  it('an unknown route → 404 ROUTE_NOT_FOUND', async () => {
    const res = await http('DELETE', `${api.url}/api/nothing-here`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('ROUTE_NOT_FOUND');
  });

  it('a runtime the agent may not use → RUNTIME_NOT_ALLOWED, nothing written', async () => {
    const agentId = newId('agent');
    await prisma.agent.create({ data: { id: agentId, name: agentId, ownerUserId: 'user_local', allowedRuntimes: ['manual'], maxDepth: 3, maxChildren: 10, maxGoals: 50 } });
    const goals = createGoalService({ prisma, temporal: api.temporal, taskQueue });
    const before = await goalCount();
    await expect(
      goals.createGoal({ userId: 'user_local', agentId }, { title: `${marker} x`, kind: 'leaf', action: { runtime: 'shell', command: 'true' }, start: true }),
    ).rejects.toMatchObject({ code: 'RUNTIME_NOT_ALLOWED' });
    expect(await goalCount()).toBe(before);
  });
});

describe('input Postgres cannot store, or that is built to break parsers, is a 400', () => {
  const marker = `hostile-${Date.now()}`;
  it.each([
    ['a NUL in a title', { title: `${marker} a\u0000b`, action: { runtime: 'shell', command: 'true' } }, 'body.title'],
    ['a lone surrogate in an env value', { title: marker, action: { runtime: 'shell', command: 'true', env: { A: 'x\ud800' } } }, 'body.action.env.A'],
  ])('%s', async (_what, body, path) => {
    const res = await http('POST', `${api.url}/api/goals`, body);
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toBe(path);
    expect(await prisma.goal.count({ where: { title: { startsWith: marker } } })).toBe(0);
  });

  it('JSON nested past the limit', async () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 600; i++) deep = [deep];
    const res = await http('POST', `${api.url}/api/goals`, { title: marker, action: { runtime: 'http', url: 'http://127.0.0.1:1/', body: deep } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/nested deeper than 64 levels/);
  });

  it.each([
    ['malformed percent-encoding in the path', '/api/goals/%E0%A4%A'],
    ['a NUL in a query value', '/api/goals?workflow_id=%00'],
    ['a forged cursor (date outside any range)', `/api/goals?cursor=${Buffer.from('-200000-01-01T00:00:00.000Z|goal_00000000000000000000000000').toString('base64url')}`],
    ['a forged cursor (id that is not a goal id)', `/api/goals?cursor=${Buffer.from('2020-01-01T00:00:00.000Z|x').toString('base64url')}`],
  ])('%s', async (_what, url) => {
    const res = await http('GET', `${api.url}${url}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });
});

describe('when Temporal is unreachable', () => {
  it('answers 503 TEMPORAL_UNAVAILABLE and keeps no half-created goal', async () => {
    const down = await startTestApi(prisma, taskQueue, { temporalAddress: '127.0.0.1:1' });
    try {
      const title = `temporal-down-${Date.now()}`;
      const res = await http('POST', `${down.url}/api/goals`, { title, action: { runtime: 'shell', command: 'true' } });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('TEMPORAL_UNAVAILABLE');
      expect(res.headers.get('retry-after')).toBe('2');
      expect(await prisma.goal.count({ where: { title } })).toBe(0);
    } finally {
      await down.close();
    }
  });
});

describe('a workspace per tree', () => {
  it('runs commands in <WORKSPACES_DIR>/<root goal id>, outside the data directory', async () => {
    const created = await createGoal({ title: 'Where', action: { runtime: 'shell', command: 'pwd' } });
    const goal = await finished(created.id);
    expect(goal.output.stdout.trim()).toBe(path.join(config.workspacesDir, created.id));
    expect(path.relative(config.dataDir, goal.output.stdout.trim())).toMatch(/^\.\.\//);
  });
});

/**
 * `RECORD_HISTORIES=1 npx jest test/integration` writes the Temporal
 * histories of these scenarios to test/histories, where the replay test
 * replays them against the current workflow code on every run.
 */
if (recordingHistories) {
  describe('record histories for replay tests', () => {
    it.each([
      ['pursueGoal-succeeded-leaf-at-once', { title: 'History ok', action: { runtime: 'shell', command: 'echo ok' } }],
      ['pursueGoal-failed-leaf-at-once', { title: 'History failed', action: { runtime: 'shell', command: 'exit 2' } }],
      ['pursueGoal-timed-out-leaf-at-once', { title: 'History timeout', action: { runtime: 'shell', command: 'sleep 5', timeout_s: 1 } }],
      ['pursueGoal-retried-leaf-at-once', { title: 'History retried', action: { runtime: 'shell', command: 'exit 4', retries: 1 } }],
    ])('%s', async (name, body) => {
      const created = await createGoal(body);
      await finished(created.id);
      await recordHistories(api.temporal, [{ name, workflowId: created.temporal.workflow_id }]);
    });
  });
}
