import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createScheduleActivities } from '../../src/activities/schedules';
import type { TConfig } from '../../src/config';
import type { PrismaClient } from '../../src/db/client';
import { insertSchedule } from '../../src/db/schedules';
import { deleteOwnedWorkflow } from '../../src/db/workflows';
import { recordHistories } from '../support/histories';
import { http as call, startTestApi, startTestWorker, testConfig, testEnv, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';
import { startTcpProxy } from '../support/tcpProxy';
import { createTokenDirect } from '../../src/services/tokens';

/**
 * Schedules (SPEC §5) on the real Temporal dev server (schedules do not run
 * on the time-skipping test server): fires become runs keyed by (schedule,
 * nominal time), through our API and through the `temporal` CLI alike.
 */

const run = promisify(execFile);
let prisma: PrismaClient;
let config: TConfig;
let worker: Awaited<ReturnType<typeof startTestWorker>>;
let api: Awaited<ReturnType<typeof startTestApi>>;
const taskQueue = uniqueTaskQueue('schedules');
const created: string[] = [];

beforeAll(async () => {
  prisma = testPrisma();
  config = testConfig();
  worker = await startTestWorker(config, prisma, taskQueue);
  api = await startTestApi(prisma, taskQueue);
});

afterAll(async () => {
  for (const id of created) await call('DELETE', `${api.url}/api/schedules/${id}`).catch(() => undefined);
  await api?.close();
  await worker?.stop();
  await prisma?.$disconnect();
});

type TJson = any;
const unique = (name: string) => `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const leaf = (key: string, action: Record<string, unknown>) => ({ key, kind: 'leaf', title: key, action });

async function temporalCli(...args: string[]): Promise<string> {
  const { stdout } = await run(testEnv.temporalCli, [...args, '--address', testEnv.temporalAddress, '--namespace', 'default']);
  return stdout;
}

async function until(path: string, predicate: (b: TJson) => boolean, what: string, timeoutMs = 30_000): Promise<TJson> {
  let last: TJson;
  return waitFor(
    async () => {
      last = (await call('GET', `${api.url}${path}`)).body;
      return predicate(last) ? last : undefined;
    },
    () => `${what}; last: ${JSON.stringify(last).slice(0, 800)}`,
    timeoutMs,
  );
}

/** A workflow saved from an accepted tree of these leaves, with one input `who`. */
async function savedWorkflow(children: unknown[]): Promise<TJson> {
  const goal = await call('POST', `${api.url}/api/goals`, { title: 'Scheduled for {{inputs.who}}', plan: { children } });
  if (children.some((c: TJson) => c.action?.runtime === 'manual')) {
    for (const c of children as TJson[]) {
      if (c.action?.runtime !== 'manual') continue;
      const id = (await call('GET', `${api.url}/api/goals/${goal.body.id}/tree`)).body.children.find((g: TJson) => g.key === c.key).id;
      await until(`/api/goals/${id}`, (g) => g.waiting_for === 'completion', 'the manual leaf waits');
      await call('POST', `${api.url}/api/goals/${id}/complete`, { outcome: 'succeeded' });
    }
  }
  await until(`/api/goals/${goal.body.id}`, (g) => g.lifecycle === 'done', 'the tree is accepted');
  const saved = await call('POST', `${api.url}/api/goals/${goal.body.id}/save-as-workflow`, { name: unique('sched'), inputs: [{ name: 'who', required: true }] });
  expect(saved.status).toBe(201);
  return saved.body;
}

async function schedule(workflowId: string, body: Record<string, unknown>): Promise<TJson> {
  const res = await call('POST', `${api.url}/api/workflows/${workflowId}/schedules`, body);
  expect([res.status, res.body.error]).toEqual([201, undefined]);
  created.push(res.body.id);
  return res.body;
}


/** A fire's decision, retried as Temporal's retry policy would while another fire of its schedule decides (ScheduleBusy). */
function decideFireRetrying() {
  const decide = createScheduleActivities({ prisma }).decideFire;
  return async (input: Parameters<typeof decide>[0]): Promise<Awaited<ReturnType<typeof decide>>> => {
    for (;;) {
      try {
        return await decide(input);
      } catch (err) {
        if ((err as { type?: string }).type !== 'ScheduleBusy') throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
}
describe('schedules', () => {
  it('creates a Temporal Schedule; fires from our API and from the temporal CLI become runs attributed to it', async () => {
    const wf = await savedWorkflow([leaf('hello', { runtime: 'shell', command: 'printf "%s" "$REPRISE_INPUT_who"' })]);
    const s = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'the team' }, note: 'hourly hello' });
    expect(s).toMatchObject({ workflow: { id: wf.id, version: 1 }, overlap: 'skip', paused: false, spent: false, inputs: { who: 'the team' }, spec: { every: '1h' } });
    expect(s.id).toMatch(new RegExp(`^sched-${wf.name}-`));
    expect(s.next_fire_times.length).toBeGreaterThan(0);
    expect(await temporalCli('schedule', 'list')).toContain(s.id);

    await call('POST', `${api.url}/api/schedules/${s.id}/trigger`);
    const first = await until(`/api/schedules/${s.id}`, (b) => b.runs?.items[0]?.status.status === 'done', 'the triggered fire runs to done');
    const r1 = first.runs.items[0];
    expect(r1).toMatchObject({ schedule_id: s.id, title: 'Scheduled for the team', inputs: { who: 'the team' } });
    expect(r1.idempotency_key).toMatch(new RegExp(`^${s.id}@\\d{4}-\\d\\d-\\d\\dT`));

    // Temporal names a fire by its second: two triggers within one second would be one fire.
    await new Promise((r) => setTimeout(r, 1100));
    await temporalCli('schedule', 'trigger', '--schedule-id', s.id);
    const second = await until(`/api/schedules/${s.id}`, (b) => b.runs?.total === 2 && b.runs.items[0].status.status === 'done', 'the CLI fire runs to done');
    expect(second.runs.items[0]).toMatchObject({ schedule_id: s.id, state: 'materialized' });
    expect(second.runs.items[0].id).not.toBe(r1.id);

    // Paused from Temporal's CLI: our API agrees at once, note included.
    await temporalCli('schedule', 'toggle', '--schedule-id', s.id, '--pause', '--reason', 'maintenance window');
    const paused = (await call('GET', `${api.url}/api/schedules/${s.id}`)).body;
    expect([paused.paused, paused.note]).toEqual([true, 'maintenance window']);
    const resumed = (await call('PATCH', `${api.url}/api/schedules/${s.id}`, { paused: false, note: 'back' })).body;
    expect([resumed.paused, resumed.note]).toEqual([false, 'back']);

    await recordHistories(api.temporal, [{ name: 'fireSchedule-fire', workflowId: second.recent_fires[0].temporal_workflow_id }]);
    const listed = (await call('GET', `${api.url}/api/schedules?workflow_id=${wf.id}`)).body;
    expect(listed.items.map((x: TJson) => x.id)).toEqual([s.id]);
    expect((await call('DELETE', `${api.url}/api/schedules/${s.id}`)).status).toBe(204);
    expect((await call('GET', `${api.url}/api/schedules/${s.id}`)).status).toBe(404);

    // Deleted with the temporal CLI: gone from our API too, its runs kept.
    const other = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'x' }, paused: true });
    await temporalCli('schedule', 'delete', '--schedule-id', other.id);
    expect((await call('GET', `${api.url}/api/schedules?workflow_id=${wf.id}`)).body.items).toEqual([]);
    expect((await call('GET', `${api.url}/api/schedules/${other.id}`)).status).toBe(404);
    expect(await prisma.run.count({ where: { scheduleId: s.id } })).toBe(2);
  });

  it('skips a fire while the previous run is still active, recording why; a duplicate fire makes nothing new', async () => {
    const wf = await savedWorkflow([leaf('approve', { runtime: 'manual' })]);
    const s = await schedule(wf.id, { spec: { cron: '0 3 * * *', timezone: 'Europe/Paris' }, inputs: { who: 'ops' }, paused: true });
    await call('POST', `${api.url}/api/schedules/${s.id}/trigger`);
    const blocked = await until(`/api/schedules/${s.id}`, (b) => b.runs?.items[0]?.status.status === 'blocked', 'the first fire blocks on its manual leaf');
    const active = blocked.runs.items[0];
    // Temporal names a fire by its second: two triggers within one second would be one fire.
    await new Promise((r) => setTimeout(r, 1100));
    await call('POST', `${api.url}/api/schedules/${s.id}/trigger`);
    const skipped = await until(`/api/schedules/${s.id}`, (b) => b.runs?.total === 2, 'the second fire is recorded');
    expect(skipped.runs.items[0]).toMatchObject({ state: 'skipped', status: { status: 'skipped', reason: `run ${active.id} is still active (blocked: goal "approve" waiting for someone to complete it)` }, root_goal_id: null });
    expect(await prisma.goal.count({ where: { runId: skipped.runs.items[0].id } })).toBe(0);
    expect(skipped.runs.skipped).toBe(1);

    // The same fire delivered twice (same nominal time): the same decision, nothing new.
    const fire = decideFireRetrying();
    const nominal = new Date(Date.now() - 60_000).toISOString();
    const config = { scheduleId: s.id, savedWorkflowId: wf.id, followLatest: false, allowReplan: false, overlap: 'allow_all' as const, inputs: { who: 'ops' }, nominalTime: nominal };
    const [a, b] = await Promise.all([fire(config), fire(config)]);
    expect(a.kind).toBe('run');
    expect(b).toEqual({ ...a, created: expect.any(Boolean) });
    expect(await prisma.run.count({ where: { scheduleId: s.id } })).toBe(3);
  });

  it('refuses what cannot be scheduled, naming the problem, and creates nothing', async () => {
    const wf = await savedWorkflow([leaf('a', { runtime: 'shell', command: 'true' })]);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ spec: { every: 'often' }, inputs: { who: 'x' } }, /interval/],
      [{ spec: { every: '0s' }, inputs: { who: 'x' } }, /interval/],
      [{ spec: { cron: '0 8 * * *', timezone: 'Mars/Olympus' }, inputs: { who: 'x' } }, /time zone/],
      // Only Temporal reads cron: its refusal is told in our words (its own, with gRPC codes and parser wording, goes to the log).
      [{ spec: { cron: 'every morning' }, inputs: { who: 'x' } }, /^spec\.cron "every morning" is not a cron expression: give five fields \(minute hour day-of-month month day-of-week\), e\.g\. "0 8 \* \* 1-5", or @hourly, @daily, @weekly, @monthly, @yearly$/],
      [{ spec: { cron: '61 * * * *' }, inputs: { who: 'x' } }, /^invalid request body: body\.spec\.cron: has 61 as its minute: the minute is 0-59$/],
      // Temporal would read the sixth field as a year: every 30 minutes, not seconds.
      [{ spec: { cron: '*/30 * * * * *' }, inputs: { who: 'x' } }, /body\.spec\.cron: has 6 fields: a Reprise cron has five \(minute hour day-of-month month day-of-week\).*seconds are not supported/],
      [{ spec: { at: '2020-01-01T00:00:00Z' }, inputs: { who: 'x' } }, /in the past/],
      [{ spec: { every: '1h' }, inputs: {} }, /input "who" is required/],
      [{ spec: { every: '1h' }, inputs: { who: 'x', nope: 'y' } }, /unknown input "nope"/],
      [{ spec: { every: '1h', cron: '* * * * *' }, inputs: { who: 'x' } }, /spec/],
    ];
    for (const [body, message] of cases) {
      const res = await call('POST', `${api.url}/api/workflows/${wf.id}/schedules`, body);
      expect([JSON.stringify(body), res.status, res.body.error?.code]).toEqual([JSON.stringify(body), 400, 'VALIDATION_FAILED', undefined]);
      expect(res.body.error.message).toMatch(message);
    }
    expect(await prisma.schedule.count({ where: { savedWorkflowId: wf.id } })).toBe(0);

    const partial = await call('POST', `${api.url}/api/goals`, { title: 'Partial {{inputs.who}}', plan: { children: [leaf('probe', { runtime: 'shell', command: 'echo {}' }), { key: 'later', kind: 'composite', title: 'Later' }], edges: [{ from: 'probe', to: 'later', on: 'failed' }] } });
    await until(`/api/goals/${partial.body.id}`, (g) => g.lifecycle === 'done', 'the partial tree is accepted');
    const partialWf = (await call('POST', `${api.url}/api/goals/${partial.body.id}/save-as-workflow`, { name: unique('partial'), inputs: [{ name: 'who' }] })).body;
    expect(partialWf.fully_frozen).toBe(false);
    const refused = await call('POST', `${api.url}/api/workflows/${partialWf.id}/schedules`, { spec: { every: '1h' }, inputs: { who: 'x' } });
    expect([refused.status, refused.body.error.message]).toEqual([400, expect.stringMatching(/not fully frozen.*allow_replan/)]);
    const allowed = await schedule(partialWf.id, { spec: { every: '1h' }, inputs: { who: 'x' }, allow_replan: true, paused: true });
    expect(allowed.allow_replan).toBe(true);
  });

  it('refuses inputs that would make a text longer than its field allows, up front; a fire of a newer version they do not fit is skipped, saying why', async () => {
    const wf = await savedWorkflow([leaf('a', { runtime: 'shell', command: 'true' })]);
    // The root title is "Scheduled for {{inputs.who}}": 14 characters and the input, at most 200.
    const tooLong = 'w'.repeat(187);
    const why = 'title: with its inputs substituted it would be 201 characters; this field holds at most 200';
    const refused = await call('POST', `${api.url}/api/workflows/${wf.id}/schedules`, { spec: { every: '1h' }, inputs: { who: tooLong } });
    expect([refused.status, refused.body.error.code, refused.body.error.message, refused.body.error.details]).toEqual([
      400,
      'VALIDATION_FAILED',
      `invalid inputs: ${why}`,
      [{ path: 'title', message: why.replace('title: ', '') }],
    ]);
    expect(await prisma.schedule.count({ where: { savedWorkflowId: wf.id } })).toBe(0);

    const fits = 'w'.repeat(186);
    const s = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: fits }, follow_latest: true, paused: true });
    const patched = await call('PATCH', `${api.url}/api/schedules/${s.id}`, { inputs: { who: tooLong } });
    expect([patched.status, patched.body.error?.message]).toEqual([400, `invalid inputs: ${why}`]);

    // A newer version names the input twice in its title: the schedule's inputs no longer fit, and its fire says so.
    const tree = await call('POST', `${api.url}/api/goals`, { title: 'Twice {{inputs.who}} {{inputs.who}}', plan: { children: [leaf('a', { runtime: 'shell', command: 'true' })] } });
    await until(`/api/goals/${tree.body.id}`, (g) => g.lifecycle === 'done', 'the v2 tree is accepted');
    const v2 = await call('POST', `${api.url}/api/goals/${tree.body.id}/save-as-workflow`, { name: wf.name, inputs: [{ name: 'who', required: true }] });
    expect(v2.body.version).toBe(2);
    await call('POST', `${api.url}/api/schedules/${s.id}/trigger`);
    const skipped = await until(`/api/schedules/${s.id}`, (b) => b.runs?.total === 1, 'the fire is recorded');
    expect(skipped.runs.items[0]).toMatchObject({
      state: 'skipped',
      workflow: { version: 2 },
      status: { status: 'skipped', reason: `the schedule's inputs do not fit workflow ${wf.name} v2: invalid inputs: title: with its inputs substituted it would be 379 characters; this field holds at most 200` },
      root_goal_id: null,
    });
  });

  it('backfills a past range one fire per nominal time; the same range again mints nothing new', async () => {
    const wf = await savedWorkflow([leaf('tick', { runtime: 'shell', command: 'true' })]);
    const s = await schedule(wf.id, { spec: { every: '1m' }, inputs: { who: 'history' }, paused: true });
    const end = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 1000);
    const start = new Date(end.getTime() - 3 * 60_000);
    const first = await call('POST', `${api.url}/api/schedules/${s.id}/backfill`, { start: start.toISOString(), end: end.toISOString() });
    expect(first.status).toBe(200);
    const done = await until(`/api/schedules/${s.id}`, (b) => b.runs?.total === 3 && b.runs.items.every((r: TJson) => r.status.status === 'done'), 'three backfilled runs');
    const keys = done.runs.items.map((r: TJson) => r.idempotency_key).sort();
    expect(keys.map((k: string) => k.slice(-24))).toEqual(keys.map((k: string) => k.slice(-24)).sort());
    for (const k of keys) expect(k).toMatch(/:00\.000Z$/);

    const taken = done.fires_taken;
    await call('POST', `${api.url}/api/schedules/${s.id}/backfill`, { start: start.toISOString(), end: end.toISOString() });
    const again = await until(`/api/schedules/${s.id}`, (b) => b.fires_taken >= taken + 3 && b.running_fires.length === 0, 'the second backfill is taken');
    expect(again.runs.total).toBe(3);
    expect((await call('POST', `${api.url}/api/schedules/${s.id}/backfill`, { start: end.toISOString(), end: start.toISOString() })).status).toBe(400);
  });

  it('follows the newest version when asked; a failed run never blocks the next fire', async () => {
    const wf = await savedWorkflow([leaf('gate', { runtime: 'shell', command: 'test "$REPRISE_INPUT_who" != "nobody"' })]);
    const s = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'nobody' }, follow_latest: true, paused: true });
    await call('POST', `${api.url}/api/schedules/${s.id}/trigger`);
    const failed = await until(`/api/schedules/${s.id}`, (b) => b.runs?.items[0]?.status.status === 'failed', 'the first fire fails');
    expect(failed.runs.items[0].workflow.version).toBe(1);

    // A new version of the same name: the next fire runs it.
    const tree = await call('POST', `${api.url}/api/goals`, { title: 'Scheduled v2 for {{inputs.who}}', plan: { children: [leaf('gate', { runtime: 'shell', command: 'true' })] } });
    await until(`/api/goals/${tree.body.id}`, (g) => g.lifecycle === 'done', 'the v2 tree is accepted');
    const v2 = await call('POST', `${api.url}/api/goals/${tree.body.id}/save-as-workflow`, { name: wf.name, inputs: [{ name: 'who', required: true }] });
    expect(v2.body.version).toBe(2);
    await new Promise((r) => setTimeout(r, 1100));
    await call('POST', `${api.url}/api/schedules/${s.id}/trigger`);
    const next = await until(`/api/schedules/${s.id}`, (b) => b.runs?.total === 2 && b.runs.items[0].status.status === 'done', 'the second fire runs v2');
    expect(next.runs.items[0]).toMatchObject({ workflow: { id: v2.body.id, version: 2 }, title: 'Scheduled v2 for nobody' });
  });

  it('fires a one-shot once, shows it spent, and re-arms it only with a new time', async () => {
    const wf = await savedWorkflow([leaf('once', { runtime: 'shell', command: 'true' })]);
    const at = new Date(Math.ceil((Date.now() + 2500) / 1000) * 1000).toISOString();
    const s = await schedule(wf.id, { spec: { at }, inputs: { who: 'once' } });
    expect([s.spent, s.next_fire_times]).toEqual([false, [at.replace('.000Z', '.000Z')]]);
    const spent = await until(`/api/schedules/${s.id}`, (b) => b.spent && b.runs?.items[0]?.status.status === 'done', 'the one-shot fires and is spent', 20_000);
    expect([spent.runs.total, spent.next_fire_times]).toEqual([1, []]);
    const reenable = await call('PATCH', `${api.url}/api/schedules/${s.id}`, { paused: false });
    expect([reenable.status, reenable.body.error.message]).toEqual([400, expect.stringMatching(/has passed; give it a new time/)]);
    const later = new Date(Math.ceil((Date.now() + 2500) / 1000) * 1000).toISOString();
    const rearmed = await call('PATCH', `${api.url}/api/schedules/${s.id}`, { spec: { at: later } });
    expect([rearmed.status, rearmed.body.spent, rearmed.body.spec]).toEqual([200, false, { at: later }]);
    const twice = await until(
      `/api/schedules/${s.id}`,
      (b) => b.spent && b.runs?.total === 2 && b.runs.items.every((r: TJson) => r.status.status === 'done'),
      'the re-armed one-shot fires again',
      20_000,
    );
    expect(twice.runs.items.map((r: TJson) => r.status.status)).toEqual(['done', 'done']);
  });

  it('keeps a workflow while enabled schedules run it, naming each in one answer; paused ones go with it', async () => {
    const wf = await savedWorkflow([leaf('a', { runtime: 'shell', command: 'true' })]);
    const s = await schedule(wf.id, { spec: { cron: '0 0 1 1 *' }, inputs: { who: 'x' } });
    const other = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'z' } });
    const refused = await call('DELETE', `${api.url}/api/workflows/${wf.id}`);
    expect([refused.status, refused.body.error.code]).toEqual([409, 'CONFLICT']);
    expect(refused.body.error.message).toMatch(new RegExp(`^workflow ${wf.id} is kept\\. Enabled schedules run it: sched-\\S+, sched-\\S+ \\(pause or delete each first\\)\\.$`));
    expect(refused.body.error.message).toContain(s.id);
    expect(refused.body.error.message).toContain(other.id);
    const paused = await call('PATCH', `${api.url}/api/schedules/${s.id}`, { paused: true, note: 'retiring', inputs: { who: 'y' } });
    expect([paused.body.paused, paused.body.note, paused.body.inputs]).toEqual([true, 'retiring', { who: 'y' }]);
    expect((await call('PATCH', `${api.url}/api/schedules/${s.id}`, { inputs: { nope: '1' } })).status).toBe(400);
    const still = await call('DELETE', `${api.url}/api/workflows/${wf.id}`);
    expect([still.status, still.body.error.message.includes(other.id), still.body.error.message.includes(s.id)]).toEqual([409, true, false]);
    expect((await call('PATCH', `${api.url}/api/schedules/${other.id}`, { paused: true })).status).toBe(200);
    expect((await call('DELETE', `${api.url}/api/workflows/${wf.id}`)).status).toBe(204);
    for (const gone of [s, other]) {
      expect((await call('GET', `${api.url}/api/schedules/${gone.id}`)).status).toBe(404);
      await expect(temporalCli('schedule', 'describe', '--schedule-id', gone.id)).rejects.toThrow();
    }
  });

  it('refuses to delete a workflow with runs for its runs, before any schedule (no schedule is worth pausing for it)', async () => {
    const wf = await savedWorkflow([leaf('a', { runtime: 'shell', command: 'true' })]);
    await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'x' } });
    const run = await call('POST', `${api.url}/api/workflows/${wf.id}/runs`, { idempotency_key: unique('kept'), inputs: { who: 'x' } });
    expect(run.status).toBe(201);
    const refused = await call('DELETE', `${api.url}/api/workflows/${wf.id}`);
    expect([refused.status, refused.body.error.message]).toEqual([409, `workflow ${wf.id} has 1 run; a workflow with runs is kept (their goals name it)`]);
    // The delete's own check, under the row's lock, refuses too (a run claimed after the first look).
    const row = await prisma.savedWorkflow.findUniqueOrThrow({ where: { id: wf.id } });
    await expect(deleteOwnedWorkflow(prisma, { ownerUserId: row.ownerUserId, ownerAgentId: row.ownerAgentId }, wf.id)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('has 1 run') });
    expect(await prisma.savedWorkflow.count({ where: { id: wf.id } })).toBe(1);
  });

  it('keeps a workflow when a schedule was made for it after its delete looked at its schedules (the cascade never takes an unchecked one)', async () => {
    const wf = await savedWorkflow([leaf('a', { runtime: 'shell', command: 'true' })]);
    const s = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'x' }, paused: true });
    const row = await prisma.savedWorkflow.findUniqueOrThrow({ where: { id: wf.id } });
    // As if the delete had looked before `s` existed: it saw no schedule.
    await expect(deleteOwnedWorkflow(prisma, { ownerUserId: row.ownerUserId, ownerAgentId: row.ownerAgentId }, wf.id, [])).rejects.toMatchObject({
      code: 'CONFLICT',
      message: `workflow ${wf.id} is kept: schedule ${s.id} was made for it while it was being deleted; try again`,
    });
    expect([await prisma.savedWorkflow.count({ where: { id: wf.id } }), await prisma.schedule.count({ where: { id: s.id } })]).toEqual([1, 1]);
    const made = await prisma.schedule.findUniqueOrThrow({ where: { id: s.id } });
    expect((await call('DELETE', `${api.url}/api/workflows/${wf.id}`)).status).toBe(204);
    // A schedule's row written after its workflow went (its insert waited on the delete's lock) is a 404, not a 500.
    const owner = { ownerUserId: row.ownerUserId, ownerAgentId: row.ownerAgentId };
    await expect(insertSchedule(prisma, { id: `${s.id}-late`, owner, savedWorkflowId: wf.id, followLatest: false, createdByAgentId: made.createdByAgentId as string }, 100)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `workflow ${wf.id} not found`,
    });
  });

  it('resumes a stalled instantiation under its own key instead of starting another tree', async () => {
    const wf = await savedWorkflow([leaf('a', { runtime: 'shell', command: 'true' })]);
    const s = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'stalled' }, paused: true });
    // A fire claimed its run and was lost before starting it (as a crash would leave it).
    const fire = createScheduleActivities({ prisma }).decideFire;
    const nominal = new Date(Date.now() - 120_000).toISOString();
    const lost = await fire({ scheduleId: s.id, savedWorkflowId: wf.id, followLatest: false, allowReplan: false, overlap: 'skip', inputs: { who: 'stalled' }, nominalTime: nominal });
    expect(lost.kind).toBe('run');
    const stalledId = lost.kind === 'run' ? lost.target.id : '';
    expect((await prisma.run.findUniqueOrThrow({ where: { id: stalledId } })).state).toBe('claimed');

    await call('POST', `${api.url}/api/schedules/${s.id}/trigger`);
    const resumed = await until(`/api/runs/${stalledId}`, (r) => r.status.status === 'done', 'the stalled run resumes and completes');
    expect(resumed.idempotency_key).toBe(`${s.id}@${nominal}`);
    const view = await until(`/api/schedules/${s.id}`, (b) => b.runs?.total === 2, 'the resuming fire is recorded');
    expect(view.runs.items[0]).toMatchObject({ state: 'skipped', status: { reason: `run ${stalledId} was still being instantiated; it resumes under its own key` } });
    expect(await prisma.run.count({ where: { scheduleId: s.id, state: { not: 'skipped' } } })).toBe(1);
  });

  it('overlap skip: fires delivered together (a catch-up) decide one at a time, so only one of them makes a tree', async () => {
    const wf = await savedWorkflow([leaf('a', { runtime: 'shell', command: 'true' })]);
    const s = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'burst' }, paused: true });
    const fire = decideFireRetrying();
    const base = Date.now() - 600_000;
    const decisions = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        fire({ scheduleId: s.id, savedWorkflowId: wf.id, followLatest: false, allowReplan: false, overlap: 'skip', inputs: { who: 'burst' }, nominalTime: new Date(base + i * 1000).toISOString() }),
      ),
    );
    // Every fire points at the same one run; the others are recorded as skipped, naming it.
    const targets = new Set(decisions.map((d) => (d.kind === 'run' ? d.target.id : undefined)));
    expect(targets.size).toBe(1);
    expect(decisions.filter((d) => d.kind === 'run' && d.created)).toHaveLength(1);
    expect(await prisma.run.count({ where: { scheduleId: s.id, state: { not: 'skipped' } } })).toBe(1);
    expect(await prisma.run.count({ where: { scheduleId: s.id, state: 'skipped' } })).toBe(5);
  });

  it("offers Temporal's own overlap policies", async () => {
    const wf = await savedWorkflow([leaf('a', { runtime: 'shell', command: 'true' })]);
    for (const [overlap, temporal] of [['buffer_one', 'BUFFER_ONE'], ['cancel_other', 'CANCEL_OTHER'], ['allow_all', 'ALLOW_ALL'], ['skip', 'ALLOW_ALL']] as const) {
      const s = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'x' }, overlap, paused: true });
      expect(s.overlap).toBe(overlap);
      expect((await api.temporal.schedule.getHandle(s.id).describe()).policies.overlap).toBe(temporal);
    }
  });

  it('keeps a catch-up window per schedule in its Temporal Schedule: the default, one given, one changed; out of bounds is a 400 naming the field', async () => {
    const wf = await savedWorkflow([leaf('a', { runtime: 'shell', command: 'true' })]);
    const plain = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'x' }, paused: true });
    expect([plain.catchup_window, plain.missed_catchup_window]).toEqual(['1d', 0]);
    expect((await api.temporal.schedule.getHandle(plain.id).describe()).policies.catchupWindow).toBe(86_400_000);

    const s = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'x' }, paused: true, catchup_window: '6h' });
    expect(s.catchup_window).toBe('6h');
    expect((await api.temporal.schedule.getHandle(s.id).describe()).policies.catchupWindow).toBe(6 * 3_600_000);
    const changed = await call('PATCH', `${api.url}/api/schedules/${s.id}`, { catchup_window: '15m' });
    expect([changed.status, changed.body.catchup_window]).toEqual([200, '15m']);
    // Another change keeps it; so does a read, which comes from Temporal.
    const other = await call('PATCH', `${api.url}/api/schedules/${s.id}`, { note: 'still 15m', overlap: 'buffer_one' });
    expect([other.body.catchup_window, other.body.overlap]).toEqual(['15m', 'buffer_one']);
    expect((await call('GET', `${api.url}/api/schedules/${s.id}`)).body).toMatchObject({ catchup_window: '15m', missed_catchup_window: 0 });

    for (const bad of ['soon', '5s', '30d', 42, '']) {
      const created = await call('POST', `${api.url}/api/workflows/${wf.id}/schedules`, { spec: { every: '1h' }, inputs: { who: 'x' }, catchup_window: bad });
      expect([JSON.stringify(bad), created.status, created.body.error?.code]).toEqual([JSON.stringify(bad), 400, 'VALIDATION_FAILED']);
      expect(created.body.error.details.map((d: TJson) => d.path)).toEqual(['body.catchup_window']);
      const patched = await call('PATCH', `${api.url}/api/schedules/${s.id}`, { catchup_window: bad });
      expect([patched.status, patched.body.error.details.map((d: TJson) => d.path)]).toEqual([400, ['body.catchup_window']]);
    }
    expect((await call('GET', `${api.url}/api/schedules/${s.id}`)).body.catchup_window).toBe('15m');

    // The OpenAPI document says the same (it is generated from the schemas that parse requests).
    const doc = api.openapi() as TJson;
    expect(doc.components.schemas.ScheduleCreate.properties.catchup_window).toMatchObject({ type: 'string', example: '6h' });
    expect(doc.components.schemas.SchedulePatch.properties.catchup_window).toMatchObject({ type: 'string' });
    expect(doc.components.schemas.Schedule.required).toEqual(expect.arrayContaining(['catchup_window', 'missed_catchup_window']));
  });

  it('keeps a schedule Temporal says it does not have (deleted there, or still starting after a restart): a read is a 404 saying so, the row stays, its workflow is kept (409), DELETE forgets it', async () => {
    const wf = await savedWorkflow([leaf('a', { runtime: 'shell', command: 'true' })]);
    const s = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'x' }, paused: true });
    await api.temporal.schedule.getHandle(s.id).delete();
    for (let i = 0; i < 2; i++) {
      const read = await call('GET', `${api.url}/api/schedules/${s.id}`);
      expect([read.status, read.body.error.code]).toEqual([404, 'NOT_FOUND']);
      expect(read.body.error.message).toContain(`not found in Temporal`);
      expect(await prisma.schedule.count({ where: { id: s.id } })).toBe(1);
    }
    const listed = await call('GET', `${api.url}/api/schedules?workflow_id=${wf.id}`);
    expect([listed.body.items, listed.body.not_in_temporal]).toEqual([[], [s.id]]);
    // Whether it is enabled cannot be told: its workflow stays until the schedule is forgotten.
    const kept = await call('DELETE', `${api.url}/api/workflows/${wf.id}`);
    expect([kept.status, kept.body.error.code]).toEqual([409, 'CONFLICT']);
    expect(kept.body.error.message).toBe(
      `workflow ${wf.id} is kept. Temporal says it does not have these schedules of it: ${s.id}. If Temporal has just restarted, try again in a minute; ` +
        `if one was deleted there (\`temporal schedule delete\`), forget it first: \`reprise schedule delete ${s.id}\`, DELETE /api/schedules/${s.id}, or Forget on the Schedules page.`,
    );
    // With an enabled one beside it, one answer names both, each in its own sentence.
    const enabled = await schedule(wf.id, { spec: { every: '1h' }, inputs: { who: 'y' } });
    const both = await call('DELETE', `${api.url}/api/workflows/${wf.id}`);
    expect(both.body.error.message).toMatch(new RegExp(`^workflow ${wf.id} is kept\\. Enabled schedules run it: ${enabled.id} \\(pause or delete each first\\)\\. Temporal says it does not have these schedules of it: ${s.id}\\. `));
    expect((await call('PATCH', `${api.url}/api/schedules/${enabled.id}`, { paused: true })).status).toBe(200);
    expect((await call('DELETE', `${api.url}/api/schedules/${s.id}`)).status).toBe(204);
    expect(await prisma.schedule.count({ where: { id: s.id } })).toBe(0);
    expect((await call('GET', `${api.url}/api/schedules?workflow_id=${wf.id}`)).body.not_in_temporal).toEqual([]);
    expect((await call('DELETE', `${api.url}/api/workflows/${wf.id}`)).status).toBe(204);
  });

  it('a fire delayed by a Postgres outage waits for it, then runs once under its nominal time', async () => {
    // The worker reaches Postgres through a proxy this test takes down; the API and the other tests do not.
    const pg = new URL(testEnv.databaseUrl);
    const proxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
    const viaProxy = new URL(testEnv.databaseUrl);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const outageQueue = uniqueTaskQueue('schedules-pg-outage');
    const outagePrisma = testPrisma(viaProxy.toString());
    const outageWorker = await startTestWorker(config, outagePrisma, outageQueue);
    const outageApi = await startTestApi(prisma, outageQueue);
    try {
      const wf = await savedWorkflow([leaf('a', { runtime: 'shell', command: 'true' })]);
      const res = await call('POST', `${outageApi.url}/api/workflows/${wf.id}/schedules`, { spec: { every: '1h' }, inputs: { who: 'through' }, paused: true });
      expect(res.status).toBe(201);
      const s = res.body;
      created.push(s.id);

      proxy.down();
      const fired = (await call('POST', `${outageApi.url}/api/schedules/${s.id}/trigger`)).body;
      const fireId: string = fired.recent_fires[0]?.temporal_workflow_id ?? (await until(`/api/schedules/${s.id}`, (b) => b.recent_fires.length > 0, 'the fire is taken')).recent_fires[0].temporal_workflow_id;
      // The decision has tried and failed several times (1 s, 2 s, 4 s… apart): the fire is still running, and nothing bounds how long it may wait.
      await waitFor(async () => (proxy.refused() >= 4 ? true : undefined), 'the fire retries its decision while Postgres is down', 60_000);
      const during = await outageApi.temporal.workflow.getHandle(fireId).describe();
      expect(during.status.name).toBe('RUNNING');
      expect(Number(during.raw.executionConfig?.workflowExecutionTimeout?.seconds ?? 0)).toBe(0);
      expect(Number(during.raw.executionConfig?.workflowRunTimeout?.seconds ?? 0)).toBe(0);
      expect(await prisma.run.count({ where: { scheduleId: s.id } })).toBe(0);

      proxy.up();
      const done = await until(`/api/schedules/${s.id}`, (b) => b.runs?.items[0]?.status.status === 'done', 'the fire runs once Postgres is back', 60_000);
      // Temporal names (and the fire keys) a triggered fire by its second.
      const taken = Date.parse(done.recent_fires.find((f: TJson) => f.temporal_workflow_id === fireId).nominal_time);
      const nominal = new Date(Math.floor(taken / 1000) * 1000).toISOString();
      expect(done.runs.items.map((r: TJson) => r.idempotency_key)).toEqual([`${s.id}@${nominal}`]);
      expect(await outageApi.temporal.workflow.getHandle(fireId).result()).toMatchObject({ runId: done.runs.items[0].id, lifecycle: 'done' });
      // With the backoff patch, and decisions that failed while Postgres was down: replayed by replay.test.ts.
      await recordHistories(outageApi.temporal, [{ name: 'fireSchedule-postgres-outage', workflowId: fireId }]);

      // Temporal delivering the same nominal time again: the same run, nothing new.
      const again = await createScheduleActivities({ prisma }).decideFire({ scheduleId: s.id, savedWorkflowId: wf.id, followLatest: false, allowReplan: false, overlap: 'skip', inputs: { who: 'through' }, nominalTime: nominal });
      expect(again).toMatchObject({ kind: 'run', created: false, target: { id: done.runs.items[0].id } });
      expect(await prisma.run.count({ where: { scheduleId: s.id } })).toBe(1);
    } finally {
      proxy.up();
      await outageApi.close();
      await outageWorker.stop();
      await outagePrisma.$disconnect();
      await proxy.close();
    }
  });
});

