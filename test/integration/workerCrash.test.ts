import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PrismaClient } from '../../src/db/client';
import { http, startTestApi, testEnv, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';

/**
 * Exactly-once in the face of a crash: the worker (a real `src/main/worker.ts`
 * process, as `npm run worker` runs it) is killed with SIGKILL in the middle
 * of a tree, a new one starts, and the tree completes. Temporal replays the
 * history on the new worker, so leaves that had finished never run again:
 * their side-effect counters stay at one.
 */

jest.setTimeout(120_000);
const root = path.resolve(__dirname, '../..');
const taskQueue = uniqueTaskQueue('crash');
const effects = mkdtempSync(path.join(tmpdir(), 'reprise-crash-'));
chmodSync(effects, 0o755);

function startWorkerProcess(): { proc: ChildProcess; output: () => string } {
  // One process (tsx as a loader, not its CLI, which runs the script in a child): SIGKILL must hit the worker itself.
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main/worker.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: testEnv.databaseUrl,
      TEMPORAL_ADDRESS: testEnv.temporalAddress,
      TEMPORAL_TASK_QUEUE: taskQueue,
      REPRISE_DATA_DIR: effects,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  return { proc, output: () => out };
}

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
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    prisma = testPrisma();
    api = await startTestApi(prisma, taskQueue);
  });
  afterAll(async () => {
    await Promise.all(
      workers.map(async (w) => {
        if (w.exitCode !== null || w.signalCode !== null) return;
        const exited = new Promise((r) => w.once('exit', r));
        w.kill('SIGINT');
        const timer = setTimeout(() => w.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
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

    const first = startWorkerProcess();
    workers.push(first.proc);
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

    const second = startWorkerProcess();
    workers.push(second.proc);
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
});
