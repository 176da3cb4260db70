import { asDatabaseError, createPrisma, isTransientDatabaseError, namedQuery, type PrismaClient } from '../../src/db/client';
import { recordGoalEnd, recordLeafDone } from '../../src/db/goals';
import { LOCAL_ACTOR } from '../../src/domain/actor';
import { createGoalService } from '../../src/services/goals';
import { createTemporalClient } from '../../src/temporal/client';
import { testEnv, testPrisma } from '../support/env';
import { freePort } from '../support/ports';

/**
 * The statements every leaf runs go to Postgres as named (prepared)
 * statements on the client's own pool (db/client.ts namedQuery), not through
 * Prisma: they must write what Prisma's calls wrote, and their errors must
 * be told apart as Prisma's are (an outage is retried, a mistake is not).
 */

let prisma: PrismaClient;
const temporal = createTemporalClient(testEnv.temporalAddress, 'default');

beforeAll(() => {
  prisma = testPrisma();
});

afterAll(async () => {
  await prisma?.$disconnect();
  await temporal.connection.close();
});

async function draftLeaf(title: string): Promise<string> {
  const goals = createGoalService({ prisma, temporal, taskQueue: 'named-statements-unpolled' });
  return (await goals.createGoal(LOCAL_ACTOR, { kind: 'leaf', title, action: { runtime: 'shell', command: 'true' }, start: false })).id;
}

describe('recordGoalEnd', () => {
  it('ends an unfinished goal and drops the completions kept for it, in one statement; an ended goal stays as it ended', async () => {
    const id = await draftLeaf('Ended once');
    await prisma.goal.update({ where: { id }, data: { lifecycle: 'active', waitingFor: 'completion', output: { kept: 1 } } });
    await prisma.goalCompletion.create({ data: { goalId: id, updateId: 'refused-update', output: { a: 1 } } });

    await recordGoalEnd(prisma, id, { lifecycle: 'failed', failureReason: 'not completed within 5s' });
    const ended = await prisma.goal.findUniqueOrThrow({ where: { id } });
    expect([ended.lifecycle, ended.failureReason, ended.doneReason, ended.waitingFor, ended.output]).toEqual(['failed', 'not completed within 5s', null, null, { kept: 1 }]);
    expect(ended.finishedAt).toBeInstanceOf(Date);
    expect(await prisma.goalCompletion.count({ where: { goalId: id } })).toBe(0);

    // A second end (a retried activity, a late cancel) changes nothing.
    await recordGoalEnd(prisma, id, { lifecycle: 'done', doneReason: 'accepted', output: { other: true } });
    expect(await prisma.goal.findUniqueOrThrow({ where: { id } })).toEqual(ended);
  });

  it('replaces the output only when the end gives one', async () => {
    const id = await draftLeaf('Ended with output');
    await recordGoalEnd(prisma, id, { lifecycle: 'done', doneReason: 'accepted', output: { answer: 42 } });
    const row = await prisma.goal.findUniqueOrThrow({ where: { id } });
    expect([row.lifecycle, row.doneReason, row.failureReason, row.output]).toEqual(['done', 'accepted', null, { answer: 42 }]);
  });
});

describe('recordLeafDone', () => {
  it('writes the result and the end of an unfinished leaf, never of an ended one', async () => {
    const id = await draftLeaf('Done by its leaf');
    await recordLeafDone(prisma, id, 2, { exit_code: 0, stdout: 'ok\n' });
    const row = await prisma.goal.findUniqueOrThrow({ where: { id } });
    expect([row.lifecycle, row.doneReason, row.actionAttempts, row.output]).toEqual(['done', 'accepted', 2, { exit_code: 0, stdout: 'ok\n' }]);
    expect(row.actionEndedAt).toEqual(row.finishedAt);

    await recordLeafDone(prisma, id, 3, { exit_code: 0, stdout: 'again\n' });
    expect(await prisma.goal.findUniqueOrThrow({ where: { id } })).toEqual(row);
  });
});

describe('namedQuery errors', () => {
  it('reads an unreachable Postgres as an outage (retried; DATABASE_UNAVAILABLE at the API)', async () => {
    const port = await freePort();
    const dead = createPrisma(`postgresql://postgres@127.0.0.1:${port}/none`, { poolSize: 1, queryTimeoutMs: 2000 });
    try {
      const err = await namedQuery(dead, { name: 'reprise-test-unreachable', text: 'SELECT 1' }, []).catch((e: unknown) => e);
      expect(isTransientDatabaseError(err)).toBe(true);
      expect(asDatabaseError(err)?.code).toBe('DATABASE_UNAVAILABLE');
    } finally {
      await dead.$disconnect();
    }
  });

  it('reads a statement Postgres refuses as no outage', async () => {
    const err = await namedQuery(prisma, { name: 'reprise-test-refused', text: `UPDATE goals SET lifecycle = $2 WHERE id = $1` }, ['none', 'not-a-lifecycle']).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('22P02');
    expect(isTransientDatabaseError(err)).toBe(false);
  });
});
