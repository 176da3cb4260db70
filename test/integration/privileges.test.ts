import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

/**
 * A saved workflow carries its commands with it (issue 17, finding 2): an
 * agent without `shell` must not get a shell command run through one, by any
 * route, and taking `shell` away from an agent stops its work at the next leaf.
 */
describe('saved workflows need the runtimes they record', () => {
  const unique = (name: string) => `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  /** The local user's agent without shell, with a token that may also write schedules. */
  let lacking: Record<string, string>;
  let lackingName: string;
  /** A saved workflow of the local user whose one leaf is a shell command. */
  let shellWorkflow: TJson;

  beforeAll(async () => {
    lackingName = unique('no-shell');
    const agent = await http('POST', `${api.url}/api/agents`, { name: lackingName, allowed_runtimes: ['http', 'manual', 'agent'] });
    expect(agent.status).toBe(201);
    const token = await http('POST', `${api.url}/api/tokens`, {
      name: 'no shell agent',
      agent_id: agent.body.id,
      scopes: ['goals:read', 'goals:write', 'workflows:read', 'workflows:write', 'schedules:read', 'schedules:write'],
    });
    lacking = { authorization: `Bearer ${token.body.secret}` };
    const goal = await http('POST', `${api.url}/api/goals`, { title: 'Shell tree', plan: { children: [{ key: 'cmd', kind: 'leaf', title: 'Cmd', action: { runtime: 'shell', command: 'true' } }] } });
    expect((await ended(goal.body.id, {})).lifecycle).toBe('done');
    const saved = await http('POST', `${api.url}/api/goals/${goal.body.id}/save-as-workflow`, { name: unique('shell-wf') });
    shellWorkflow = saved.body;
  });

  const ref = () => `${shellWorkflow.name}@${shellWorkflow.version}`;

  it('records the runtimes a version needs, transitively through the workflows it names', async () => {
    expect(shellWorkflow.required_runtimes).toEqual(['shell']);
    // A tree whose own leaf is manual, naming the shell workflow: it needs both.
    const outer = await http('POST', `${api.url}/api/goals`, {
      title: 'Outer',
      plan: { children: [{ key: 'sub', kind: 'composite', title: 'Sub', workflow: ref() }, { key: 'ok', kind: 'leaf', title: 'OK', action: { runtime: 'manual' } }] },
    });
    const manual = await waitFor(async () => {
      const tree = (await http('GET', `${api.url}/api/goals/${outer.body.id}/tree`)).body;
      return tree.children.find((c: TJson) => c.key === 'ok' && c.waiting_for === 'completion');
    }, 'the manual leaf to wait');
    await http('POST', `${api.url}/api/goals/${manual.id}/complete`, { outcome: 'succeeded' });
    expect((await ended(outer.body.id, {})).lifecycle).toBe('done');
    const saved = await http('POST', `${api.url}/api/goals/${outer.body.id}/save-as-workflow`, { name: unique('outer-wf') });
    expect(saved.body.required_runtimes).toEqual(['manual', 'shell']);
  });

  it('refuses to run it for an agent without shell, naming the runtime and the workflow, and writes nothing', async () => {
    const runsBefore = (await http('GET', `${api.url}/api/workflows/${shellWorkflow.id}/runs`)).body.total;
    const res = await http('POST', `${api.url}/api/workflows/${shellWorkflow.id}/runs`, { idempotency_key: unique('key') }, lacking);
    expect([res.status, res.body.error.code]).toEqual([400, 'RUNTIME_NOT_ALLOWED']);
    expect(res.body.error.message).toContain(`agent ${lackingName} may not run workflow ${ref()}: it needs shell commands`);
    const runs = await http('GET', `${api.url}/api/workflows/${shellWorkflow.id}/runs`);
    expect(runs.body.total).toBe(runsBefore);
  });

  it('refuses to schedule it for an agent without shell', async () => {
    const res = await http('POST', `${api.url}/api/workflows/${shellWorkflow.id}/schedules`, { spec: { every: '1h' }, paused: true }, lacking);
    expect([res.status, res.body.error.code]).toEqual([400, 'RUNTIME_NOT_ALLOWED']);
    expect(res.body.error.message).toContain(`may not schedule workflow ${ref()}: it needs shell commands`);
    const schedules = await http('GET', `${api.url}/api/schedules?workflow_id=${shellWorkflow.id}`);
    expect(schedules.body.items).toEqual([]);
  });

  it('refuses a plan naming it, inline or submitted later, for an agent without shell', async () => {
    const child = { key: 'sub', kind: 'composite', title: 'Sub', workflow: ref() };
    const inline = await http('POST', `${api.url}/api/goals`, { title: 'Sneaky', start: false, plan: { children: [{ key: 'outer', kind: 'composite', title: 'Outer', plan: { children: [child] } }] } }, lacking);
    expect([inline.status, inline.body.error.code]).toEqual([400, 'RUNTIME_NOT_ALLOWED']);
    expect(inline.body.error.message).toContain(`plan.children[0].plan.children[0].workflow: agent ${lackingName} may not reference workflow ${ref()}: it needs shell commands`);

    const draft = await http('POST', `${api.url}/api/goals`, { title: 'Later', kind: 'composite', start: false }, lacking);
    expect(draft.status).toBe(201);
    const later = await http('POST', `${api.url}/api/goals/${draft.body.id}/plan`, { children: [child] }, lacking);
    expect([later.status, later.body.error.code]).toEqual([400, 'RUNTIME_NOT_ALLOWED']);
    expect((await http('GET', `${api.url}/api/goals/${draft.body.id}`, undefined, lacking)).body.planned_at).toBeNull();
  });

  it('taking shell away mid-run fails the next shell leaf with the reason, and its command never runs', async () => {
    const marker = path.join(await mkdtemp(path.join(tmpdir(), 'reprise-revoke-')), 'ran');
    const name = unique('revoked');
    const agent = (await http('POST', `${api.url}/api/agents`, { name, allowed_runtimes: ['shell', 'manual'] })).body;
    const token = (await http('POST', `${api.url}/api/tokens`, { name: 'revoked agent', agent_id: agent.id })).body.secret;
    const auth = { authorization: `Bearer ${token}` };
    const goal = await http(
      'POST',
      `${api.url}/api/goals`,
      {
        title: 'Revoked midway',
        plan: {
          children: [
            { key: 'gate', kind: 'leaf', title: 'Gate', action: { runtime: 'manual' } },
            { key: 'mark', kind: 'leaf', title: 'Mark', action: { runtime: 'shell', command: `touch '${marker}'` } },
          ],
          edges: [{ from: 'gate', to: 'mark' }],
        },
      },
      auth,
    );
    expect(goal.status).toBe(201);
    const gate = await waitFor(async () => {
      const tree = (await http('GET', `${api.url}/api/goals/${goal.body.id}/tree`, undefined, auth)).body;
      return tree.children.find((c: TJson) => c.key === 'gate' && c.waiting_for === 'completion');
    }, 'the gate to wait');

    const revoked = await http('PATCH', `${api.url}/api/agents/${agent.id}`, { allowed_runtimes: ['manual'] });
    expect([revoked.status, revoked.body.allowed_runtimes]).toEqual([200, ['manual']]);
    expect((await http('POST', `${api.url}/api/goals/${gate.id}/complete`, { outcome: 'succeeded' }, auth)).status).toBe(200);

    const root = await ended(goal.body.id, auth);
    expect(root.lifecycle).toBe('failed');
    const tree = (await http('GET', `${api.url}/api/goals/${goal.body.id}/tree`, undefined, auth)).body;
    const mark = tree.children.find((c: TJson) => c.key === 'mark');
    expect([mark.lifecycle, mark.failure_reason]).toEqual(['failed', `agent ${name} may no longer run shell commands: nothing was run`]);
    expect(existsSync(marker)).toBe(false);
  });
});
