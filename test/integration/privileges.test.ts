import { existsSync, readFileSync } from 'node:fs';
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

/**
 * Issue 17's hostile review: a run's goals run under the workflow's agent
 * (SPEC §4), so every door that makes a saved workflow run must also check
 * the agent that asks (the acting agent), and every leaf and every fire must
 * check it again, so a privilege taken away takes effect there.
 */
describe('the acting agent needs the runtimes too', () => {
  const unique = (name: string) => `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const ALL_SCOPES = ['goals:read', 'goals:write', 'workflows:read', 'workflows:write', 'schedules:read', 'schedules:write'];

  /** A new agent of the local user, with a token that may do everything but admin. */
  async function agentWithToken(allowed: string[]): Promise<{ id: string; name: string; auth: Record<string, string> }> {
    const name = unique('acting');
    const agent = await http('POST', `${api.url}/api/agents`, { name, allowed_runtimes: allowed });
    expect(agent.status).toBe(201);
    const token = await http('POST', `${api.url}/api/tokens`, { name: `token of ${name}`, agent_id: agent.body.id, scopes: ALL_SCOPES });
    return { id: agent.body.id, name, auth: { authorization: `Bearer ${token.body.secret}` } };
  }

  /** Saves a tree of the local user's (shell) agent as a workflow, once it has been accepted; a manual leaf keyed `gate` is completed on the way. */
  async function saveTree(plan: TJson, name = unique('wf')): Promise<TJson> {
    const goal = await http('POST', `${api.url}/api/goals`, { title: 'Tree', plan });
    expect(goal.status).toBe(201);
    if (plan.children.some((c: TJson) => c.key === 'gate')) {
      const gate = await waitFor(async () => {
        const tree = (await http('GET', `${api.url}/api/goals/${goal.body.id}/tree`)).body;
        return tree.children.find((c: TJson) => c.key === 'gate' && c.waiting_for === 'completion');
      }, 'the gate to wait');
      await http('POST', `${api.url}/api/goals/${gate.id}/complete`, { outcome: 'succeeded' });
    }
    expect((await ended(goal.body.id, {})).lifecycle).toBe('done');
    const saved = await http('POST', `${api.url}/api/goals/${goal.body.id}/save-as-workflow`, { name });
    expect(saved.status).toBe(201);
    return saved.body;
  }

  const shellLeaf = (command = 'true') => ({ key: 'cmd', kind: 'leaf', title: 'Cmd', action: { runtime: 'shell', command } });
  const gateLeaf = { key: 'gate', kind: 'leaf', title: 'Gate', action: { runtime: 'manual' } };

  async function scheduleView(id: string, done: (body: TJson) => boolean, what: string): Promise<TJson> {
    return waitFor(async () => {
      const body = (await http('GET', `${api.url}/api/schedules/${id}`)).body;
      return done(body) ? body : undefined;
    }, what);
  }

  let shellWorkflow: TJson;
  let lacking: Awaited<ReturnType<typeof agentWithToken>>;

  beforeAll(async () => {
    shellWorkflow = await saveTree({ children: [shellLeaf()] });
    lacking = await agentWithToken(['http', 'manual', 'agent']);
  });

  it('consequence 1: an agent without shell may not trigger, change or backfill a schedule of a shell workflow its user owns; it may pause it', async () => {
    const s = await http('POST', `${api.url}/api/workflows/${shellWorkflow.id}/schedules`, { spec: { every: '1h' }, paused: true });
    expect(s.status).toBe(201);
    const ref = `${shellWorkflow.name}@${shellWorkflow.version}`;
    const attempts: [string, string, unknown, string][] = [
      ['POST', 'trigger', undefined, 'trigger a schedule of'],
      ['PATCH', '', { inputs: {} }, 'change a schedule of'],
      ['PATCH', '', { paused: false }, 'change a schedule of'],
      ['POST', 'backfill', { start: new Date(Date.now() - 3 * 3600_000).toISOString(), end: new Date(Date.now() - 3600_000).toISOString() }, 'backfill a schedule of'],
    ];
    for (const [method, action, body, doing] of attempts) {
      const res = await http(method, `${api.url}/api/schedules/${s.body.id}${action ? `/${action}` : ''}`, body, lacking.auth);
      expect([action, res.status, res.body.error?.code]).toEqual([action, 400, 'RUNTIME_NOT_ALLOWED']);
      expect(res.body.error.message).toContain(`agent ${lacking.name} may not ${doing} workflow ${ref}: it needs shell commands`);
      expect(res.body.error.details).toMatchObject({ agent: lacking.name, workflow: ref, missing_runtimes: ['shell'] });
    }
    const view = (await http('GET', `${api.url}/api/schedules/${s.body.id}`)).body;
    expect([view.paused, view.fires_taken, view.runs.total]).toEqual([true, 0, 0]);
    // Pausing only stops fires: any agent of the owner may.
    const paused = await http('PATCH', `${api.url}/api/schedules/${s.body.id}`, { paused: true, note: 'stopped by the no-shell agent' }, lacking.auth);
    expect(paused.status).toBe(200);
    await http('DELETE', `${api.url}/api/schedules/${s.body.id}`);
  });

  it('consequence 2: a follow_latest fire of a newer version needing shell its creator may not run is skipped, saying why', async () => {
    const name = unique('follow');
    const v1 = await saveTree({ children: [gateLeaf] }, name);
    expect(v1.required_runtimes).toEqual(['manual']);
    const s = await http('POST', `${api.url}/api/workflows/${v1.id}/schedules`, { spec: { every: '1h' }, paused: true, follow_latest: true }, lacking.auth);
    expect(s.status).toBe(201);
    const v2 = await saveTree({ children: [shellLeaf()] }, name);
    expect([v2.version, v2.required_runtimes]).toEqual([2, ['shell']]);
    // The creator may not trigger it itself now (the version a fire would run needs shell); an agent with shell may.
    expect((await http('POST', `${api.url}/api/schedules/${s.body.id}/trigger`, undefined, lacking.auth)).status).toBe(400);
    expect((await http('POST', `${api.url}/api/schedules/${s.body.id}/trigger`)).status).toBe(200);
    const view = await scheduleView(s.body.id, (b) => b.runs?.total === 1, 'the fire to be recorded');
    expect(view.runs.items[0]).toMatchObject({
      state: 'skipped',
      workflow: { version: 2 },
      status: { status: 'skipped', reason: `workflow ${name} v2 needs shell commands, which agent ${lacking.name} (the schedule's creator) may not run` },
      root_goal_id: null,
    });
    await http('DELETE', `${api.url}/api/schedules/${s.body.id}`);
  });

  it('consequence 3: once its creator loses shell, a schedule\'s fire is skipped, saying why', async () => {
    const creator = await agentWithToken(['shell', 'manual']);
    const s = await http('POST', `${api.url}/api/workflows/${shellWorkflow.id}/schedules`, { spec: { every: '1h' }, paused: true }, creator.auth);
    expect([s.status, s.body.created_by_agent_id]).toEqual([201, creator.id]);
    expect((await http('PATCH', `${api.url}/api/agents/${creator.id}`, { allowed_runtimes: ['manual'] })).status).toBe(200);
    expect((await http('POST', `${api.url}/api/schedules/${s.body.id}/trigger`)).status).toBe(200);
    const view = await scheduleView(s.body.id, (b) => b.runs?.total === 1, 'the fire to be recorded');
    expect(view.runs.items[0]).toMatchObject({
      state: 'skipped',
      status: { reason: `workflow ${shellWorkflow.name} v${shellWorkflow.version} needs shell commands, which agent ${creator.name} (the schedule's creator) may not run` },
      requested_by_agent_id: creator.id,
    });
    await http('DELETE', `${api.url}/api/schedules/${s.body.id}`);
  });

  it('consequence 3: once the agent that started a run loses shell, the run\'s next shell leaf fails with the reason and its command never runs', async () => {
    const marker = path.join(await mkdtemp(path.join(tmpdir(), 'reprise-acting-')), 'ran');
    const wf = await saveTree({ children: [gateLeaf, shellLeaf(`touch '${marker}'`)], edges: [{ from: 'gate', to: 'cmd' }] });
    // The tree it was saved from ran the command once.
    expect(existsSync(marker)).toBe(true);
    const { rmSync } = await import('node:fs');
    rmSync(marker);

    const runner = await agentWithToken(['shell', 'manual']);
    const created = await http('POST', `${api.url}/api/workflows/${wf.id}/runs`, { idempotency_key: unique('key') }, runner.auth);
    expect(created.status).toBe(201);
    const run = { body: created.body.run };
    expect([run.body.requested_by_agent_id, (await prisma.run.findUniqueOrThrow({ where: { id: run.body.id } })).requestedByAgentId]).toEqual([runner.id, runner.id]);
    const gate = await waitFor(async () => {
      const id = (await http('GET', `${api.url}/api/runs/${run.body.id}`)).body.root_goal_id;
      const tree = id && (await http('GET', `${api.url}/api/goals/${id}/tree`)).body;
      return tree?.children?.find((c: TJson) => c.key === 'gate' && c.waiting_for === 'completion');
    }, 'the run\'s gate to wait');
    expect((await http('PATCH', `${api.url}/api/agents/${runner.id}`, { allowed_runtimes: ['manual'] })).status).toBe(200);
    expect((await http('POST', `${api.url}/api/goals/${gate.id}/complete`, { outcome: 'succeeded' }, runner.auth)).status).toBe(200);

    const root = await ended((await http('GET', `${api.url}/api/runs/${run.body.id}`)).body.root_goal_id, {});
    expect(root.lifecycle).toBe('failed');
    const tree = (await http('GET', `${api.url}/api/goals/${root.id}/tree`)).body;
    const cmd = tree.children.find((c: TJson) => c.key === 'cmd');
    expect([cmd.lifecycle, cmd.failure_reason]).toEqual(['failed', `agent ${runner.name}, which requested this run, may no longer run shell commands: nothing was run`]);
    expect(existsSync(marker)).toBe(false);
  });

  it('consequence 4: an http workflow saved by a shell agent, run by an agent without shell, may not reach internal addresses (checked at the request)', async () => {
    // The request sits in a workflow the run names (a nested run): only the leaf's address guard sees it.
    const inner = await saveTree({ children: [{ key: 'get', kind: 'leaf', title: 'Get', action: { runtime: 'http', url: `http://${target}/` } }] });
    const outer = await saveTree({ children: [{ key: 'sub', kind: 'composite', title: 'Sub', workflow: `${inner.name}@${inner.version}` }] });
    expect(outer.required_runtimes).toEqual(['http']);
    const before = hits;
    const run = await http('POST', `${api.url}/api/workflows/${outer.id}/runs`, { idempotency_key: unique('key') }, lacking.auth);
    expect(run.status).toBe(201);
    const rootId = await waitFor(async () => (await http('GET', `${api.url}/api/runs/${run.body.run.id}`)).body.root_goal_id ?? undefined, 'the run\'s root');
    expect((await ended(rootId, {})).lifecycle).toBe('failed');
    const nested = await prisma.run.findFirstOrThrow({ where: { parentRunId: run.body.run.id } });
    expect(nested.requestedByAgentId).toBe(lacking.id);
    const get = await prisma.goal.findFirstOrThrow({ where: { runId: nested.id, key: 'get' } });
    expect(get.lifecycle).toBe('failed');
    expect(get.failureReason).toMatch(/internal address; only an agent that may run shell actions may reach internal addresses/);
    expect(hits).toBe(before);
  });

  it('consequence 4: one whose request names a literal internal address is refused up front for an agent without shell', async () => {
    const url = `http://${target}/`;
    const wf = await saveTree({ children: [{ key: 'get', kind: 'leaf', title: 'Get', action: { runtime: 'http', url } }] });
    const ref = `${wf.name}@${wf.version}`;
    const why = `its request at children[0].action.url reaches 127.0.0.1, an internal address, which only an agent that may run shell commands may reach`;
    const run = await http('POST', `${api.url}/api/workflows/${wf.id}/runs`, { idempotency_key: unique('key') }, lacking.auth);
    expect([run.status, run.body.error?.code, run.body.error?.message]).toEqual([400, 'RUNTIME_NOT_ALLOWED', `agent ${lacking.name} may not run workflow ${ref}: ${why}`]);
    expect(run.body.error.details).toMatchObject({ agent: lacking.name, workflow: ref, missing_runtimes: ['shell'], path: 'children[0].action.url' });
    const scheduled = await http('POST', `${api.url}/api/workflows/${wf.id}/schedules`, { spec: { every: '1h' }, paused: true }, lacking.auth);
    expect([scheduled.status, scheduled.body.error?.message]).toEqual([400, `agent ${lacking.name} may not schedule workflow ${ref}: ${why}`]);
    expect((await http('GET', `${api.url}/api/workflows/${wf.id}/runs`)).body.total).toBe(0);
  });

  it('consequence 5: a replay that would start a run left claimed checks the replaying agent too', async () => {
    const key = unique('key');
    const { claimRun } = await import('../../src/db/runs');
    const ids = await import('../../src/domain/ids');
    // A run claimed by the local (shell) agent whose start never happened (a crash between claim and start).
    const { run } = await claimRun(prisma, {
      id: ids.runId(shellWorkflow.id, key),
      savedWorkflowId: shellWorkflow.id,
      idempotencyKey: key,
      inputs: {},
      inputsHash: ids.inputsHash({}),
      temporalWorkflowId: ids.runTemporalWorkflowId(shellWorkflow, key),
      requestedByAgentId: 'agent_default',
    });
    const replay = await http('POST', `${api.url}/api/workflows/${shellWorkflow.id}/runs`, { idempotency_key: key }, lacking.auth);
    expect([replay.status, replay.body.error?.code]).toEqual([400, 'RUNTIME_NOT_ALLOWED']);
    expect(replay.body.error.message).toContain(`agent ${lacking.name} may not run workflow ${shellWorkflow.name}@${shellWorkflow.version}: it needs shell commands`);
    expect((await prisma.run.findUniqueOrThrow({ where: { id: run.id } })).state).toBe('claimed');
    // The agent with shell heals it.
    const healed = await http('POST', `${api.url}/api/workflows/${shellWorkflow.id}/runs`, { idempotency_key: key });
    expect([healed.status, healed.body.run?.id, healed.body.created]).toEqual([200, run.id, false]);
  });

  it('consequence 6: an http header value holding a line break is refused at submission, naming the header', async () => {
    for (const value of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb']) {
      const res = await http('POST', `${api.url}/api/goals`, { title: 'Split', start: false, action: { runtime: 'http', url: 'https://example.com/', headers: { 'X-Split': value } } });
      expect([res.status, res.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(res.body.error.message).toContain('header X-Split: a header value must not contain a line break (CR, LF) or NUL');
    }
  });

  /**
   * Review r5 #1: a plan submitted into another agent's composite (same user)
   * is the submitter's work. Its goals record the submitter, and their leaves
   * need its runtimes, and its shell to reach internal addresses. The request
   * is planted by an agent that may run shell at install (so nothing refuses it
   * up front), then shell is taken from it before the leaf runs.
   */
  async function plantRequest(slotId: string, planner: { id: string; auth: Record<string, string> }): Promise<TJson> {
    const plan = {
      children: [gateLeaf, { key: 'get', kind: 'leaf', title: 'Get', action: { runtime: 'http', url: `http://${target}/` } }],
      edges: [{ from: 'gate', to: 'get' }],
    };
    const installed = await http('POST', `${api.url}/api/goals/${slotId}/plan`, plan, planner.auth);
    expect([installed.status, installed.body.error]).toEqual([200, undefined]);
    const gate = await waitFor(async () => {
      const g = await prisma.goal.findFirst({ where: { parentId: slotId, key: 'gate' } });
      return g?.waitingFor === 'completion' ? g : undefined;
    }, 'the planted gate to wait');
    expect((await http('PATCH', `${api.url}/api/agents/${planner.id}`, { allowed_runtimes: ['http', 'manual'] })).status).toBe(200);
    expect((await http('POST', `${api.url}/api/goals/${gate.id}/complete`, { outcome: 'succeeded' })).status).toBe(200);
    return waitFor(async () => {
      const g = await prisma.goal.findFirst({ where: { parentId: slotId, key: 'get' } });
      return g && ['done', 'failed'].includes(g.lifecycle) ? g : undefined;
    }, 'the planted request to end');
  }

  it('review r5 #1: a plan submitted into another agent\'s live composite acts for its submitter: no internal addresses without shell', async () => {
    // The local user's shell agent's live tree, with a composite waiting for its plan.
    const goal = await http('POST', `${api.url}/api/goals`, { title: 'Open slot', plan: { children: [{ key: 'slot', kind: 'composite', title: 'Slot' }] } });
    expect(goal.status).toBe(201);
    const slot = await waitFor(async () => {
      const tree = (await http('GET', `${api.url}/api/goals/${goal.body.id}/tree`)).body;
      return tree.children?.find((c: TJson) => c.key === 'slot' && c.waiting_for === 'plan');
    }, 'the slot to wait for its plan');

    // From an agent without shell, a literal internal address is refused up front, and nothing is installed.
    const literal = await http('POST', `${api.url}/api/goals/${slot.id}/plan`, { children: [{ key: 'get', kind: 'leaf', title: 'Get', action: { runtime: 'http', url: `http://${target}/` } }] }, lacking.auth);
    expect([literal.status, literal.body.error?.code]).toEqual([400, 'RUNTIME_NOT_ALLOWED']);
    expect(literal.body.error.message).toBe(
      `children[0].action.url: agent ${lacking.name} may not submit this plan: its request reaches 127.0.0.1, an internal address, which only an agent that may run shell commands may reach`,
    );
    expect((await http('GET', `${api.url}/api/goals/${slot.id}`)).body.planned_at).toBeNull();

    const planner = await agentWithToken(['shell', 'http', 'manual']);
    const before = hits;
    const get = await plantRequest(slot.id, planner);
    expect([get.plannedByAgentId, get.runId, get.lifecycle]).toEqual([planner.id, null, 'failed']);
    expect(get.failureReason).toMatch(/internal address; only an agent that may run shell actions may reach internal addresses/);
    expect(hits).toBe(before);
    expect((await ended(goal.body.id, {})).lifecycle).toBe('failed');
    // Goals made otherwise record no planner.
    expect((await prisma.goal.findUniqueOrThrow({ where: { id: slot.id } })).plannedByAgentId).toBeNull();

    // The planner is in use for good: its goals' leaves check its runtimes.
    const del = await http('DELETE', `${api.url}/api/agents/${planner.id}`);
    expect([del.status, del.body.error?.details?.uses?.goals]).toEqual([409, 2]);
  });

  it('review r5 #1: a plan submitted into a run\'s unplanned composite needs its submitter\'s shell for internal addresses', async () => {
    // A workflow saved with an unplanned composite the source tree skipped; its run (asked by a shell agent) takes the plan later.
    const source = await http('POST', `${api.url}/api/goals`, {
      title: 'Run slot',
      plan: {
        children: [
          { key: 'probe', kind: 'leaf', title: 'Probe', action: { runtime: 'shell', command: `printf '{"go":"%s"}' "$REPRISE_INPUT_go"` } },
          { key: 'slot', kind: 'composite', title: 'Slot' },
        ],
        edges: [{ from: 'probe', to: 'slot', on: { when: 'output.go == "yes"' } }],
      },
    });
    expect((await ended(source.body.id, {})).lifecycle).toBe('done');
    const saved = await http('POST', `${api.url}/api/goals/${source.body.id}/save-as-workflow`, { name: unique('slot-wf'), inputs: [{ name: 'go', default: 'no' }] });
    expect(saved.status).toBe(201);
    const run = await http('POST', `${api.url}/api/workflows/${saved.body.id}/runs`, { idempotency_key: unique('key'), inputs: { go: 'yes' } });
    expect(run.status).toBe(201);
    const slot = await waitFor(async () => {
      const g = await prisma.goal.findFirst({ where: { runId: run.body.run.id, key: 'slot' } });
      return g?.waitingFor === 'plan' ? g : undefined;
    }, 'the run\'s slot to wait for its plan');
    const planner = await agentWithToken(['shell', 'http', 'manual']);
    const before = hits;
    const get = await plantRequest(slot.id, planner);
    expect([get.plannedByAgentId, get.runId, get.lifecycle]).toEqual([planner.id, run.body.run.id, 'failed']);
    expect(get.failureReason).toMatch(/internal address; only an agent that may run shell actions may reach internal addresses/);
    expect(hits).toBe(before);
  });

  it('review r5 #2: an agent without shell may not trigger, backfill or change a schedule whose fires reach with a shell creator\'s privilege; it may pause it or change its note', async () => {
    // An http workflow whose request names a host (judged when the request is made), so nothing is refused as literal.
    const wf = await saveTree({ children: [gateLeaf, { key: 'get', kind: 'leaf', title: 'Get', action: { runtime: 'http', url: 'http://reprise-test.invalid/' } }], edges: [{ from: 'gate', to: 'get', on: { when: 'false' } }] });
    expect(wf.required_runtimes).toEqual(['http', 'manual']);
    const ref = `${wf.name}@${wf.version}`;
    const creator = await agentWithToken(['shell', 'http', 'manual']);
    const s = await http('POST', `${api.url}/api/workflows/${wf.id}/schedules`, { spec: { every: '1h' }, paused: true }, creator.auth);
    expect(s.status).toBe(201);
    const attempts: [string, string, unknown, string][] = [
      ['POST', 'trigger', undefined, 'trigger a schedule of'],
      ['PATCH', '', { inputs: {} }, 'change a schedule of'],
      ['PATCH', '', { paused: false }, 'change a schedule of'],
      ['POST', 'backfill', { start: new Date(Date.now() - 3 * 3600_000).toISOString(), end: new Date(Date.now() - 3600_000).toISOString() }, 'backfill a schedule of'],
    ];
    for (const [method, action, body, doing] of attempts) {
      const res = await http(method, `${api.url}/api/schedules/${s.body.id}${action ? `/${action}` : ''}`, body, lacking.auth);
      expect([action, res.status, res.body.error?.code]).toEqual([action, 400, 'RUNTIME_NOT_ALLOWED']);
      expect(res.body.error.message).toBe(
        `agent ${lacking.name} may not ${doing} workflow ${ref}: its fires make http requests with the reach of agent ${creator.name} (the schedule's creator), internal addresses included, which only an agent that may run shell commands may reach`,
      );
      expect(res.body.error.details).toMatchObject({ agent: lacking.name, workflow: ref, missing_runtimes: ['shell'] });
    }
    const view = (await http('GET', `${api.url}/api/schedules/${s.body.id}`)).body;
    expect([view.paused, view.fires_taken, view.runs.total]).toEqual([true, 0, 0]);
    // Pausing, or changing only the note, makes nothing run.
    expect((await http('PATCH', `${api.url}/api/schedules/${s.body.id}`, { note: 'noted by the no-shell agent' }, lacking.auth)).status).toBe(200);
    expect((await http('PATCH', `${api.url}/api/schedules/${s.body.id}`, { paused: true }, lacking.auth)).status).toBe(200);
    await http('DELETE', `${api.url}/api/schedules/${s.body.id}`);

    // A schedule whose creator may not run shell has no such reach: the same agent may trigger it.
    const own = await http('POST', `${api.url}/api/workflows/${wf.id}/schedules`, { spec: { every: '1h' }, paused: true }, lacking.auth);
    expect(own.status).toBe(201);
    expect((await http('POST', `${api.url}/api/schedules/${own.body.id}/trigger`, undefined, lacking.auth)).status).toBe(200);
    await http('DELETE', `${api.url}/api/schedules/${own.body.id}`);
  });

  it('review r5 #3: a backfill asking allow_all of a skip schedule runs every fire of the range, none skipped as overlapping', async () => {
    // Each run waits at its gate, so every earlier fire's run is still instantiating or active when the next fire decides.
    const wf = await saveTree({ children: [gateLeaf] });
    const s = await http('POST', `${api.url}/api/workflows/${wf.id}/schedules`, { spec: { every: '1h' }, paused: true, overlap: 'skip' });
    expect(s.status).toBe(201);
    const hour = 3600_000;
    const base = Math.floor(Date.now() / hour) * hour;
    const range = { start: new Date(base - 3 * hour - 1000).toISOString(), end: new Date(base - hour + 1000).toISOString(), overlap: 'allow_all' };
    const filled = await http('POST', `${api.url}/api/schedules/${s.body.id}/backfill`, range);
    expect([filled.status, filled.body.error]).toEqual([200, undefined]);
    const view = await scheduleView(s.body.id, (b) => b.runs?.total === 3, 'the three fires to be recorded');
    expect([view.runs.skipped, view.runs.items.map((r: TJson) => r.state === 'skipped' ? r.status.reason : 'ran')]).toEqual([0, ['ran', 'ran', 'ran']]);
    await http('DELETE', `${api.url}/api/schedules/${s.body.id}`);
  });

  it('review r5 #4: a replay starting a claimed run refuses a literal internal address for an agent without shell', async () => {
    const wf = await saveTree({ children: [{ key: 'get', kind: 'leaf', title: 'Get', action: { runtime: 'http', url: `http://${target}/` } }] });
    const key = unique('key');
    const { claimRun } = await import('../../src/db/runs');
    const ids = await import('../../src/domain/ids');
    const { run } = await claimRun(prisma, {
      id: ids.runId(wf.id, key),
      savedWorkflowId: wf.id,
      idempotencyKey: key,
      inputs: {},
      inputsHash: ids.inputsHash({}),
      temporalWorkflowId: ids.runTemporalWorkflowId(wf, key),
      requestedByAgentId: 'agent_default',
    });
    const replay = await http('POST', `${api.url}/api/workflows/${wf.id}/runs`, { idempotency_key: key }, lacking.auth);
    expect([replay.status, replay.body.error?.code]).toEqual([400, 'RUNTIME_NOT_ALLOWED']);
    expect(replay.body.error.message).toBe(
      `agent ${lacking.name} may not run workflow ${wf.name}@${wf.version}: its request at children[0].action.url reaches 127.0.0.1, an internal address, which only an agent that may run shell commands may reach`,
    );
    expect((await prisma.run.findUniqueOrThrow({ where: { id: run.id } })).state).toBe('claimed');
  });

  it('review r5 #4: a header value beyond Latin-1 and a bad header name are refused at submission, naming the header; a one-shot ten years out is too', async () => {
    for (const [value, code] of [['a\u2028b', 'U+2028'], ['\u0100', 'U+0100']]) {
      const res = await http('POST', `${api.url}/api/goals`, { title: 'Wide', start: false, action: { runtime: 'http', url: 'https://example.com/', headers: { 'X-Wide': value } } });
      expect([res.status, res.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(res.body.error.message).toContain(`header X-Wide: a header value may hold only Latin-1 characters (U+0000 to U+00FF); it holds ${code}`);
    }
    const badName = await http('POST', `${api.url}/api/goals`, { title: 'Bad', start: false, action: { runtime: 'http', url: 'https://example.com/', headers: { 'Bad Name': 'x' } } });
    expect([badName.status, badName.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(badName.body.error.message).toContain('header "Bad Name": a header name must be an HTTP token');
    expect(badName.body.error.message).not.toContain('Invalid key in record');

    const wf = await saveTree({ children: [gateLeaf] });
    const far = await http('POST', `${api.url}/api/workflows/${wf.id}/schedules`, { spec: { at: '9999-12-31T23:59:59Z' } });
    expect([far.status, far.body.error?.code, far.body.error?.details]).toEqual([
      400,
      'VALIDATION_FAILED',
      [{ path: 'body.spec.at', message: 'spec.at 9999-12-31T23:59:59.000Z is more than 10 years ahead; a one-shot fires within 10 years' }],
    ]);
  });
  /**
   * Review r6 #1: a schedule deleted while fires are on their way (a backfill's,
   * a catch-up's) left them deciding without its row: no creator to act for, so
   * the run had no acting agent and its leaves checked the workflow's agent alone.
   */
  it('review r6 #1: a fire deciding after its schedule was deleted makes no tree', async () => {
    const wf = await saveTree({ children: [gateLeaf] });
    const s = await http('POST', `${api.url}/api/workflows/${wf.id}/schedules`, { spec: { every: '1h' }, paused: true }, lacking.auth);
    expect([s.status, s.body.created_by_agent_id]).toEqual([201, lacking.id]);
    expect((await http('DELETE', `${api.url}/api/schedules/${s.body.id}`, undefined, lacking.auth)).status).toBe(204);

    // The fire Temporal had already started, deciding now (the activity itself, against the real database).
    const { createScheduleActivities } = await import('../../src/activities/schedules');
    const fire = createScheduleActivities({ prisma }).decideFire({
      scheduleId: s.body.id,
      savedWorkflowId: wf.id,
      followLatest: false,
      allowReplan: false,
      overlap: 'allow_all',
      inputs: {},
      nominalTime: new Date(Date.now() - 3600_000).toISOString(),
    });
    await expect(fire).rejects.toMatchObject({ type: 'RunInvalid', nonRetryable: true, message: expect.stringContaining(`schedule ${s.body.id} was deleted`) });
    expect(await prisma.run.count({ where: { scheduleId: s.body.id } })).toBe(0);
  });

  /**
   * Review r6 #2: a plan submitted into another agent's composite records its
   * submitter, but the frozen plan did not: saved, the planted request ran in
   * every run with the workflow's agent's and the runner's reach. The version
   * now keeps who planned each goal, and its runs write it back.
   */
  it('review r6 #2: a saved version keeps who planned its goals: a request planted without shell reaches no internal address in its runs', async () => {
    const goal = await http('POST', `${api.url}/api/goals`, { title: 'Slot to save', plan: { children: [{ key: 'slot', kind: 'composite', title: 'Slot' }] } });
    expect(goal.status).toBe(201);
    const slot = await waitFor(async () => {
      const tree = (await http('GET', `${api.url}/api/goals/${goal.body.id}/tree`)).body;
      return tree.children?.find((c: TJson) => c.key === 'slot' && c.waiting_for === 'plan');
    }, 'the slot to wait for its plan');
    // Planted while the planner may run shell (a literal address passes), then shell is taken from it.
    const planner = await agentWithToken(['shell', 'http', 'manual']);
    const plan = {
      children: [gateLeaf, { key: 'get', kind: 'leaf', title: 'Get', action: { runtime: 'http', url: `http://${target}/` } }],
      edges: [{ from: 'gate', to: 'get', on: { when: 'output.go == "yes"' } }],
    };
    expect((await http('POST', `${api.url}/api/goals/${slot.id}/plan`, plan, planner.auth)).status).toBe(200);
    expect((await http('PATCH', `${api.url}/api/agents/${planner.id}`, { allowed_runtimes: ['http', 'manual'] })).status).toBe(200);
    // In the tree, the request is skipped: the tree is accepted and can be saved.
    const gate = await waitFor(async () => {
      const g = await prisma.goal.findFirst({ where: { parentId: slot.id, key: 'gate' } });
      return g?.waitingFor === 'completion' ? g : undefined;
    }, 'the planted gate to wait');
    expect((await http('POST', `${api.url}/api/goals/${gate.id}/complete`, { outcome: 'succeeded', output: { go: 'no' } })).status).toBe(200);
    expect((await ended(goal.body.id, {})).lifecycle).toBe('done');
    const saved = await http('POST', `${api.url}/api/goals/${goal.body.id}/save-as-workflow`, { name: unique('planted') });
    expect(saved.status).toBe(201);
    expect((await prisma.savedWorkflow.findUniqueOrThrow({ where: { id: saved.body.id } })).planners).toEqual({ 'slot/gate': planner.id, 'slot/get': planner.id });
    // The migration recovers the same map for a version saved before planners were kept (from the tree it was saved from).
    await prisma.savedWorkflow.update({ where: { id: saved.body.id }, data: { planners: {} } });
    const migration = readFileSync(path.join(__dirname, '../../prisma/migrations/20261219000000_workflow_planners/migration.sql'), 'utf8');
    await prisma.$executeRawUnsafe(migration.slice(migration.indexOf('WITH RECURSIVE')));
    expect((await prisma.savedWorkflow.findUniqueOrThrow({ where: { id: saved.body.id } })).planners).toEqual({ 'slot/gate': planner.id, 'slot/get': planner.id });

    // Run by the local user's shell agent: the request still acts for its planner, which may not reach it.
    const before = hits;
    const run = await http('POST', `${api.url}/api/workflows/${saved.body.id}/runs`, { idempotency_key: unique('key') });
    expect(run.status).toBe(201);
    const runGate = await waitFor(async () => {
      const g = await prisma.goal.findFirst({ where: { runId: run.body.run.id, key: 'gate' } });
      return g?.waitingFor === 'completion' ? g : undefined;
    }, "the run's gate to wait");
    expect(runGate.plannedByAgentId).toBe(planner.id);
    expect((await http('POST', `${api.url}/api/goals/${runGate.id}/complete`, { outcome: 'succeeded', output: { go: 'yes' } })).status).toBe(200);
    const get = await waitFor(async () => {
      const g = await prisma.goal.findFirst({ where: { runId: run.body.run.id, key: 'get' } });
      return g && ['done', 'failed'].includes(g.lifecycle) ? g : undefined;
    }, 'the planted request to end in the run');
    expect([get.plannedByAgentId, get.lifecycle]).toEqual([planner.id, 'failed']);
    expect(get.failureReason).toMatch(/internal address; only an agent that may run shell actions may reach internal addresses/);
    expect(hits).toBe(before);
    // The run's other goals record no planner.
    expect((await prisma.goal.findFirstOrThrow({ where: { runId: run.body.run.id, key: 'slot' } })).plannedByAgentId).toBeNull();
  });
  it('review r6 #3: the same backfill asked twice keeps one overlap row; a wider one replaces the rows inside its range', async () => {
    const wf = await saveTree({ children: [gateLeaf] });
    const s = await http('POST', `${api.url}/api/workflows/${wf.id}/schedules`, { spec: { every: '1h' }, paused: true });
    expect(s.status).toBe(201);
    // Ranges between two hourly fires: Temporal takes the backfills, and no run is made.
    const hour = 3600_000;
    const at = (ms: number) => new Date(Math.floor(Date.now() / hour) * hour - 3 * hour + ms).toISOString();
    const backfill = async (start: number, end: number, overlap: string) => {
      const res = await http('POST', `${api.url}/api/schedules/${s.body.id}/backfill`, { start: at(start), end: at(end), overlap });
      expect([res.status, res.body.error]).toEqual([200, undefined]);
    };
    const rows = async () =>
      (await prisma.scheduleBackfill.findMany({ where: { scheduleId: s.body.id }, orderBy: { id: 'asc' } })).map((r) => [r.startAt.toISOString(), r.endAt.toISOString(), r.overlap]);
    await backfill(60_000, 120_000, 'allow_all');
    await backfill(60_000, 120_000, 'allow_all');
    expect(await rows()).toEqual([[at(60_000), at(120_000), 'allow_all']]);
    await backfill(30_000, 150_000, 'skip');
    expect(await rows()).toEqual([[at(30_000), at(150_000), 'skip']]);
    // A narrower one after it leaves it: the wider range still decides the fires outside the narrower one.
    await backfill(70_000, 110_000, 'allow_all');
    expect(await rows()).toEqual([[at(30_000), at(150_000), 'skip'], [at(70_000), at(110_000), 'allow_all']]);
    expect((await http('GET', `${api.url}/api/schedules/${s.body.id}`)).body.runs.total).toBe(0);
    await http('DELETE', `${api.url}/api/schedules/${s.body.id}`);
    expect(await rows()).toEqual([]);
  });
  /**
   * Review r6 #4: saving needed only workflows:write, yet a saved version is
   * what a follow_latest schedule runs next, with its creator's runtimes. An
   * agent without shell could save another agent's accepted shell tree as the
   * next version of a name a shell agent's schedule follows, and have its
   * commands run there. The saver now needs what running the version does.
   */
  it('review r6 #4: an agent without shell may not save a tree as a version a follow_latest schedule would run with shell', async () => {
    const name = unique('followed');
    const v1 = await saveTree({ children: [gateLeaf] }, name);
    const creator = await agentWithToken(['shell', 'http', 'manual']);
    const s = await http('POST', `${api.url}/api/workflows/${v1.id}/schedules`, { spec: { every: '1h' }, paused: true, follow_latest: true }, creator.auth);
    expect(s.status).toBe(201);

    const shellTree = await http('POST', `${api.url}/api/goals`, { title: 'Shell tree', plan: { children: [shellLeaf()] } });
    expect((await ended(shellTree.body.id, {})).lifecycle).toBe('done');
    const shell = await http('POST', `${api.url}/api/goals/${shellTree.body.id}/save-as-workflow`, { name }, lacking.auth);
    expect([shell.status, shell.body.error?.code]).toEqual([400, 'RUNTIME_NOT_ALLOWED']);
    expect(shell.body.error.message).toContain(`agent ${lacking.name} may not save this tree as workflow ${name}: it needs shell commands, which the agent may not run`);
    expect(shell.body.error.details).toMatchObject({ agent: lacking.name, workflow: name, missing_runtimes: ['shell'] });

    // An http tree of the local user's shell agent: its requests would reach internal addresses.
    const httpTree = await http('POST', `${api.url}/api/goals`, {
      title: 'Http tree',
      plan: { children: [gateLeaf, { key: 'get', kind: 'leaf', title: 'Get', action: { runtime: 'http', url: 'http://reprise-test.invalid/' } }], edges: [{ from: 'gate', to: 'get', on: { when: 'false' } }] },
    });
    const gate = await waitFor(async () => {
      const g = await prisma.goal.findFirst({ where: { parentId: httpTree.body.id, key: 'gate' } });
      return g?.waitingFor === 'completion' ? g : undefined;
    }, 'the gate to wait');
    await http('POST', `${api.url}/api/goals/${gate.id}/complete`, { outcome: 'succeeded' });
    expect((await ended(httpTree.body.id, {})).lifecycle).toBe('done');
    const reach = await http('POST', `${api.url}/api/goals/${httpTree.body.id}/save-as-workflow`, { name }, lacking.auth);
    expect([reach.status, reach.body.error?.code]).toEqual([400, 'RUNTIME_NOT_ALLOWED']);
    expect(reach.body.error.message).toContain(`agent ${lacking.name} may not save this tree as workflow ${name}: its http requests run with the reach of agent`);

    expect((await http('GET', `${api.url}/api/workflows?name=${name}`)).body.items.map((w: TJson) => w.version)).toEqual([1]);
    // What it may run, it may save (a manual tree of the shell agent's); an agent with shell may save the rest.
    const manualTree = await http('POST', `${api.url}/api/goals`, { title: 'Manual tree', plan: { children: [gateLeaf] } });
    const manualGate = await waitFor(async () => {
      const g = await prisma.goal.findFirst({ where: { parentId: manualTree.body.id, key: 'gate' } });
      return g?.waitingFor === 'completion' ? g : undefined;
    }, 'the manual gate to wait');
    await http('POST', `${api.url}/api/goals/${manualGate.id}/complete`, { outcome: 'succeeded' });
    expect((await ended(manualTree.body.id, {})).lifecycle).toBe('done');
    const mine = await http('POST', `${api.url}/api/goals/${manualTree.body.id}/save-as-workflow`, { name }, lacking.auth);
    expect([mine.status, mine.body.version]).toEqual([201, 2]);
    const byShellAgent = await http('POST', `${api.url}/api/goals/${shellTree.body.id}/save-as-workflow`, { name });
    expect([byShellAgent.status, byShellAgent.body.version]).toEqual([201, 3]);
    await http('DELETE', `${api.url}/api/schedules/${s.body.id}`);
  });
  it('review r6 #5: a deleted newest version\'s number is not given again, so name@version keeps naming what it named', async () => {
    const name = unique('renumbered');
    const v1 = await saveTree({ children: [gateLeaf] }, name);
    const v2 = await saveTree({ children: [gateLeaf] }, name);
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect((await http('DELETE', `${api.url}/api/workflows/${v2.id}`)).status).toBe(204);
    const v3 = await saveTree({ children: [shellLeaf()] }, name);
    expect([v3.version, v3.required_runtimes]).toEqual([3, ['shell']]);
    expect((await http('GET', `${api.url}/api/workflows?name=${name}`)).body.items.map((w: TJson) => w.version).sort()).toEqual([1, 3]);
  });
});
