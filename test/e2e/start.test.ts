import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { http, testEnv, waitFor } from '../support/env';
import { descendantsOf, npmStart, processesMentioning, processGone, untilUp } from '../support/npmStart';
import { freePort, portIsFree } from '../support/ports';

/**
 * `npm start` as a user runs it: a fresh data directory, no DATABASE_URL or
 * TEMPORAL_ADDRESS (so embedded Postgres and the Temporal dev server), then
 * Ctrl-C to the whole foreground process group, as a terminal sends it.
 */

const root = path.resolve(__dirname, '../..');
jest.setTimeout(180_000);

/** A temp dir the `postgres` user can reach (mkdtemp makes it 0700). */
function reachableTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** A fresh data directory and free ports for one `npm start`, as its environment. */
async function freshStack(prefix: string) {
  const dataDir = reachableTempDir(prefix);
  const ports = { api: await freePort(), pg: await freePort(), temporal: await freePort(), ui: await freePort() };
  const env = {
    REPRISE_DATA_DIR: dataDir,
    WORKSPACES_DIR: mkdtempSync(path.join(tmpdir(), `${prefix}workspaces-`)),
    API_PORT: String(ports.api),
    EMBEDDED_PG_PORT: String(ports.pg),
    TEMPORAL_DEV_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    TEMPORAL_CLI: testEnv.temporalCli,
    LOG_LEVEL: 'warn',
  };
  return { dataDir, ports, env };
}

