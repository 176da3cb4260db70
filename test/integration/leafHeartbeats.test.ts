import { MockActivityEnvironment } from '@temporalio/testing';
import { createLeafActivities } from '../../src/activities/leaves';
import type { TConfig } from '../../src/config';
import type { PrismaClient } from '../../src/db/client';
import { findLeafContext, startLeaf } from '../../src/db/runs';
import { LOCAL_ACTOR } from '../../src/domain/actor';
import { createGoalService } from '../../src/services/goals';
import { createTemporalClient } from '../../src/temporal/client';
import { testConfig, testEnv, testPrisma } from '../support/env';

/**
 * runLeaf's heartbeats (activities/leaves.ts), called as Temporal calls it
 * (an activity context, no worker) against real Postgres. Each heartbeat
 * costs Temporal a write, so a leaf that ends within a second sends none;
 * one that runs longer sends them every second, so a cancellation still
 * reaches its command.
 */

let prisma: PrismaClient;
let config: TConfig;
const temporal = createTemporalClient(testEnv.temporalAddress, 'default');

beforeAll(() => {
  prisma = testPrisma();
  config = testConfig();
});

afterAll(async () => {
  await prisma?.$disconnect();
  await temporal.connection.close();
});

/** Runs a new shell leaf's activity once; what it answered and every heartbeat it sent. */
async function runLeaf(command: string): Promise<{ status: string; heartbeats: unknown[]; lifecycle: string | undefined; elapsedMs: number }> {
  const goals = createGoalService({ prisma, temporal, taskQueue: 'leaf-heartbeats-unpolled' });
  const goal = await goals.createGoal(LOCAL_ACTOR, { kind: 'leaf', title: `Heartbeats of ${command}`, action: { runtime: 'shell', command }, start: false });
  const activities = createLeafActivities({ prisma, dataDir: config.dataDir, workspaces: { dir: config.workspacesDir, user: undefined }, leaf: config.leaf });
  const env = new MockActivityEnvironment();
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  const started = performance.now();
  const result = (await env.run(activities.runLeaf, { goalId: goal.id })) as Awaited<ReturnType<typeof activities.runLeaf>>;
  const elapsedMs = performance.now() - started;
  const row = await prisma.goal.findUnique({ where: { id: goal.id }, select: { lifecycle: true } });
  return { status: result.status, heartbeats, lifecycle: row?.lifecycle, elapsedMs };
}

/** Tries a leaf that should end well within a second: on a loaded machine even `true` can take longer (then its heartbeat is right). */
const QUICK_TRIES = 5;
const WELL_WITHIN_MS = 900;

describe('runLeaf heartbeats', () => {
  it('sends none for a leaf that ends within a second', async () => {
    const tries: number[] = [];
    for (let i = 0; i < QUICK_TRIES; i++) {
      const { elapsedMs, ...run } = await runLeaf('true');
      tries.push(Math.round(elapsedMs));
      if (elapsedMs >= WELL_WITHIN_MS) continue;
      expect(run).toEqual({ status: 'succeeded', heartbeats: [], lifecycle: 'done' });
      return;
    }
    throw new Error(`no run of \`true\` ended within ${WELL_WITHIN_MS} ms (took ${tries.join(', ')} ms): the machine is too loaded to tell`);
  });

  it('sends them every second while a longer leaf runs', async () => {
    const { status, heartbeats, lifecycle } = await runLeaf('sleep 2.5');
    expect([status, lifecycle]).toEqual(['succeeded', 'done']);
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
  });
});

describe('startLeaf', () => {
  it('marks a draft leaf started and reads it as the client reads a goal, with who it runs for, in one statement; later calls only read', async () => {
    const goals = createGoalService({ prisma, temporal, taskQueue: 'leaf-heartbeats-unpolled' });
    const goal = await goals.createGoal(LOCAL_ACTOR, { kind: 'leaf', title: 'Started once', action: { runtime: 'shell', command: 'true', env: { A: 'b' } }, start: false });
    const at = new Date(Date.now() - 60_000);
    const first = await startLeaf(prisma, goal.id, at);
    const row = await prisma.goal.findUniqueOrThrow({ where: { id: goal.id } });
    expect(first?.goal).toEqual(row);
    expect([row.lifecycle, row.startedAt, row.updatedAt]).toEqual(['active', at, at]);
    expect(first?.context).toEqual(await findLeafContext(prisma, goal.id));
    expect(first?.context.agent.allowedRuntimes).toContain('shell');

    // Not a draft any more: read as it is, its start kept.
    await prisma.goal.update({ where: { id: goal.id }, data: { lifecycle: 'done', doneReason: 'accepted', finishedAt: new Date() } });
    const again = await startLeaf(prisma, goal.id, new Date());
    expect(again?.goal).toEqual(await prisma.goal.findUniqueOrThrow({ where: { id: goal.id } }));
    expect([again?.goal.lifecycle, again?.goal.startedAt]).toEqual(['done', at]);
    expect(await startLeaf(prisma, 'goal_doesnotexist', new Date())).toBeNull();
  });

  it('reads a leaf cancelled while it waited for the row as cancelled, not as the draft its statement first saw', async () => {
    const goals = createGoalService({ prisma, temporal, taskQueue: 'leaf-heartbeats-unpolled' });
    const goal = await goals.createGoal(LOCAL_ACTOR, { kind: 'leaf', title: 'Cancelled as it starts', action: { runtime: 'shell', command: 'true' }, start: false });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // A cancel holding the row (as cancelDraftSubtree's transaction does) while the leaf starts.
    const cancel = prisma.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE goals SET lifecycle = 'cancelled', finished_at = now() WHERE id = ${goal.id}`;
      locked();
      await held;
    });
    await isLocked;
    const starting = startLeaf(prisma, goal.id, new Date());
    await new Promise((r) => setTimeout(r, 300));
    release();
    await cancel;
    const started = await starting;
    expect([started?.goal.lifecycle, started?.goal.startedAt]).toEqual(['cancelled', null]);
    expect(started?.goal).toEqual(await prisma.goal.findUniqueOrThrow({ where: { id: goal.id } }));
  });
});