describe('POST /api/schedules/preview', () => {
  const preview = (body: unknown) => call('POST', `${api.url}/api/schedules/preview`, body);

  it("shows a spec's next fires as Temporal computes them, and keeps nothing", async () => {
    // Weekdays at 08:00 in Paris: each fire a weekday, at 08:00 Paris time (07:00 or 06:00 UTC).
    const cron = await preview({ spec: { cron: '0 8 * * 1-5', timezone: 'Europe/Paris' }, count: 4 });
    expect([cron.status, cron.body.next_fires.length]).toEqual([200, 4]);
    for (const t of cron.body.next_fires as string[]) {
      const paris = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', weekday: 'short', hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(t));
      expect(paris).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 08:00$/);
    }
    expect([...cron.body.next_fires].sort()).toEqual(cron.body.next_fires);
    expect(new Date(cron.body.next_fires[0]).getTime()).toBeGreaterThan(Date.now());
    // An interval is aligned to the epoch, as Temporal aligns it; five fires unless told otherwise.
    const every = await preview({ spec: { every: '1h' } });
    expect(every.body.next_fires).toHaveLength(5);
    for (const t of every.body.next_fires as string[]) expect(new Date(t).getTime() % 3_600_000).toBe(0);
    const at = new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, '.000Z');
    expect((await preview({ spec: { at } })).body).toEqual({ next_fires: [at] });
    // Nothing was kept: no schedule of ours, and no preview left in Temporal.
    expect((await call('GET', `${api.url}/api/schedules`)).body.items.map((s: { id: string }) => s.id)).toEqual(expect.not.arrayContaining([expect.stringMatching(/^preview-/)]));
    const left: string[] = [];
    for await (const s of api.temporal.schedule.list()) if (s.scheduleId.startsWith('preview-')) left.push(s.scheduleId);
    expect(left).toEqual([]);
  });

  it('refuses what a new schedule would refuse, naming the problem (400)', async () => {
    const cases: [unknown, RegExp][] = [
      [{ spec: { cron: 'not a cron' } }, /not a cron expression/],
      [{ spec: { cron: '*/30 * * * * *' } }, /a Reprise cron has five/],
      [{ spec: { every: 'soon' } }, /not an interval/],
      [{ spec: { cron: '0 8 * * *', timezone: 'Mars/Olympus' } }, /not a known time zone/],
      [{ spec: { at: '2020-01-01T00:00:00Z' } }, /in the past/],
      [{ spec: { every: '1h' }, count: 11 }, /count/],
    ];
    for (const [body, message] of cases) {
      const res = await preview(body);
      expect([JSON.stringify(body), res.status, res.body.error?.code, res.body.next_fires]).toEqual([JSON.stringify(body), 400, 'VALIDATION_FAILED', undefined]);
      expect(res.body.error.message).toMatch(message);
    }
    // Faster than SCHEDULE_MIN_INTERVAL: refused for a user's token as on creation (an admin's may).
    const user = { authorization: `Bearer ${(await createTokenDirect(prisma, { user: unique('previewer') }, { name: 'previewer' })).secret}` };
    const fast = await call('POST', `${api.url}/api/schedules/preview`, { spec: { every: '1s' } }, user);
    expect([fast.status, fast.body.error?.message]).toEqual([400, expect.stringMatching(/SCHEDULE_MIN_INTERVAL/)]);
  });
});
