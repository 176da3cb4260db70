import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PrismaClient } from '../../src/db/client';
import { startTemporalDevServer, type TDevServer } from '../../src/dev/temporalDevServer';
import { http as call, startTestApi, startTestWorker, testConfig, testEnv, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';

/**
 * Schedules across an outage of Temporal (issue 16): this file's own dev
 * server, on a SQLite file, is stopped and started again. A fire whose
 * nominal time fell inside the outage runs once Temporal is back if it is
 * within the schedule's catch-up window, keyed by that nominal time; an
 * older one is missed and counted (`missed_catchup_window`). The outage is a
 * real wait (Temporal's scheduler must find its timers overdue), ~25 s.
 */

jest.setTimeout(240_000);

const OUTAGE_MS = 25_000;
const EVERY_MS = 5_000;
/** Temporal's smallest catch-up window. */
const SHORT_WINDOW_MS = 10_000;

let dir: string;
let server: TDevServer;
let prisma: PrismaClient;
let worker: Awaited<ReturnType<typeof startTestWorker>> | undefined;
let api: Awaited<ReturnType<typeof startTestApi>> | undefined;

type TJson = any;

/** A free port below Linux's ephemeral range: a client reconnecting to the stopped server cannot be handed it as its own source port. */
async function freeLowPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

const devServer = (port: number) =>
  startTemporalDevServer({ cliPath: testEnv.temporalCli, port, namespace: 'default', dbFile: path.join(dir, 'temporal.db'), synchronous: 'NORMAL' });

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'reprise-schedule-outage-'));
  server = await devServer(await freeLowPort());
  prisma = testPrisma();
  const taskQueue = uniqueTaskQueue('schedule-outage');
  worker = await startTestWorker(testConfig({ TEMPORAL_ADDRESS: server.address }), prisma, taskQueue);
  api = await startTestApi(prisma, taskQueue, { temporalAddress: server.address });
});

afterAll(async () => {
  await api?.close();
  await worker?.stop();
  await server?.stop();
  await prisma?.$disconnect();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until(url: string, predicate: (b: TJson) => boolean, what: string, timeoutMs = 60_000): Promise<TJson> {
  let last: TJson;
  return waitFor(
    async () => {
      last = (await call('GET', url)).body;
      return predicate(last) ? last : undefined;
    },
    () => `${what}; last: ${JSON.stringify(last).slice(0, 800)}`,
    timeoutMs,
  );
}

const nominalOf = (run: TJson): number => Date.parse(run.idempotency_key.slice(run.idempotency_key.indexOf('@') + 1));

it('runs the fires an outage of Temporal delayed, within the catch-up window, once each; older ones are missed and counted', async () => {
  const base = api!.url;
  const goal = await call('POST', `${base}/api/goals`, { title: 'Outage {{inputs.who}}', plan: { children: [{ key: 'a', kind: 'leaf', title: 'a', action: { runtime: 'shell', command: 'true' } }] } });
  await until(`${base}/api/goals/${goal.body.id}`, (g) => g.lifecycle === 'done', 'the tree is accepted');
  const wf = (await call('POST', `${base}/api/goals/${goal.body.id}/save-as-workflow`, { name: `outage-${Date.now().toString(36)}`, inputs: [{ name: 'who' }] })).body;

  // allow_all: every fire makes its own run, so each nominal time shows as one.
  const wide = (await call('POST', `${base}/api/workflows/${wf.id}/schedules`, { spec: { every: '5s' }, inputs: { who: 'wide' }, overlap: 'allow_all' })).body;
  const narrow = (await call('POST', `${base}/api/workflows/${wf.id}/schedules`, { spec: { every: '5s' }, inputs: { who: 'narrow' }, overlap: 'allow_all', catchup_window: '10s' })).body;
  expect([wide.catchup_window, narrow.catchup_window]).toEqual(['1d', '10s']);
  for (const s of [wide, narrow]) await until(`${base}/api/schedules/${s.id}`, (b) => b.runs?.items.some((r: TJson) => r.status.status === 'done'), 'a first fire runs');

  const downAt = Date.now();
  const port = Number(server.address.split(':').pop());
  await server.stop();
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  server = await devServer(port);
  const upAt = Date.now();

  // Every nominal time inside the outage: a multiple of 5 s (Temporal aligns intervals to the epoch).
  const inside: number[] = [];
  for (let t = Math.ceil((downAt + 1000) / EVERY_MS) * EVERY_MS; t < upAt; t += EVERY_MS) inside.push(t);
  const missable = inside.filter((t) => t < upAt - SHORT_WINDOW_MS);
  expect(missable.length).toBeGreaterThan(0);

  const caughtUp = await until(
    `${base}/api/schedules/${wide.id}`,
    (b) => inside.every((t) => b.runs?.items.some((r: TJson) => nominalOf(r) === t && r.status.status === 'done')),
    'every fire of the outage runs once Temporal is back (wide window)',
  );
  const keys = caughtUp.runs.items.map((r: TJson) => r.idempotency_key);
  expect(new Set(keys).size).toBe(keys.length);
  // Each nominal time once, and the page is every run so far (the schedule goes on firing every 5 s, so a
  // count read after this answer may already hold the next fire).
  expect(caughtUp.runs.total).toBe(keys.length);
  expect(await prisma.run.count({ where: { scheduleId: wide.id, idempotencyKey: { in: keys } } })).toBe(keys.length);
  expect(caughtUp.missed_catchup_window).toBe(0);

  const narrowed = await until(`${base}/api/schedules/${narrow.id}`, (b) => b.missed_catchup_window >= missable.length, 'the fires older than the narrow window are counted as missed');
  const ran = (await prisma.run.findMany({ where: { scheduleId: narrow.id } })).map((r) => Date.parse(r.idempotencyKey.slice(r.idempotencyKey.indexOf('@') + 1)));
  expect(ran.filter((t) => missable.includes(t))).toEqual([]);
  expect(narrowed.catchup_window).toBe('10s');

  for (const s of [wide, narrow]) expect((await call('DELETE', `${base}/api/schedules/${s.id}`)).status).toBe(204);
});
