import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PrismaClient } from '../../src/db/client';
import { ZPlan } from '../../src/domain/plans';
import { isTerminalRunStatus } from '../../src/domain/runs';
import { runId as deriveRunId } from '../../src/domain/ids';
import { http, startTestApi, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';
import { saveFrozenWorkflow } from '../support/frozenWorkflows';
import { startWorkerProcess, type TWorkerProcess } from '../support/workerProcess';

/**
 * Exactly-once in the face of a crash: the worker (a real `src/main/worker.ts`
 * process, as `npm run worker` runs it) is killed with SIGKILL in the middle
 * of a tree, a new one starts, and the tree completes. Temporal replays the
 * history on the new worker, so leaves that had finished never run again:
 * their side-effect counters stay at one.
 */

jest.setTimeout(120_000);
const taskQueue = uniqueTaskQueue('crash');
const effects = mkdtempSync(path.join(tmpdir(), 'reprise-crash-'));
chmodSync(effects, 0o755);

const workerEnv = { TEMPORAL_TASK_QUEUE: taskQueue, REPRISE_DATA_DIR: effects };

/** How many copies of a command that appends to `file` are running (the launcher execs `/bin/sh -c <command>`). */
const liveCopies = (file: string): number =>
  execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.startsWith(`/bin/sh -c echo start >> ${file}`)).length;

