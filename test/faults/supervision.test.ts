import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureTemporalCli } from '../../src/dev/temporalCli';
import { http, waitFor } from '../support/env';
import { npmStart, processesMentioning, processGone, untilUp } from '../support/npmStart';
import { freeLowPort, portIsFree } from '../support/ports';

/**
 * `npm start` keeps what it started running, and every stop ends. Real
 * processes, as a user runs them: each of Postgres, Temporal, the worker and
 * the API is SIGKILLed once and must be started again by npm start itself,
 * with /healthz back to 200 and a goal completing afterwards; then npm start
 * is stopped right after Postgres died, and everything must be gone within a
 * bound, with the next start coming up on the same ports.
 */

jest.setTimeout(240_000);

/** How long a stop may take whatever is down (the API's and worker's own deadlines are ~20 s). */
const STOP_BOUND_MS = 45_000;

/** A fresh data directory and free low ports for one `npm start`, and what to read back from it. */
async function freshStack(temporalCli: string) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'reprise-faults-'));
  chmodSync(dataDir, 0o755); // the `postgres` user must reach it when we run as root
  const taken = new Set<number>();
  const ports = { api: await freeLowPort(taken), pg: await freeLowPort(taken), temporal: await freeLowPort(taken), ui: await freeLowPort(taken) };
  const env = {
    REPRISE_DATA_DIR: dataDir,
    API_PORT: String(ports.api),
    EMBEDDED_PG_PORT: String(ports.pg),
    TEMPORAL_DEV_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    TEMPORAL_CLI: temporalCli,
    LOG_LEVEL: 'error',
  };
  const runDir = path.join(dataDir, 'run');
  const pidOf = (name: string): number | undefined => {
    const file = path.join(runDir, `${name}.pid`);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid : undefined;
  };
  return { dataDir, ports, env, api: `http://127.0.0.1:${ports.api}`, pidOf };
}

/** npm start's lines (not the children's JSON logs), for failure messages. */
const ownLines = (output: string): string => output.split('\n').filter((line) => !line.startsWith('{')).join('\n');

