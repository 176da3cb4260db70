import type { TConfig } from '../../src/config';
import { SA_ROOT_GOAL_ID, SA_RUN_ID, SA_WORKFLOW_NAME, SA_WORKFLOW_VERSION } from '../../src/domain/searchAttributes';
import type { PrismaClient } from '../../src/db/client';
import { http as call, startTestApi, startTestWorker, testConfig, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';
import { recordHistories } from '../support/histories';

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
  return until(`/api/runs/${runId}`, (r) => ['done', 'failed', 'cancelled'].includes(r.status.status), `run ${runId} ends`);
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
    expect(run).toMatchObject({ state: 'done', status: { status: 'done', reason: 'accepted' }, inputs: { target: nasty }, workflow: { id: wf.id, name, version: 1 } });
    expect(run.temporal.workflow_id).toMatch(new RegExp(`^run-${name}-v1-k-1-[0-9a-f]{10}$`));
    const tree = await get(`/api/goals/${run.root_goal_id}/tree`);
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
    const otherInputs = await runWf(wf.id, { idempotency_key: 'k-1', inputs: { target: 'staging' } });
    expect([otherInputs.status, otherInputs.body.error.code]).toEqual([409, 'CONFLICT']);

    const second = await runWf(wf.id, { idempotency_key: 'k-2', inputs: { target: 'staging' } });
    expect(second.status).toBe(201);
    const runs = await get(`/api/workflows/${wf.id}/runs`);
    expect(runs.total).toBe(2);
    expect(runs.items.map((r: TJson) => r.idempotency_key)).toEqual(['k-2', 'k-1']);
    expect(await prisma.goal.count({ where: { runId: run.id } })).toBe(5);

    const summary = await api.temporal.workflow.getHandle(run.temporal.workflow_id).describe();
    expect([
      summary.typedSearchAttributes.get(SA_WORKFLOW_NAME),
      summary.typedSearchAttributes.get(SA_WORKFLOW_VERSION),
      summary.typedSearchAttributes.get(SA_RUN_ID),
      summary.typedSearchAttributes.get(SA_ROOT_GOAL_ID),
    ]).toEqual([name, 1, run.id, run.root_goal_id]);
    expect(await summary.staticSummary()).toContain(`${name} v1 (target=`);
    await runEnds(second.body.run.id);
    await recordHistories(api.temporal, [{ name: 'runWorkflow-simple', workflowId: run.temporal.workflow_id }]);
  });
});
