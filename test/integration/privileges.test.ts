import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PrismaClient } from '../../src/db/client';
import { createTokenDirect } from '../../src/services/tokens';
import { http, startTestApi, startTestWorker, testConfig, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';

/**
 * Running commands is a privilege (SPEC §6), and so is reaching the worker's
 * own network: an agent without `shell` can neither sneak a command in as an
 * acceptance check nor use an `http` leaf to reach internal addresses
 * (Temporal's HTTP API, Postgres, metadata services).
 */

type TJson = any;

let prisma: PrismaClient;
let worker: Awaited<ReturnType<typeof startTestWorker>>;
let api: Awaited<ReturnType<typeof startTestApi>>;
let server: Server;
let target: string;
let hits = 0;
/** A new user: its agent may use http, manual and agent actions, not shell. */
let noShell: Record<string, string>;
const taskQueue = uniqueTaskQueue('privileges');

beforeAll(async () => {
  prisma = testPrisma();
  worker = await startTestWorker(testConfig(), prisma, taskQueue);
  api = await startTestApi(prisma, taskQueue);
  const minted = await createTokenDirect(prisma, { user: `noshell-${Date.now().toString(36)}` }, { name: 'no shell' });
  noShell = { authorization: `Bearer ${minted.secret}` };
  server = createServer((_req, res) => {
    hits += 1;
    res.end('internal secret');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.close();
  await api?.close();
  await worker?.stop();
  await prisma?.$disconnect();
});

async function ended(id: string, auth: Record<string, string>): Promise<TJson> {
  return waitFor(async () => {
    const g = (await http('GET', `${api.url}/api/goals/${id}`, undefined, auth)).body;
    return ['done', 'failed', 'cancelled'].includes(g.lifecycle) ? g : undefined;
  }, `goal ${id} to end`);
}

describe('privileges of an agent without shell', () => {
  it('refuses an acceptance check (a shell command) on a goal and on a plan child', async () => {
    const leaf = await http('POST', `${api.url}/api/goals`, { title: 'Check', action: { runtime: 'manual' }, acceptance: { check: 'id' }, start: false }, noShell);
    expect([leaf.status, leaf.body.error.code]).toEqual([400, 'RUNTIME_NOT_ALLOWED']);
    expect(leaf.body.error.message).toContain('an acceptance check runs as a shell command');
    const plan = await http(
      'POST',
      `${api.url}/api/goals`,
      { title: 'Plan', start: false, plan: { children: [{ key: 'a', kind: 'leaf', title: 'A', action: { runtime: 'manual' }, acceptance: { check: 'id' } }] } },
      noShell,
    );
    expect([plan.status, plan.body.error.code]).toEqual([400, 'PLAN_INVALID']);
    expect(plan.body.error.details).toEqual([expect.objectContaining({ rule: 'runtime_allowed', path: 'children[0].acceptance.check' })]);
  });

  it('an http leaf may not reach internal addresses, by IP or by name; a shell agent may', async () => {
    const before = hits;
    for (const url of [`http://${target}/`, `http://localhost:${target.split(':')[1]}/`, `http://[::ffff:${target.split(':')[0]}]:${target.split(':')[1]}/`]) {
      const created = await http('POST', `${api.url}/api/goals`, { title: `Reach ${url}`, action: { runtime: 'http', url } }, noShell);
      expect(created.status).toBe(201);
      const goal = await ended(created.body.id, noShell);
      expect([url, goal.lifecycle]).toEqual([url, 'failed']);
      expect(goal.failure_reason).toMatch(/internal address; only an agent that may run shell actions may reach internal addresses/);
      expect(goal.output.body).toBe('');
    }
    expect(hits).toBe(before);

    // The local user's agent may run shell, so it may reach the same server.
    const allowed = await http('POST', `${api.url}/api/goals`, { title: 'Reach it', action: { runtime: 'http', url: `http://${target}/` } });
    const done = await ended(allowed.body.id, {});
    expect([done.lifecycle, done.output.body]).toEqual(['done', 'internal secret']);
    expect(hits).toBe(before + 1);
  });
});