describe('npm start supervision', () => {
  let temporalCli: string;
  beforeAll(async () => {
    temporalCli = await ensureTemporalCli();
  });
  /** Every npm start of a test, stopped after it whatever happened: one left running by a failure would keep jest from ever exiting. */
  const started: ReturnType<typeof npmStart>[] = [];
  const start = (env: NodeJS.ProcessEnv): ReturnType<typeof npmStart> => {
    const run = npmStart(env);
    started.push(run);
    return run;
  };
  afterEach(async () => {
    for (const run of started.splice(0)) {
      if (run.hasExited()) continue;
      try {
        process.kill(-(run.proc.pid as number), 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
      await run.exited;
    }
  });

  it('restarts each of Postgres, Temporal, the worker and the API after a SIGKILL, and stops within a bound with Postgres dead', async () => {
    const { dataDir, ports, env, api, pidOf } = await freshStack(temporalCli);
    const healthy = async (): Promise<true | undefined> => ((await http('GET', `${api}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined);

    const first = start(env);
    await untilUp(first);
    const auth = { authorization: `Bearer ${(JSON.parse(readFileSync(path.join(dataDir, 'local-admin-token.json'), 'utf8')) as { token: string }).token}` };
    const goalDone = async (title: string): Promise<void> => {
      const created = await http('POST', `${api}/api/goals`, { title, action: { runtime: 'shell', command: 'echo ok' } }, auth);
      expect(created.status).toBe(201);
      await waitFor(
        async () => ((await http('GET', `${api}/api/goals/${created.body.id}`, undefined, auth)).body.lifecycle === 'done' ? true : undefined),
        () => `${title} to finish:\n${ownLines(first.output())}`,
        90_000,
      );
    };

    // Each killed once; npm start must notice, say so, and start it again on the same data and port.
    const restartMs: Record<string, number> = {};
    const saysRestarted: Record<string, RegExp> = {
      postgres: /the embedded Postgres \(pid \d+\) was killed by SIGKILL; the end of its log[^]*the embedded Postgres is running again/,
      temporal: /the Temporal dev server \(pid \d+\) was killed by SIGKILL; the end of its log[^]*the Temporal dev server is running again/,
      // Adjacent: a line between them would be a child's own text on the shared stderr (a helper's stack, say).
      worker: /the worker was killed by SIGKILL; starting it again in \d+s\nreprise: started the worker again/,
      api: /the api was killed by SIGKILL; starting it again in \d+s\nreprise: started the api again/,
    };
    for (const name of ['postgres', 'temporal', 'worker', 'api']) {
      const victim = pidOf(name) as number;
      const from = first.output().length;
      const killedAt = Date.now();
      process.kill(victim, 'SIGKILL');
      await waitFor(
        async () => (saysRestarted[name]?.test(ownLines(first.output().slice(from))) ? true : undefined),
        () => `npm start to restart the ${name}:\n${ownLines(first.output().slice(from))}`,
        60_000,
      );
      await waitFor(async () => ((pidOf(name) ?? victim) !== victim ? healthy() : undefined), () => `/healthz to be 200 after the ${name} restarted:\n${ownLines(first.output())}`, 60_000);
      restartMs[name] = Date.now() - killedAt;
      expect(first.hasExited()).toBe(false);
    }
    await goalDone('After every restart');

    // Postgres dies, and npm start is stopped at once: the stop must not wait on the database.
    const children = ['start', 'temporal', 'worker', 'api'].map((name) => pidOf(name) as number);
    process.kill(pidOf('postgres') as number, 'SIGKILL');
    const stopAt = Date.now();
    process.kill(-(first.proc.pid as number), 'SIGINT');
    await waitFor(
      async () => (children.every(processGone) && processesMentioning(dataDir).length === 0 ? true : undefined),
      () => `every process to stop:\n${ownLines(first.output())}`,
      STOP_BOUND_MS,
    );
    const stopMs = Date.now() - stopAt;
    await first.exited;
    expect(ownLines(first.output())).toContain('reprise: stopped');
    for (const [name, port] of Object.entries(ports)) {
      expect([name, await portIsFree(port)]).toEqual([name, true]);
    }

    // The next start finds its data and its ports.
    const second = start(env);
    await untilUp(second);
    expect(second.output()).toContain('database schema is up to date');
    await waitFor(healthy, '/healthz to be 200 after the second start', 30_000);
    const running = ['start', 'postgres', 'temporal', 'worker', 'api'].map((name) => pidOf(name) as number);
    process.kill(-(second.proc.pid as number), 'SIGINT');
    await second.exited;
    await waitFor(async () => (running.every(processGone) ? true : undefined), 'every process to stop after the second start', STOP_BOUND_MS);

    // Measured here, reported in the test's output (time from SIGKILL to /healthz 200 with the new process).
    console.log(`supervision: restart ms ${JSON.stringify(restartMs)}; stop with Postgres dead ${stopMs} ms`);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops everything and exits non-zero, naming why, when a server cannot be started again', async () => {
    const { dataDir, ports, env, pidOf } = await freshStack(temporalCli);
    const run = start(env);
    await untilUp(run);
    const children = ['postgres', 'worker', 'api'].map((name) => pidOf(name) as number);

    // Temporal dies and something else takes its port before the restart (1 s later) can.
    const killedAt = Date.now();
    process.kill(pidOf('temporal') as number, 'SIGKILL');
    // It hangs up on whoever calls (the API and worker reconnect to this port), so its close never waits on them.
    const squatter = net.createServer((socket) => socket.destroy());
    await waitFor(
      () => new Promise<true | undefined>((resolve) => {
        squatter.once('error', () => resolve(undefined));
        squatter.listen(ports.temporal, '127.0.0.1', () => resolve(true));
      }),
      'the Temporal port to be free to take',
      5000,
    );
    try {
      expect(await waitFor(async () => (run.hasExited() ? run.exited : undefined), () => `npm start to give up:\n${ownLines(run.output())}`, STOP_BOUND_MS)).toBe(1);
      expect(ownLines(run.output())).toContain(`reprise: giving up: the Temporal dev server cannot be started again: The Temporal dev server cannot use port ${ports.temporal}`);
      const exitMs = Date.now() - killedAt;
      expect(ownLines(run.output())).toContain('reprise: stopped');
      await waitFor(async () => (children.every(processGone) && processesMentioning(dataDir).length === 0 ? true : undefined), 'every process to stop', STOP_BOUND_MS);
      console.log(`supervision: gave up and exited ${exitMs} ms after Temporal died with its port taken:\n${ownLines(run.output()).split('Reprise is up')[1]}`);
      rmSync(dataDir, { recursive: true, force: true });
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