const count = (name: string): number => {
  try {
    return readFileSync(path.join(effects, name), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

describe('a worker killed mid-tree', () => {
  let prisma: PrismaClient;
  let api: Awaited<ReturnType<typeof startTestApi>>;
  const workers: TWorkerProcess[] = [];

  beforeAll(async () => {
    prisma = testPrisma();
    api = await startTestApi(prisma, taskQueue);
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await api.close();
    await prisma.$disconnect();
  });

  it('is replaced, the tree completes, and no finished leaf runs again', async () => {
    const mark = (name: string) => ({ runtime: 'shell', command: `echo x >> ${path.join(effects, name)}` });
    const created = await http('POST', `${api.url}/api/goals`, {
      title: 'Survives a crash',
      plan: {
        children: [
          { key: 'extract', kind: 'leaf', title: 'Extract', action: mark('extract') },
          { key: 'transform', kind: 'composite', title: 'Transform', plan: { children: [{ key: 'clean', kind: 'leaf', title: 'Clean', action: mark('clean') }] } },
          { key: 'approve', kind: 'leaf', title: 'Approve', action: { runtime: 'manual' } },
          { key: 'load', kind: 'leaf', title: 'Load', action: mark('load') },
        ],
        edges: [
          { from: 'extract', to: 'transform' },
          { from: 'transform', to: 'approve' },
          { from: 'approve', to: 'load' },
        ],
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;

    const first = startWorkerProcess(workerEnv);
    workers.push(first);
    const tree = await http('GET', `${api.url}/api/goals/${id}/tree`);
    const approve = tree.body.children.find((c: { key: string }) => c.key === 'approve');
    await waitFor(
      async () => ((await http('GET', `${api.url}/api/goals/${approve.id}`)).body.waiting_for === 'completion' ? true : undefined),
      () => `the tree to reach the manual step:\n${first.output()}`,
      60_000,
    );
    expect([count('extract'), count('clean'), count('load')]).toEqual([1, 1, 0]);

    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));

    const second = startWorkerProcess(workerEnv);
    workers.push(second);
    await waitFor(async () => (second.output().includes('worker running') ? true : undefined), () => `the new worker:\n${second.output()}`, 60_000);
    const completed = await http('POST', `${api.url}/api/goals/${approve.id}/complete`, { outcome: 'succeeded' });
    expect(completed.status).toBe(200);

    const done = await waitFor(
      async () => {
        const g = (await http('GET', `${api.url}/api/goals/${id}`)).body;
        return ['done', 'failed', 'cancelled'].includes(g.lifecycle) ? g : undefined;
      },
      () => `the tree to finish:\n${second.output()}`,
      60_000,
    );
    expect(done).toMatchObject({ lifecycle: 'done', done_reason: 'accepted' });
    expect({ extract: count('extract'), clean: count('clean'), load: count('load') }).toEqual({ extract: 1, clean: 1, load: 1 });
  });

  // The workflow task lost with the killed worker times out (10 s) and the new worker runs the materialization again.
  it('mid-materialization is replaced, and the same run completes with every goal written once', async () => {
    // A run of 12 composites × 6 composites × 2 leaves, written a level per transaction (materializeLayers). A
    // trigger holds this run's third level (its leaves) while a gate row exists, so the kill lands after two
    // levels are in and while the third is being written, whatever the machine's speed.
    // Only the worker this case kills may take the run: the workers earlier cases left on this task queue go.
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    const agentId = `agent_crash${Date.now().toString(36)}`;
    await prisma.agent.create({ data: { id: agentId, name: agentId, ownerUserId: 'user_local', allowedRuntimes: ['shell'], maxDepth: 8, maxChildren: 100, maxGoals: 2000 } });
    const leaves = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `l${i}`, kind: 'leaf', title: `Leaf ${i}`, action: { runtime: 'shell', command: 'true' } }));
    const composites = (n: number, inner: () => unknown) => Array.from({ length: n }, (_, i) => ({ key: `c${i}`, kind: 'composite', title: `Part ${i}`, plan: inner() }));
    const plan = ZPlan.parse({ children: composites(12, () => ({ children: composites(6, () => ({ children: leaves(2) })) })) });
    const wf = await saveFrozenWorkflow(prisma, { agentId, name: `crash-${Date.now().toString(36)}`, title: 'Survives a crash mid-materialization', plan });
    const runId = deriveRunId(wf.id, 'crash');
    await prisma.$executeRawUnsafe('CREATE TABLE IF NOT EXISTS crash_gates (run_id text PRIMARY KEY)');
    await prisma.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION crash_gate_wait() RETURNS trigger AS $$
      BEGIN WHILE EXISTS (SELECT 1 FROM crash_gates WHERE run_id = NEW.run_id) LOOP PERFORM pg_sleep(0.05); END LOOP; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await prisma.$executeRawUnsafe(`CREATE TRIGGER crash_gate_${runId} BEFORE INSERT ON goals FOR EACH ROW WHEN (NEW.run_id = '${runId}' AND NEW.depth = 3) EXECUTE FUNCTION crash_gate_wait()`);
    await prisma.$executeRawUnsafe('INSERT INTO crash_gates (run_id) VALUES ($1)', runId);
    try {
      const first = startWorkerProcess(workerEnv);
      workers.push(first);
      const created = await http('POST', `${api.url}/api/workflows/${wf.id}/runs`, { idempotency_key: 'crash', inputs: {} });
      expect([created.status, created.body.run.id]).toEqual([201, runId]);
      await waitFor(
        async () => ((await prisma.goal.count({ where: { runId } })) === 1 + 12 + 72 ? true : undefined),
        () => `two levels to be written:\n${first.output()}`,
        60_000,
      );
      first.proc.kill('SIGKILL');
      await new Promise((r) => first.proc.once('exit', r));
    } finally {
      await prisma.$executeRawUnsafe('DELETE FROM crash_gates WHERE run_id = $1', runId);
      await prisma.$executeRawUnsafe(`DROP TRIGGER IF EXISTS crash_gate_${runId} ON goals`);
    }
    const atKill = await prisma.goal.count({ where: { runId } });
    expect(await prisma.run.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ state: 'materializing' });

    const second = startWorkerProcess(workerEnv);
    workers.push(second);
    let last: unknown;
    const run = await waitFor(
      async () => {
        const r = (await http('GET', `${api.url}/api/runs/${runId}`)).body;
        last = { state: r.state, status: r.status, goals: await prisma.goal.groupBy({ by: ['lifecycle'], where: { runId }, _count: true }) };
        return isTerminalRunStatus(r.status.status) ? r : undefined;
      },
      () => `the run to finish (${JSON.stringify(last)}):\n${second.output()}`,
      110_000,
    );
    expect([run.state, run.status.status, atKill === 1 + 12 + 72]).toEqual(['materialized', 'done', true]);
    expect(await prisma.goal.count({ where: { runId } })).toBe(1 + 12 + 72 + 144);
    const perParent = await prisma.goal.groupBy({ by: ['parentId'], where: { runId, kind: 'leaf' }, _count: true });
    expect([perParent.length, perParent.every((p) => p._count === 2)]).toEqual([72, true]);
  }, 240_000);

  // The window no store can close from inside the worker: the command has ended, the worker has not yet heard of it
  // (its event loop busy, or here stopped), and it dies. The command's launcher wrote its exit status the moment it
  // ended (attemptFiles.ts), so the next attempt records that instead of running the command a second time.
  it('killed after a leaf\'s command ended but before it heard of the end: the command is not run again', async () => {
    // Only the worker this case freezes may take the leaf: the workers earlier cases left on this task queue go.
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    const created = await http('POST', `${api.url}/api/goals`, {
      title: 'Ends unheard of',
      // The command ends when the test says so (the file `go`), so the worker is surely frozen before it ends.
      plan: {
        children: [
          {
            key: 'once',
            kind: 'leaf',
            title: 'Once',
            action: { runtime: 'shell', command: `echo run >> ${path.join(effects, 'once')}; while [ ! -f ${path.join(effects, 'go')} ]; do sleep 0.1; done; echo '{"rows":3}'` },
          },
        ],
      },
    });
    expect(created.status).toBe(201);
    const leafId: string = (await http('GET', `${api.url}/api/goals/${created.body.id}/tree`)).body.children[0].id;

    const first = startWorkerProcess(workerEnv);
    workers.push(first);
    await waitFor(async () => (count('once') === 1 ? true : undefined), () => `the command to start:\n${first.output()}`, 60_000);
    first.proc.kill('SIGSTOP');
    writeFileSync(path.join(effects, 'go'), '');
    // The attempt's own directory: `attempts/<goal>/<outcome number>/<attempt>` (attemptFiles.ts).
    const outcome = path.join(effects, 'attempts', leafId, '1');
    const exitRecorded = (): boolean => readdirSync(outcome).some((attempt) => readFileSync(path.join(outcome, attempt, 'exit'), 'utf8') === '0\n');
    await waitFor(async () => (exitRecorded() ? true : undefined), "the launcher to record the command's end", 20_000).catch(async (err) => {
      const leaf = await prisma.goal.findUnique({ where: { id: leafId } });
      throw new Error(`${String(err)} (the leaf: ${leaf?.lifecycle}, action ended ${String(leaf?.actionEndedAt)})`);
    });
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));

    const second = startWorkerProcess(workerEnv);
    workers.push(second);
    const leaf = await waitFor(
      async () => {
        const g = (await http('GET', `${api.url}/api/goals/${leafId}`)).body;
        return ['done', 'failed', 'cancelled'].includes(g.lifecycle) ? g : undefined;
      },
      () => `the leaf to end on the new worker:\n${second.output()}`,
      60_000,
    );
    expect({ lifecycle: leaf.lifecycle, runs: count('once'), exit: leaf.output?.exit_code, lost: leaf.output?.output_lost }).toEqual({
      lifecycle: 'done',
      runs: 1,
      exit: 0,
      lost: true,
    });
  });

  // A worker frozen past its leaf's heartbeat timeout: when it thaws, its attempt is cancelled and it kills the
  // command; that kill is ours, not the command's end, so the retry runs the command again (it never finished)
  // instead of recording "killed by SIGTERM" as the leaf's failure. The thawed worker may also be handed an attempt
  // Temporal gave up while it was frozen (its poll was answered then), which runs beside the retry until its first
  // heartbeat's answer cancels it: each attempt keeps its files apart (attemptFiles.ts), so neither clears the other's.
  it('frozen past its heartbeat timeout: the command it killed is run again, and the tree ends done', async () => {
    // Only the worker this case freezes may take the leaf: the workers earlier cases left on this task queue go.
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    const created = await http('POST', `${api.url}/api/goals`, {
      title: 'Frozen worker',
      // The command ends only once the test releases it, after its first run was killed: it outlasts the freeze whatever the load.
      plan: {
        children: [
          {
            key: 'slow',
            kind: 'leaf',
            title: 'Slow',
            action: {
              runtime: 'shell',
              command: `echo start >> ${path.join(effects, 'frozen-start')}; while [ ! -f ${path.join(effects, 'release')} ]; do sleep 0.2; done; echo end >> ${path.join(effects, 'frozen-end')}`,
            },
          },
        ],
      },
    });
    expect(created.status).toBe(201);
    const worker = startWorkerProcess(workerEnv);
    workers.push(worker);
    await waitFor(async () => (count('frozen-start') === 1 ? true : undefined), () => `the command to start:\n${worker.output()}`, 60_000);
    worker.proc.kill('SIGSTOP');
    // Well past the 10 s heartbeat timeout, so Temporal has given the attempt up however loaded the machine.
    await new Promise((r) => setTimeout(r, 25_000));
    worker.proc.kill('SIGCONT');
    // Thawed, the worker learns its attempt was given up, kills the command, and the retry runs it again.
    await waitFor(async () => (count('frozen-start') >= 2 ? true : undefined), () => `the command to run again (started ${count('frozen-start')} times):\n${worker.output()}`, 90_000);
    // Released once only the retry's copy is alive: every given-up attempt's copy was killed.
    await waitFor(async () => (liveCopies(path.join(effects, 'frozen-start')) === 1 ? true : undefined), () => `one copy of the command to be left (${liveCopies(path.join(effects, 'frozen-start'))}):\n${worker.output()}`, 60_000);
    writeFileSync(path.join(effects, 'release'), '');
    const root = await waitFor(
      async () => {
        const g = (await http('GET', `${api.url}/api/goals/${created.body.id}`)).body;
        return ['done', 'failed', 'cancelled'].includes(g.lifecycle) ? g : undefined;
      },
      () => `the tree to end:\n${worker.output()}`,
      90_000,
    );
    expect({ lifecycle: root.lifecycle, reason: root.failure_reason ?? null, ranAgain: count('frozen-start') >= 2, ended: count('frozen-end') }).toEqual({
      lifecycle: 'done',
      reason: null,
      ranAgain: true,
      ended: 1,
    });
  }, 180_000);
});
