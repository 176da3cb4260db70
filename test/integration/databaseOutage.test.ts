import { chmodSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { asDatabaseError, type PrismaClient } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { readPidFile } from '../../src/dev/managedProcess';
import { startEmbeddedPostgres, type TEmbeddedPostgres } from '../../src/dev/embeddedPostgres';
import { ZPlan } from '../../src/domain/plans';
import { createTokenDirect } from '../../src/services/tokens';
import { http, startTestApi, startTestWorker, testConfig, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';
import { saveFrozenWorkflow } from '../support/frozenWorkflows';
import { freePort } from '../support/ports';

/**
 * Postgres dies mid-tree (SIGKILL, its whole process group, as a crash or the
 * OOM killer would) and comes back on the same data directory and port about
 * 15 s later. An infrastructure outage is never the user's failure:
 * - the tree ends `done`, and the leaf that was running when Postgres died
 *   ran its command exactly once (its write is retried, never its action);
 * - a run POSTed while Postgres is down answers 503 with Retry-After, and
 *   nothing of it is written once Postgres is back;
 * - no stored reason carries internal text (ORM invocations, file paths).
 *
 * The test runs its own embedded Postgres (the shared one must never be
 * killed), a worker on its own task queue and an API against it.
 */

jest.setTimeout(150_000);

const OUTAGE_MS = 15_000;
/** What a reason shown to users must never contain. */
const INTERNAL_TEXT = /prisma|invocation|at \/|\.ts:/i;

/** The live children of a process (from /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('Postgres killed mid-tree', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'reprise-outage-'));
  // Postgres runs as the `postgres` user when the tests run as root: it must reach its directory.
  chmodSync(dataDir, 0o755);
  const effects = path.join(dataDir, 'workspaces');
  const pidFile = path.join(dataDir, 'postgres.pid');
  const taskQueue = uniqueTaskQueue('outage');
  let port: number;
  let pg: TEmbeddedPostgres | undefined;
  let prisma: PrismaClient;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let api: Awaited<ReturnType<typeof startTestApi>>;
  let auth: Record<string, string>;

  const lines = (name: string): number => {
    try {
      return readFileSync(path.join(effects, name), 'utf8').split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  };
  const startPostgres = async (): Promise<TEmbeddedPostgres> => startEmbeddedPostgres({ dataDir, port, pidFile, database: 'reprise' });

  beforeAll(async () => {
    port = await freePort();
    pg = await startPostgres();
    await migrate(pg.url);
    prisma = testPrisma(pg.url);
    const config = testConfig({ DATABASE_URL: pg.url, REPRISE_DATA_DIR: dataDir, TEMPORAL_TASK_QUEUE: taskQueue });
    worker = await startTestWorker(config, prisma, taskQueue);
    api = await startTestApi(prisma, taskQueue);
    const { secret } = await createTokenDirect(prisma, { user: 'local' }, { name: 'outage test', scopes: ['admin'] });
    auth = { authorization: `Bearer ${secret}` };
  });

  afterAll(async () => {
    await worker?.stop();
    await api?.close();
    await prisma?.$disconnect();
    await pg?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('the tree ends done, the running leaf ran once, a run POSTed meanwhile is a 503 that writes nothing', async () => {
    await mkdir(effects, { recursive: true });
    const wf = await saveFrozenWorkflow(prisma, {
      agentId: 'agent_default',
      name: `outage-${Date.now().toString(36)}`,
      title: 'Posted while Postgres is down',
      plan: ZPlan.parse({ children: [{ key: 'x', kind: 'leaf', title: 'X', action: { runtime: 'shell', command: 'true' } }] }),
    });

    const created = await http(
      'POST',
      `${api.url}/api/goals`,
      {
        title: 'Outlives a database outage',
        plan: {
          children: [
            { key: 'a', kind: 'leaf', title: 'A', action: { runtime: 'shell', command: `echo ran >> ${path.join(effects, 'a')} && sleep 3` } },
            { key: 'b', kind: 'leaf', title: 'B', action: { runtime: 'shell', command: `echo ran >> ${path.join(effects, 'b')}` } },
          ],
          edges: [{ from: 'a', to: 'b', on: 'succeeded' }],
        },
      },
      auth,
    );
    expect(created.status).toBe(201);
    const rootId: string = created.body.id;

    // Leaf a's command is running: kill Postgres and everything it forked.
    await waitFor(async () => (lines('a') > 0 ? true : undefined), 'leaf a to start', 60_000);
    const started = Date.now();
    const postmaster = readPidFile(pidFile);
    if (!postmaster) throw new Error('no postgres pid file');
    process.kill(-postmaster.pid, 'SIGKILL');
    await waitFor(async () => (readPidFile(pidFile) === undefined ? true : undefined), 'postgres to die', 10_000);

    // A run POSTed meanwhile: 503 with Retry-After, and a message of ours.
    const posted = await http('POST', `${api.url}/api/workflows/${wf.id}/runs`, { idempotency_key: 'during-outage', inputs: {} }, auth);
    expect({ status: posted.status, code: posted.body?.error?.code, retryAfter: posted.headers.get('retry-after') }).toEqual({
      status: 503,
      code: 'DATABASE_UNAVAILABLE',
      retryAfter: expect.stringMatching(/^\d+$/),
    });
    expect(JSON.stringify(posted.body)).not.toMatch(INTERNAL_TEXT);

    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - started))));
    pg = await startPostgres();
    const restarted = Date.now();

    const root = await waitFor(
      async () => {
        const g = await prisma.goal.findUnique({ where: { id: rootId } });
        return g && ['done', 'failed', 'cancelled'].includes(g.lifecycle) ? g : undefined;
      },
      'the tree to end',
      90_000,
    );
    const ended = Date.now();
    const goals = await prisma.goal.findMany({ where: { rootId }, orderBy: { createdAt: 'asc' } });
    const byKey = Object.fromEntries(goals.map((g) => [g.key ?? 'root', g]));
    expect({ root: root.lifecycle, a: byKey.a?.lifecycle, b: byKey.b?.lifecycle, aAttempts: byKey.a?.actionAttempts }).toEqual({
      root: 'done',
      a: 'done',
      b: 'done',
      aAttempts: 1,
    });
    expect({ a: lines('a'), b: lines('b') }).toEqual({ a: 1, b: 1 });

    // Nothing of the run POSTed during the outage was written.
    expect(await prisma.run.count({ where: { savedWorkflowId: wf.id } })).toBe(0);

    // No stored reason carries internal text.
    const reasons = [
      ...(await prisma.goal.findMany({ select: { failureReason: true, blockReason: true, output: true } })).flatMap((g) => [g.failureReason, g.blockReason, JSON.stringify(g.output)]),
      ...(await prisma.run.findMany({ select: { error: true } })).map((r) => r.error),
    ].filter((r): r is string => typeof r === 'string');
    expect(reasons.filter((r) => INTERNAL_TEXT.test(r))).toEqual([]);

    console.log(`outage: Postgres down ${((restarted - started) / 1000).toFixed(1)} s; tree done ${((ended - restarted) / 1000).toFixed(1)} s after it came back`);
  });

  it('maps what a killed or stopping Postgres throws to DATABASE_UNAVAILABLE, with a message of ours', async () => {
    const seen: Record<string, unknown> = {};
    const sleeping = (label: string) =>
      prisma.$queryRaw`SELECT pg_sleep(10)`.then(
        () => undefined,
        (err: unknown) => void (seen[label] = err),
      );
    const whenSleeping = () =>
      waitFor(async () => ((await prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'`)[0]?.n ? true : undefined), 'a sleeping query');

    // An administrator (or a fast shutdown) ends the connection: Prisma's P2010 wrapping SQLSTATE 57P01.
    const terminated = sleeping('57P01 admin shutdown');
    await whenSleeping();
    await prisma.$queryRaw`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()`;
    await terminated;

    // SIGKILL with a query in flight (pg's bare "Connection terminated unexpectedly"), then a query while it is down (P1001).
    const inFlight = sleeping('in flight at SIGKILL');
    await whenSleeping();
    const postmaster = readPidFile(pidFile);
    if (!postmaster) throw new Error('no postgres pid file');
    process.kill(-postmaster.pid, 'SIGKILL');
    await inFlight;
    await waitFor(async () => (readPidFile(pidFile) === undefined ? true : undefined), 'postgres to die', 10_000);
    await prisma.goal.count().catch((err: unknown) => void (seen['query while down'] = err));
    await prisma.$transaction((tx) => tx.goal.count()).catch((err: unknown) => void (seen['transaction while down'] = err));
    pg = await startPostgres();

    const mapped = Object.fromEntries(Object.entries(seen).map(([label, err]) => [label, asDatabaseError(err)?.code]));
    expect(mapped).toEqual({
      '57P01 admin shutdown': 'DATABASE_UNAVAILABLE',
      'in flight at SIGKILL': 'DATABASE_UNAVAILABLE',
      'query while down': 'DATABASE_UNAVAILABLE',
      'transaction while down': 'DATABASE_UNAVAILABLE',
    });
    for (const err of Object.values(seen)) expect(asDatabaseError(err)?.message).not.toMatch(INTERNAL_TEXT);
  });

  it('a frozen Postgres (SIGSTOP: its connections stay open, nothing answers) is a 503 within the query timeout, and the API answers again once it thaws', async () => {
    // An API whose queries may go unanswered 2 s (DATABASE_QUERY_TIMEOUT_S; 30 s by default).
    const quick = testPrisma(pg?.url, 2000);
    const quickApi = await startTestApi(quick, taskQueue);
    try {
      expect((await http('GET', `${quickApi.url}/api/goals`, undefined, auth)).status).toBe(200);
      const postmaster = readPidFile(pidFile);
      if (!postmaster) throw new Error('no postgres pid file');
      // Every backend is its own process group (Postgres calls setsid): stop the postmaster and each of its children.
      const frozen = [postmaster.pid, ...childrenOf(postmaster.pid)];
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
      try {
        const asked = Date.now();
        const answer = await http('GET', `${quickApi.url}/api/goals`, undefined, auth);
        const waitedMs = Date.now() - asked;
        expect({ status: answer.status, code: answer.body?.error?.code, message: answer.body?.error?.message }).toEqual({
          status: 503,
          code: 'DATABASE_UNAVAILABLE',
          message: expect.stringMatching(/did not answer in time/),
        });
        // The token lookup and the query each wait at most the timeout: bounded, not hung.
        expect(waitedMs).toBeLessThan(15_000);
      } finally {
        for (const pid of frozen) process.kill(pid, 'SIGCONT');
      }
      await waitFor(async () => ((await http('GET', `${quickApi.url}/api/goals`, undefined, auth)).status === 200 ? true : undefined), 'the API to answer again after the thaw', 30_000);
    } finally {
      await quickApi.close();
      await quick.$disconnect();
    }
  });
});
