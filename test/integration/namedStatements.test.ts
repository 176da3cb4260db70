import { asDatabaseError, createPrisma, isTransientDatabaseError, namedQuery, type PrismaClient } from '../../src/db/client';
import { recordGoalEnd, recordLeafDone } from '../../src/db/goals';
import { startLeaf } from '../../src/db/runs';
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
  it('ends an unfinished goal and drops the completions kept for it; an ended goal stays as it ended', async () => {
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

  it('ends a goal with the output kept for the completion it names, in the same transaction as the kept ones go', async () => {
    const id = await draftLeaf('Completed from outside');
    await prisma.goal.update({ where: { id }, data: { lifecycle: 'active', waitingFor: 'completion' } });
    await prisma.goalCompletion.createMany({ data: [{ goalId: id, updateId: 'accepted-update', output: { from: 'outside' } }, { goalId: id, updateId: 'other', output: { no: 1 } }] });
    await recordGoalEnd(prisma, id, { lifecycle: 'done', doneReason: 'accepted', completionId: 'accepted-update' });
    const row = await prisma.goal.findUniqueOrThrow({ where: { id } });
    expect([row.lifecycle, row.doneReason, row.waitingFor, row.output]).toEqual(['done', 'accepted', null, { from: 'outside' }]);
    expect(row.finishedAt).toEqual(row.updatedAt);
    expect(await prisma.goalCompletion.count({ where: { goalId: id } })).toBe(0);
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

describe('times', () => {
  it('are stored as Prisma stores them, whatever the session\'s time zone', async () => {
    // A session in New York: Prisma writes a time as UTC without an offset, read in the session's zone; so must these.
    const url = new URL(testEnv.databaseUrl);
    url.searchParams.set('options', '-c TimeZone=America/New_York');
    const elsewhere = createPrisma(url.toString(), { poolSize: 1, queryTimeoutMs: 10_000 });
    try {
      const id = await draftLeaf('Started in another zone');
      const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
      await startLeaf(elsewhere, id, at);
      const read = await elsewhere.goal.findUniqueOrThrow({ where: { id } });
      expect([read.startedAt, read.updatedAt]).toEqual([at, at]);
      await elsewhere.goal.update({ where: { id }, data: { plannedAt: at } });
      const both = await elsewhere.$queryRaw<{ same: boolean }[]>`SELECT started_at = planned_at AS same FROM goals WHERE id = ${id}`;
      expect(both[0]?.same).toBe(true);
    } finally {
      await elsewhere.$disconnect();
    }
  });
});

describe('namedQuery errors', () => {
  it('reads a cached plan a migration invalidated as an outage, and the retry prepares it again', async () => {
    const one = createPrisma(testEnv.databaseUrl, { poolSize: 1, queryTimeoutMs: 10_000 });
    const table = `named_statements_${process.pid}`;
    try {
      await one.$executeRawUnsafe(`CREATE TABLE ${table} (a int)`);
      const read = { name: `reprise-test-plan-${process.pid}`, text: `SELECT * FROM ${table}` };
      await namedQuery(one, read, []);
      await one.$executeRawUnsafe(`ALTER TABLE ${table} ADD COLUMN b int`);
      const err = await namedQuery(one, read, []).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('0A000');
      expect(isTransientDatabaseError(err)).toBe(true);
      expect((await namedQuery(one, read, [])).fields.map((f) => f.name)).toEqual(['a', 'b']);
    } finally {
      await one.$executeRawUnsafe(`DROP TABLE IF EXISTS ${table}`);
      await one.$disconnect();
    }
  });

  it('has no pool left once the client is disconnected, even when Prisma itself never connected', async () => {
    const client = createPrisma(testEnv.databaseUrl, { poolSize: 1, queryTimeoutMs: 10_000 });
    await namedQuery(client, { name: 'reprise-test-select', text: 'SELECT 1' }, []);
    await client.$disconnect();
    await expect(namedQuery(client, { name: 'reprise-test-select', text: 'SELECT 1' }, [])).rejects.toThrow(/after calling end/);
  });

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
