import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createRunActivities, type TMaterializedLayers } from '../../src/activities/runs';
import type { PrismaClient } from '../../src/db/client';
import { childGoalId, inputsHash, runId as deriveRunId } from '../../src/domain/ids';
import type { TPlan } from '../../src/domain/plans';
import { saveFrozenWorkflow } from '../support/frozenWorkflows';
import { testEnv, testPrisma } from '../support/env';

/**
 * materializeLayers (activities/runs.ts) against real Postgres, called as
 * Temporal calls it (an activity context, no worker): a run's frozen layers
 * written breadth first, many per call, split at the row budget, and the same
 * tree however the calls fall (one call, many small ones, a call run twice,
 * a call retried from its first input after later ones committed).
 */

let prisma: PrismaClient;
const agentId = `agent_mat${Date.now().toString(36)}`;

beforeAll(async () => {
  prisma = testPrisma();
  await prisma.agent.create({ data: { id: agentId, name: agentId, ownerUserId: 'user_local', allowedRuntimes: ['shell'], maxDepth: 6, maxChildren: 50, maxGoals: 200 } });
});

afterAll(async () => {
  await prisma?.$disconnect();
});

const leaf = (key: string) => ({ key, kind: 'leaf' as const, title: `Leaf ${key} for {{inputs.who}}`, action: { runtime: 'shell' as const, command: 'true' } });

/** Three levels of frozen composites under the root, with an edge and a parallelism to carry. */
const PLAN: TPlan = {
  children: [
    {
      key: 'a',
      kind: 'composite',
      title: 'A',
      plan: { children: [leaf('a1'), { key: 'a2', kind: 'composite', title: 'A2 for {{inputs.who}}', plan: { children: [leaf('x'), leaf('y')], edges: [], parallelism: 1 } }], edges: [] },
    },
    leaf('b'),
    { key: 'c', kind: 'composite', title: 'C', plan: { children: [leaf('c1'), leaf('c2'), leaf('c3')], edges: [{ from: 'c1', to: 'c2', on: 'succeeded' }], parallelism: 2 } },
  ],
  edges: [{ from: 'b', to: 'c', on: 'succeeded' }],
};
/** Goals the run's tree has: its root and everything under it. */
const TREE_GOALS = 1 + 3 + 2 + 2 + 3;

let keys = 0;
async function newRun(plan: TPlan = PLAN): Promise<{ runId: string; rootId: string }> {
  const wf = await saveFrozenWorkflow(prisma, { agentId, name: `mat-${Date.now().toString(36)}-${++keys}`, title: 'Materialize {{inputs.who}}', plan, inputs: [{ name: 'who', required: true }] });
  const key = `k-${keys}`;
  const runId = deriveRunId(wf.id, key);
  await prisma.run.create({ data: { id: runId, savedWorkflowId: wf.id, idempotencyKey: key, inputs: { who: 'ops' }, inputsHash: inputsHash({ who: 'ops' }), temporalWorkflowId: `run-${runId}`, state: 'claimed' } });
  const begun = await createRunActivities({ prisma }).beginRun({ runId });
  expect(begun.failed).toBeUndefined();
  return { runId, rootId: begun.root.id };
}

function call(rowsPerCall: number | undefined, runId: string, goalIds: string[], finish = false): Promise<TMaterializedLayers> {
  const activities = createRunActivities({ prisma, ...(rowsPerCall === undefined ? {} : { materializeRowsPerCall: rowsPerCall }) });
  return new MockActivityEnvironment().run(activities.materializeLayers, { runId, goalIds, finish });
}

/** Calls until nothing is pending, as performRun does; every call's result. */
async function callUntilDone(rowsPerCall: number | undefined, runId: string, first: string[]): Promise<TMaterializedLayers[]> {
  const results: TMaterializedLayers[] = [];
  for (let pending = first; pending.length; ) {
    const r = await call(rowsPerCall, runId, pending);
    results.push(r);
    pending = r.pending;
    if (results.length > 20) throw new Error('materializeLayers never finished');
  }
  return results;
}

/** The run's tree as rows that do not depend on ids: each goal by its key path. */
async function treeOf(runId: string): Promise<string[]> {
  const rows = await prisma.goal.findMany({ where: { runId }, orderBy: [{ depth: 'asc' }, { position: 'asc' }] });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const pathOf = (id: string | null): string => {
    const g = id ? byId.get(id) : undefined;
    return g?.parentId ? `${pathOf(g.parentId)}/${g.key ?? ''}` : '';
  };
  const edges = await prisma.goalEdge.findMany({ where: { parentId: { in: rows.map((r) => r.id) } } });
  return [
    ...rows.map((g) => `${pathOf(g.id)} ${g.kind} d${g.depth} "${g.title}" planned=${g.plannedAt !== null} frozen=${g.planFrozen} par=${g.parallelism} wf=${g.temporalWorkflowId === byId.get(g.parentId ?? '')?.temporalWorkflowId ? 'parent' : 'own'}`),
    ...edges.map((e) => `edge ${pathOf(e.fromGoalId)} -> ${pathOf(e.toGoalId)} ${JSON.stringify(e.on)}`),
  ].sort();
}

