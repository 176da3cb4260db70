import { createRunActivities } from '../../src/activities/runs';
import type { TConfig } from '../../src/config';
import type { PrismaClient } from '../../src/db/client';
import { clearFrozenPlanCache, findWorkflow, frozenPlanOf } from '../../src/db/workflows';
import { ZFrozenPlan, contentHash, type TFrozenPlan } from '../../src/domain/frozenPlans';
import { inputsHash, newId, runId as deriveRunId } from '../../src/domain/ids';
import { requiredRuntimes } from '../../src/domain/runtimeRequirements';
import { http as call, startTestApi, startTestWorker, testConfig, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';

/**
 * Rows saved by an older Reprise, read by this one (real Postgres, the HTTP
 * API, Temporal): a frozen plan that was valid when saved always reads, even
 * past limits that tightened since; ownership checks, run listings and
 * deletes never read the plan; a run whose stored inputs do not read fails
 * once, not forever.
 */

let prisma: PrismaClient;
let config: TConfig;
let worker: Awaited<ReturnType<typeof startTestWorker>>;
let api: Awaited<ReturnType<typeof startTestApi>>;
const taskQueue = uniqueTaskQueue('stored');
const agentId = `agent_stored${Date.now().toString(36)}`;

beforeAll(async () => {
  prisma = testPrisma();
  config = testConfig();
  await prisma.agent.create({ data: { id: agentId, name: agentId, ownerUserId: 'user_local', allowedRuntimes: ['shell'], maxDepth: 8, maxChildren: 100, maxGoals: 2000 } });
  worker = await startTestWorker(config, prisma, taskQueue);
  api = await startTestApi(prisma, taskQueue);
});

afterAll(async () => {
  await api?.close();
  await worker?.stop();
  await prisma?.$disconnect();
});

const unique = (name: string) => `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/** 101 environment variables: one more than actions may set since the limit came in. */
const oldEnv = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`V${i}`, `v${i}`]));
/** Longer than today's 200-character title limit, with the spaces today's schema trims. */
const oldTitle = `  ${'An old leaf title, '.repeat(15)} `;

/** A frozen plan as an older Reprise saved it: valid then, refused by today's request schemas. */
function oldFrozenPlan(): Record<string, unknown> {
  return {
    format: 'frozen/v0',
    root: {
      title: 'Old workflow for {{inputs.who}}',
      intent: null,
      plan: {
        children: [
          { key: 'env', kind: 'leaf', title: oldTitle, action: { runtime: 'shell', command: 'test "$V100" = v100', env: oldEnv } },
          { key: 'part', kind: 'composite', title: 'Part', plan: { children: [{ key: 'inner', kind: 'leaf', title: 'Inner', action: { runtime: 'shell', command: 'true' } }], edges: [] } },
        ],
        edges: [{ from: 'env', to: 'part', on: 'succeeded' }],
      },
    },
  };
}

/** Inserts a workflow row directly, as an older version wrote it. */
async function insertOldWorkflow(frozenPlan: Record<string, unknown>): Promise<{ id: string; name: string }> {
  const id = newId('wf');
  const name = unique('old');
  await prisma.savedWorkflow.create({
    data: {
      id,
      ownerUserId: 'user_local',
      ownerAgentId: null,
      agentId,
      name,
      version: 1,
      description: null,
      // A description longer than today's 2,000 characters.
      inputs: [{ name: 'who', description: 'd'.repeat(2500), default: 'world' }],
      format: 'frozen/v0',
      frozenPlan: frozenPlan as object,
      contentHash: contentHash(frozenPlan as TFrozenPlan),
      fullyFrozen: true,
      // What the migration that added the column computes for this plan.
      requiredRuntimes: requiredRuntimes(frozenPlan as TFrozenPlan),
    },
  });
  return { id, name };
}

describe('a workflow saved before limits tightened', () => {
  it('is refused by the request schemas (the premise)', () => {
    const strict = ZFrozenPlan.safeParse(oldFrozenPlan());
    expect(strict.success).toBe(false);
    expect(strict.error?.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['root.plan.children.0.title', 'root.plan.children.0.action.env']));
  });

  it('reads as stored, lists its runs, runs, and answers DELETE', async () => {
    const stored = oldFrozenPlan();
    const wf = await insertOldWorkflow(stored);

    const got = await call('GET', `${api.url}/api/workflows/${wf.id}`);
    expect([got.status, got.body.error]).toEqual([200, undefined]);
    // Read as stored: nothing trimmed, nothing dropped.
    expect(got.body.frozen_plan).toEqual(stored);
    expect(got.body.inputs[0].description).toHaveLength(2500);

    const none = await call('GET', `${api.url}/api/workflows/${wf.id}/runs`);
    expect([none.status, none.body.total, none.body.items]).toEqual([200, 0, []]);

    const created = await call('POST', `${api.url}/api/workflows/${wf.id}/runs`, { idempotency_key: 'old-1', inputs: {} });
    expect([created.status, created.body.error]).toEqual([201, undefined]);
    const runId: string = created.body.run.id;
    const run = await waitFor(
      async () => {
        const r = await prisma.run.findUniqueOrThrow({ where: { id: runId } });
        return r.state === 'materialized' || r.state === 'failed' ? r : undefined;
      },
      `run ${runId} materialized`,
    );
    expect([run.state, run.error]).toEqual(['materialized', null]);
    // Every goal written, the old leaf with its title and its 101 variables as saved.
    expect(await prisma.goal.count({ where: { runId } })).toBe(4);
    const leaf = await prisma.goal.findFirstOrThrow({ where: { runId, key: 'env' } });
    expect(leaf.title).toBe(oldTitle);
    expect(leaf.action).toEqual({ runtime: 'shell', command: 'test "$V100" = v100', env: oldEnv });
    const root = await prisma.goal.findUniqueOrThrow({ where: { id: run.rootGoalId as string } });
    expect(root.title).toBe('Old workflow for world');

    const listed = await call('GET', `${api.url}/api/workflows/${wf.id}/runs`);
    expect([listed.status, listed.body.total, listed.body.items[0]?.id]).toEqual([200, 1, runId]);

    // A workflow with runs is kept: the designed 409, not a stored-form one.
    const kept = await call('DELETE', `${api.url}/api/workflows/${wf.id}`);
    expect([kept.status, kept.body.error.code]).toEqual([409, 'CONFLICT']);
    expect(kept.body.error.message).toMatch(/has 1 run/);

    const other = await insertOldWorkflow(oldFrozenPlan());
    expect((await call('DELETE', `${api.url}/api/workflows/${other.id}`)).status).toBe(204);
    expect((await call('GET', `${api.url}/api/workflows/${other.id}`)).status).toBe(404);
  });

  it('whose plan no longer reads at all still lists its runs and is deleted (the plan is never read)', async () => {
    const wf = await insertOldWorkflow({ format: 'frozen/v0', root: { title: 'Renamed', intent: null, tree: { children: [] } } });
    const got = await call('GET', `${api.url}/api/workflows/${wf.id}`);
    expect([got.status, got.body.error.code]).toEqual([409, 'CONFLICT']);
    expect(got.body.error.message).toMatch(/frozen plan was stored in a form this version of Reprise cannot read \(at root\.plan\)/);
    const runs = await call('GET', `${api.url}/api/workflows/${wf.id}/runs`);
    expect([runs.status, runs.body.total]).toEqual([200, 0]);
    expect((await call('DELETE', `${api.url}/api/workflows/${wf.id}`)).status).toBe(204);
  });
});

describe('the frozen plan cache', () => {
  it('parses a plan once, shares it frozen, and forgets a deleted workflow', async () => {
    clearFrozenPlanCache();
    const wf = await insertOldWorkflow(oldFrozenPlan());
    const first = await findWorkflow(prisma, wf.id);
    const second = await findWorkflow(prisma, wf.id);
    expect(second?.frozenPlan).toBe(first?.frozenPlan);
    expect(Object.isFrozen(first?.frozenPlan.root.plan?.children[0])).toBe(true);
    expect((await call('DELETE', `${api.url}/api/workflows/${wf.id}`)).status).toBe(204);
    await expect(frozenPlanOf(prisma, { id: wf.id, name: wf.name, version: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('a run whose stored inputs do not read', () => {
  it('fails its instantiation once, in the ledger with the reason (never retried), and failRun still reads it', async () => {
    const wf = await insertOldWorkflow(oldFrozenPlan());
    const key = 'bad-inputs';
    const id = deriveRunId(wf.id, key);
    await prisma.run.create({
      data: { id, savedWorkflowId: wf.id, idempotencyKey: key, inputs: { who: 42 }, inputsHash: inputsHash({}), temporalWorkflowId: `run-${id}`, state: 'claimed' },
    });
    const activities = createRunActivities({ prisma });
    // It begins as failed (the workflow then ends the run, never retried), and the ledger says why: never left `claimed`.
    const begun = await activities.beginRun({ runId: id });
    expect(begun.failed).toMatch(new RegExp(`run ${id} cannot be instantiated: run ${id}'s inputs was stored in a form .* \\(at who\\); start a new run under a new idempotency key`));
    expect(await prisma.run.findUniqueOrThrow({ where: { id } })).toMatchObject({ state: 'failed', error: begun.failed });

    // failRun on it (as the workflow would after a later step) reads only the root's id and keeps the first reason.
    await activities.failRun({ runId: id, reason: 'its inputs do not read' });
    expect(await prisma.run.findUniqueOrThrow({ where: { id } })).toMatchObject({ state: 'failed', error: begun.failed });
  });
});