/** The `reprise` CLI from another directory, with only PATH, HOME and `env`. */
function reprise(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(root, 'bin', 'reprise.cjs'), ...args],
      { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm start', () => {
  it('brings up the stack, runs a goal, stops cleanly on Ctrl-C, and finds its data again', async () => {
    const { dataDir, ports, env } = await freshStack('reprise-e2e-');
    const api = `http://127.0.0.1:${ports.api}`;

    const first = npmStart(env);
    await untilUp(first);
    expect(first.output()).toContain(`http://127.0.0.1:${ports.api}`);
    expect(first.output()).toContain(`http://localhost:${ports.ui}`);
    expect((await http('GET', `${api}/healthz`)).status).toBe(200);
    const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
    expect(ui.status).toBe(200);

    // The quickstart's token: made once, 0600, for this API; nothing is reachable without it.
    const tokenFile = path.join(dataDir, 'local-admin-token.json');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const local = JSON.parse(readFileSync(tokenFile, 'utf8')) as { url: string; token: string };
    expect(local.url).toBe(`http://127.0.0.1:${ports.api}`);
    expect(first.output()).toContain('created a local admin token');
    const auth = { authorization: `Bearer ${local.token}` };
    expect((await http('GET', `${api}/api/goals`, undefined, { authorization: '' })).status).toBe(401);
    // The web UI's sign-in link: the token in the fragment (never sent to a server), and the built page at /.
    expect(first.output()).toContain(`${api}/#token=${local.token}`);
    const page = await fetch(`${api}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');

    const created = await http('POST', `${api}/api/goals`, { title: 'E2E hello', action: { runtime: 'shell', command: 'echo e2e' } }, auth);
    expect(created.status).toBe(201);
    const done = await waitFor(async () => {
      const g = await http('GET', `${api}/api/goals/${created.body.id}`, undefined, auth);
      return g.body.lifecycle === 'done' ? g.body : undefined;
    }, 'the goal to finish');
    expect(done.output.stdout).toBe('e2e\n');

    // The superuser only bootstrapped the cluster: the API and the worker are connected as the app's own role.
    expect(statSync(path.join(dataDir, 'postgres.app.password')).mode & 0o777).toBe(0o600);
    // Closed to everyone but us (and, as root, the embedded Postgres's user, who may only pass through).
    expect(statSync(dataDir).mode & 0o777).toBe(process.getuid?.() === 0 ? 0o710 : 0o700);
    // …and what is inside is ours alone, whoever passes through: Temporal's state and the logs hold every run's titles and inputs.
    const inside = readdirSync(dataDir).filter((f) => f.startsWith('temporal.db')).concat('logs', 'logs/temporal.log', 'logs/postgres.log', 'run', 'run/start.pid', 'run/postgres.port');
    expect(inside.map((f) => [f, statSync(path.join(dataDir, f)).mode & 0o777])).toEqual(inside.map((f) => [f, statSync(path.join(dataDir, f)).isDirectory() ? 0o700 : 0o600]));
    expect(inside.filter((f) => f.startsWith('temporal.db')).length).toBeGreaterThan(0);
    expect((await http('GET', `${api}/api/goals/${created.body.id}`, undefined, auth)).status).toBe(200);
    const superuser = new Client({ connectionString: `postgresql://postgres:${encodeURIComponent(readFileSync(path.join(dataDir, 'postgres.password'), 'utf8').trim())}@127.0.0.1:${ports.pg}/postgres` });
    await superuser.connect();
    try {
      const { rows } = await superuser.query<{ usename: string }>("SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'reprise'");
      expect(rows.map((r) => r.usename)).toEqual(['reprise_app']);
    } finally {
      await superuser.end();
    }

    // The CLI finds the local stack and its token with no setup but the data directory (from another cwd).
    const cli = await reprise(['--json', 'goal', 'show', created.body.id], { REPRISE_DATA_DIR: dataDir });
    expect([cli.code, cli.stderr]).toEqual([0, '']);
    expect(JSON.parse(cli.stdout)).toMatchObject({ id: created.body.id, lifecycle: 'done' });
    // token create goes straight to the database: without EMBEDDED_PG_PORT, on the port this npm start recorded.
    expect(readFileSync(path.join(dataDir, 'run', 'postgres.port'), 'utf8')).toBe(`${ports.pg}\n`);
    const minted = await reprise(['token', 'create', '--user', 'e2e-direct'], { REPRISE_DATA_DIR: dataDir });
    expect([minted.code, minted.stdout, minted.stderr]).toEqual([0, expect.stringMatching(/^rpr_\S+\n$/), expect.stringMatching(/for user e2e-direct \(user_\w+, new\)/)]);

    // Ctrl-C: SIGINT to the whole process group, as a terminal does.
    process.kill(-(first.proc.pid as number), 'SIGINT');
    await first.exited; // npm re-raises SIGINT once its child is done: exit code null is normal
    await waitFor(async () => (first.output().includes('reprise: stopped') ? true : undefined), () => `a clean stop:\n${first.output()}`, 20_000);
    await waitFor(async () => (processesMentioning(dataDir).length === 0 ? true : undefined), `no process left using ${dataDir}`, 20_000);
    for (const [name, port] of Object.entries(ports)) {
      expect([name, await portIsFree(port)]).toEqual([name, true]);
    }
    // Stopped: the record is gone, and token create says where it looked.
    expect(existsSync(path.join(dataDir, 'run', 'postgres.port'))).toBe(false);
    const down = await reprise(['token', 'create', '--user', 'e2e-direct'], { REPRISE_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(ports.pg) });
    expect([down.code, down.stdout, down.stderr]).toEqual([
      1,
      '',
      `reprise: cannot reach Postgres at 127.0.0.1:${ports.pg} (is npm start running? set DATABASE_URL or EMBEDDED_PG_PORT) (DATABASE_UNREACHABLE)\n`,
    ]);

    // A second start finds the same database and Temporal state.
    const second = npmStart(env);
    await untilUp(second);
    expect(second.output()).toContain('database schema is up to date');
    expect(second.output()).not.toContain('created a local admin token');
    expect(JSON.parse(readFileSync(tokenFile, 'utf8')).token).toBe(local.token);
    const again = await http('GET', `${api}/api/goals/${created.body.id}`, undefined, auth);
    expect(again.body).toMatchObject({ lifecycle: 'done', output: { stdout: 'e2e\n' } });
    process.kill(-(second.proc.pid as number), 'SIGINT');
    await second.exited;
    await waitFor(async () => (second.output().includes('reprise: stopped') ? true : undefined), () => `a clean stop:\n${second.output()}`, 20_000);
    await waitFor(async () => (processesMentioning(dataDir).length === 0 ? true : undefined), 'no process left after the second stop', 20_000);
  });

  it('keeps the API up when the worker crashes; a SIGKILLed npm start leaves nothing running, and the next comes up on the same ports', async () => {
    const { dataDir, ports, env } = await freshStack('reprise-e2e-crash-');
    const runDir = path.join(dataDir, 'run');
    const api = `http://127.0.0.1:${ports.api}`;
    const pidOf = (name: string): number => (JSON.parse(readFileSync(path.join(runDir, `${name}.pid`), 'utf8')) as { pid: number }).pid;
    const goalDone = async (title: string) => {
      const auth = { authorization: `Bearer ${(JSON.parse(readFileSync(path.join(dataDir, 'local-admin-token.json'), 'utf8')) as { token: string }).token}` };
      const created = await http('POST', `${api}/api/goals`, { title, action: { runtime: 'shell', command: 'echo ok' } }, auth);
      expect(created.status).toBe(201);
      return waitFor(async () => ((await http('GET', `${api}/api/goals/${created.body.id}`, undefined, auth)).body.lifecycle === 'done' ? true : undefined), `${title} to finish`, 60_000);
    };

    const first = npmStart(env);
    await untilUp(first);
    await goalDone('Before the crash');

    // The worker dies as a sandbox overrun kills it: the API answers throughout, the worker comes back.
    const crashed = pidOf('worker');
    process.kill(crashed, 'SIGKILL');
    for (let i = 0; i < 10; i++) {
      expect((await http('GET', `${api}/healthz`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
    }
    await waitFor(async () => (first.output().includes('the worker was killed by SIGKILL; starting it again in 1s') ? true : undefined), () => `the restart to be logged:\n${first.output()}`, 10_000);
    await waitFor(async () => (existsSync(path.join(runDir, 'worker.pid')) && pidOf('worker') !== crashed ? true : undefined), 'a new worker', 20_000);
    await goalDone('After the crash');

    // npm start itself is SIGKILLed: its whole process group (npm, tsx, start.ts), no handler runs.
    // Temporal is frozen first (SIGSTOP): a child that cannot act on its supervisor's death, which the next start must stop.
    const children = { postgres: pidOf('postgres'), temporal: pidOf('temporal'), worker: pidOf('worker'), api: pidOf('api') };
    const firstTree = descendantsOf(first.proc.pid as number);
    expect(firstTree.map((p) => p.pid)).toEqual(expect.arrayContaining([pidOf('start'), ...Object.values(children)]));
    process.kill(children.temporal, 'SIGSTOP');
    process.kill(-(first.proc.pid as number), 'SIGKILL');
    await first.exited;
    // Everything else stops on its own: the worker and the API when their stdin pipe closes, Postgres (and its backends) on its parent-death signal.
    const onItsOwn = firstTree.filter((p) => p.pid !== children.temporal);
    await waitFor(
      async () => (onItsOwn.every((p) => processGone(p.pid)) ? true : undefined),
      () => `every process of the killed npm start but the frozen Temporal to stop on its own; left: ${onItsOwn.filter((p) => !processGone(p.pid)).map((p) => `${p.pid} ${p.cmd}`).join('; ')}`,
      30_000,
    );
    expect(processGone(children.temporal)).toBe(false);
    // A stale pid file whose pid now belongs to an unrelated process: the next start must leave that process alone.
    const bystander = spawn('sleep', ['600'], { stdio: 'ignore' });
    writeFileSync(path.join(runDir, 'worker.pid'), `${JSON.stringify({ pid: bystander.pid, name: 'worker' })}\n`);

    const second = npmStart(env);
    try {
      await untilUp(second);
      expect(second.output()).toContain(`stopped the temporal (pid ${children.temporal}) an earlier npm start left running`);
      expect(second.output()).not.toContain(`(pid ${bystander.pid})`);
      expect(processGone(bystander.pid as number)).toBe(false);
    } finally {
      bystander.kill('SIGKILL');
    }
    // Up on the same ports, and nothing of the first npm start is left.
    expect(second.output()).toContain(`http://127.0.0.1:${ports.api}`);
    expect(second.output()).toContain(`http://localhost:${ports.ui}`);
    expect(firstTree.filter((p) => !processGone(p.pid))).toEqual([]);
    await goalDone('After a killed start');
    const running = ['postgres', 'temporal', 'worker', 'api'].map(pidOf);
    process.kill(-(second.proc.pid as number), 'SIGINT');
    await second.exited;
    await waitFor(async () => (running.every(processGone) ? true : undefined), 'every child to stop', 30_000);
    for (const [name, port] of Object.entries(ports)) {
      expect([name, await portIsFree(port)]).toEqual([name, true]);
    }
    expect(readdirSync(runDir)).toEqual([]);
  });

  it('stops at start-up naming a bad variable', async () => {
    const run = npmStart({ API_PORT: 'eighty', REPRISE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'reprise-e2e-bad-')) });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/API_PORT: must be a port number \(1-65535\) \(got "eighty"\)/);
  });
});