describe('materializeLayers', () => {
  it('writes the whole frozen tree in one call, inputs substituted, parents planned', async () => {
    const { runId, rootId } = await newRun();
    const [only, ...more] = await callUntilDone(undefined, runId, [rootId]);
    expect(more).toEqual([]);
    expect(only).toEqual({ pending: [], layers: 4, written: TREE_GOALS - 1 });
    const tree = await treeOf(runId);
    expect(tree).toHaveLength(TREE_GOALS + 2);
    expect(tree).toContain('/a/a2 composite d2 "A2 for ops" planned=true frozen=true par=1 wf=own');
    expect(tree).toContain('/a/a2/x leaf d3 "Leaf x for ops" planned=false frozen=false par=null wf=parent');
    expect(tree).toContain('/c composite d1 "C" planned=true frozen=true par=2 wf=own');
    expect(tree).toContain('edge /c/c1 -> /c/c2 "succeeded"');
  });

  it('keeps texts exactly as the plan wrote them: quotes, backslashes, newlines, non-ASCII and emoji in titles, intents and actions', async () => {
    const odd = 'say "hi" \\ back\\slash\nnext line\ttab é ü 中文 🚀 \u2028 {"not": "json"} $1 :name';
    const plan: TPlan = {
      children: [
        { key: 'odd', kind: 'leaf', title: `T ${odd}`, intent: `I ${odd}`, action: { runtime: 'shell', command: `printf '%s' "${odd}"`, env: { NOTE: odd } } },
        { key: 'box', kind: 'composite', title: `C ${odd}`, plan: { children: [leaf('in')], edges: [] } },
      ],
      edges: [{ from: 'odd', to: 'box', on: 'succeeded' }],
    };
    const { runId, rootId } = await newRun(plan);
    await callUntilDone(undefined, runId, [rootId]);
    const rows = await prisma.goal.findMany({ where: { runId, key: { in: ['odd', 'box'] } }, orderBy: { position: 'asc' } });
    expect(rows.map((r) => [r.title, r.intent])).toEqual([
      [`T ${odd}`, `I ${odd}`],
      [`C ${odd}`, null],
    ]);
    expect(rows[0]?.action).toEqual({ runtime: 'shell', command: `printf '%s' "${odd}"`, env: { NOTE: odd } });
  });

  it('a write over several statements that fails (its transaction expired) fails its caller, never the process with an unhandled rejection', async () => {
    const { rootId } = await newRun();
    // In a process of its own: jest's workers do not end on an unhandled rejection; a worker or the API would.
    // P2028: the transaction expired, one of the codes retried as an outage (src/db/client.ts).
    const child = spawnSync(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../support/expiredPlanWrite.ts'), rootId], {
      env: { ...process.env, DATABASE_URL: testEnv.databaseUrl },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: child.status, stdout: child.stdout.trim(), stderr: child.stderr.trim() }).toEqual({ status: 0, stdout: expect.stringMatching(/^failed: P2028 /), stderr: '' });
    expect(await prisma.goal.count({ where: { parentId: rootId } })).toBe(0);
  });

  it('splits at its row budget, breadth first, into the same tree; with finish, the last call moves the ledger', async () => {
    const whole = await newRun();
    await callUntilDone(undefined, whole.runId, [whole.rootId]);
    const split = await newRun();
    const calls: TMaterializedLayers[] = [];
    for (let pending = [split.rootId]; pending.length; ) {
      const r = await call(3, split.runId, pending, true);
      calls.push(r);
      pending = r.pending;
      const { state } = await prisma.run.findUniqueOrThrow({ where: { id: split.runId } });
      expect([state, r.materialized]).toEqual(pending.length ? ['materializing', undefined] : ['materialized', true]);
    }
    // The root's layer (3 rows) fills the first call; a's and c's layers (2 + 3) do not fit one call of 3.
    expect(calls.map((c) => c.written)).toEqual([3, 2, 3, 2]);
    expect(calls[0]?.pending).toHaveLength(2);
    expect(calls.reduce((n, c) => n + c.layers, 0)).toBe(4);
    expect(await treeOf(split.runId)).toEqual(await treeOf(whole.runId));
  });

  it('writes nothing twice: a call run again, or retried from its first input after later calls committed', async () => {
    const { runId, rootId } = await newRun();
    const first = await call(3, runId, [rootId]);
    expect(first).toMatchObject({ layers: 1, written: 3 });
    const again = await call(3, runId, [rootId]);
    // The root's layer found written (nothing rewritten), and the work goes on where the first call stopped:
    // a's layer; c's is past the budget, so c and a's frozen child a2 are handed back, breadth first.
    const [a, c] = first.pending as [string, string];
    expect(again).toEqual({ pending: [c, childGoalId(a, 'a2')], layers: 2, written: 2 });
    await callUntilDone(3, runId, first.pending);
    const before = await treeOf(runId);
    const retried = await callUntilDone(undefined, runId, [rootId]);
    expect(retried).toEqual([{ pending: [], layers: 4, written: 0 }]);
    expect(await treeOf(runId)).toEqual(before);
    expect(await prisma.goal.count({ where: { runId } })).toBe(TREE_GOALS);
  });

  it('refuses a plan past the agent\'s limits at its first layer, as the run\'s own failure naming the rule, and writes nothing', async () => {
    const wide: TPlan = { children: [{ key: 'big', kind: 'composite', title: 'Big', plan: { children: Array.from({ length: 60 }, (_, i) => leaf(`l${i}`)), edges: [] } }], edges: [] };
    const { runId, rootId } = await newRun(wide);
    const err = await call(undefined, runId, [rootId]).then(
      () => undefined,
      (e: unknown) => e as { type?: string; message?: string; nonRetryable?: boolean },
    );
    expect(err).toMatchObject({ type: 'RunInvalid', nonRetryable: true });
    expect(err?.message).toMatch(/\("Materialize ops"\) breaks a rule of a plan: max_children at children\[0\]\.plan\.children: 60 children; the agent allows at most 50/);
    expect(await prisma.goal.count({ where: { runId } })).toBe(1);
  });
});
