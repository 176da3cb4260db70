import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runShellCommand, type TCommandOptions } from '../../src/activities/shellCommand';
import { spawnerHelperPid, warmSpawner } from '../../src/activities/spawner';
import { leafTestUser } from '../support/leafUser';

const cwd = mkdtempSync(path.join(tmpdir(), 'reprise-shell-'));
const base: Omit<TCommandOptions, 'command'> = { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd, timeoutMs: 10_000, maxOutputBytes: 1024 };

/** Running, and not a zombie waiting for a (non-reaping) init to collect it. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('runShellCommand', () => {
  it('captures exit code, stdout and stderr', async () => {
    const r = await runShellCommand({ ...base, command: 'echo out; echo err >&2; exit 3' });
    expect(r).toMatchObject({ exit_code: 3, stdout: 'out\n', stderr: 'err\n', timed_out: false, stdout_truncated: false });
  });

  it('passes only the environment it is given', async () => {
    const r = await runShellCommand({ ...base, env: { ...base.env, CITY: 'Zürich' }, command: 'echo "$CITY|${DATABASE_URL:-unset}"' });
    expect(r.stdout).toBe('Zürich|unset\n');
  });

  it('keeps the last bytes of long output and says it was truncated', async () => {
    const r = await runShellCommand({ ...base, command: 'seq 1 100000' });
    expect(r.exit_code).toBe(0);
    expect(r.stdout_truncated).toBe(true);
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(1024);
    expect(r.stdout.endsWith('99999\n100000\n')).toBe(true);
  });

  it('kills the whole process group on timeout', async () => {
    const pidFile = path.join(cwd, 'child.pid');
    const r = await runShellCommand({ ...base, timeoutMs: 500, command: `sleep 30 & echo $! > ${pidFile}; wait` });
    expect(r.timed_out).toBe(true);
    expect(r.exit_code).toBeNull();
    const childPid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(childPid)).toBe(false);
  });

  it('kills the command when aborted (Temporal cancellation)', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const r = await runShellCommand({ ...base, signal: controller.signal, command: 'sleep 30' });
    expect(r.cancelled).toBe(true);
    expect(r.duration_ms).toBeLessThan(10_000);
  });

  it('never starts a command cancelled before it could start', async () => {
    const controller = new AbortController();
    controller.abort();
    const marker = path.join(cwd, 'started-after-cancel');
    // The helper makes the exit file as it starts a command: none means nothing was asked of it.
    const exitFile = path.join(cwd, 'exit-never-started');
    const r = await runShellCommand({ ...base, signal: controller.signal, exitFile, command: `touch ${marker}` });
    expect([r.cancelled, r.exit_code, existsSync(exitFile), existsSync(marker)]).toEqual([true, null, false, false]);
  });

  it('reports progress while the command runs', async () => {
    const ticks: number[] = [];
    await runShellCommand({ ...base, command: 'sleep 2.2', onProgress: (ms) => ticks.push(ms) });
    expect(ticks.length).toBeGreaterThanOrEqual(2);
  });
});

describe('a command whose worker dies', () => {
  it('is killed with its whole process group, not left running', async () => {
    const { spawn } = await import('node:child_process');
    const pidFile = path.join(cwd, 'orphan.pid');
    const script = `
      const { runShellCommand } = require(${JSON.stringify(path.resolve(__dirname, '../../src/activities/shellCommand.ts'))});
      runShellCommand({ command: 'sleep 60 & echo $! > ${pidFile}; wait', env: { PATH: process.env.PATH }, cwd: ${JSON.stringify(cwd)}, timeoutMs: 60000, maxOutputBytes: 1024 });
    `;
    const worker = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    let pid = 0;
    while (!pid && Date.now() < deadline) {
      try {
        pid = Number(readFileSync(pidFile, 'utf8'));
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(true);
    worker.kill('SIGKILL');
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
  });
});

describe('a command that leaves a process holding its output', () => {
  it('still ends at its timeout instead of waiting for that process', async () => {
    const started = Date.now();
    const r = await runShellCommand({ ...base, timeoutMs: 1000, command: 'setsid sh -c "sleep 6; echo late" & echo started; sleep 30' });
    expect(r.timed_out).toBe(true);
    expect(r.stdout).toBe('started\n');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('runs as LEAF_USER when given one: its uid, its group alone, none of the worker\'s files', async () => {
    const user = await leafTestUser();
    if (!user) return;
    const secret = path.join(cwd, 'worker-secret');
    writeFileSync(secret, 'hunter2\n', { mode: 0o600 });
    const r = await runShellCommand({ ...base, user, command: `id -u; id -G; cat ${secret}` });
    expect(r.stdout).toBe(`${user.uid}\n${user.gid}\n`);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(r.exit_code).not.toBe(0);
  });

  it('still kills a LEAF_USER command\'s whole group on timeout', async () => {
    const user = await leafTestUser();
    if (!user) return;
    const r = await runShellCommand({ ...base, user, cwd: '/', timeoutMs: 500, command: 'sleep 30 & echo $!; wait' });
    expect(r.timed_out).toBe(true);
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });
});

describe('the exit file: a command\'s end that outlives its worker', () => {
  it('holds the exit status of a command that ended, and the result still reports how it ended', async () => {
    const exitFile = path.join(cwd, 'exit-3');
    const r = await runShellCommand({ ...base, command: 'echo out; exit 3', exitFile });
    expect(r).toMatchObject({ exit_code: 3, signal: null, stdout: 'out\n' });
    expect(readFileSync(exitFile, 'utf8')).toBe('3\n');
  });

  it('records a death by signal as 128 + n, and the result still says which signal', async () => {
    const exitFile = path.join(cwd, 'exit-kill');
    const r = await runShellCommand({ ...base, command: 'kill -9 $$', exitFile });
    expect(r).toMatchObject({ exit_code: null, signal: 'SIGKILL' });
    expect(readFileSync(exitFile, 'utf8')).toBe('137\n');
  });

  it('keeps exit statuses that are no signal to re-raise as they are, and the launcher\'s own words out of the output', async () => {
    const exitFile = path.join(cwd, 'exit-odd');
    // 147 is 128 + SIGSTOP: re-raised, it would freeze the launcher until the timeout.
    const stop = await runShellCommand({ ...base, timeoutMs: 5000, command: 'exit 147', exitFile });
    expect(stop).toMatchObject({ exit_code: 147, signal: null, timed_out: false, stderr: '' });
    const high = await runShellCommand({ ...base, command: 'exit 255', exitFile });
    expect(high).toMatchObject({ exit_code: 255, signal: null, stderr: '' });
    // Killed at its timeout: the launcher says nothing of it ("Terminated") in the command's stderr.
    const killed = await runShellCommand({ ...base, timeoutMs: 300, command: 'echo before >&2; exec sleep 30', exitFile });
    expect(killed).toMatchObject({ exit_code: null, signal: 'SIGTERM', timed_out: true, stderr: 'before\n' });
  });

  it('calls onCancel before a cancelled command is killed (its recorded end is ours)', async () => {
    const controller = new AbortController();
    const order: string[] = [];
    setTimeout(() => controller.abort(), 200);
    const r = await runShellCommand({ ...base, signal: controller.signal, exitFile: path.join(cwd, 'exit-cancel'), onCancel: () => order.push('cancel'), command: 'sleep 30' });
    expect([r.cancelled, order]).toEqual([true, ['cancel']]);
  });

  it('leaves a command its own SIGTERM handling on timeout, and says it timed out', async () => {
    const exitFile = path.join(cwd, 'exit-term');
    let warned = false;
    const r = await runShellCommand({
      ...base,
      timeoutMs: 500,
      exitFile,
      onTimeout: () => (warned = true),
      command: 'trap "echo cleaned up; exit 0" TERM; sleep 30 & wait',
    });
    expect(warned).toBe(true);
    expect(r).toMatchObject({ timed_out: true, exit_code: 0, stdout: 'cleaned up\n' });
  });

  it('is written when the command ends, before its worker has heard of it, so a worker killed then loses nothing', async () => {
    const { spawn } = await import('node:child_process');
    const exitFile = path.join(cwd, 'exit-busy');
    const busy = path.join(cwd, 'worker-busy');
    // The worker starts the command, then its event loop is busy for 3 s (as a starved worker's is): the command
    // ends in that time, unheard of; the worker is SIGKILLed before it could notice. The exit status survives it.
    const script = `
      const { writeFileSync } = require('node:fs');
      const { runShellCommand } = require(${JSON.stringify(path.resolve(__dirname, '../../src/activities/shellCommand.ts'))});
      runShellCommand({ command: 'exit 4', env: { PATH: process.env.PATH }, cwd: ${JSON.stringify(cwd)}, timeoutMs: 60000, maxOutputBytes: 1024, exitFile: ${JSON.stringify(exitFile)} });
      writeFileSync(${JSON.stringify(busy)}, '1');
      const until = Date.now() + 3000;
      while (Date.now() < until) {}
    `;
    const worker = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    let seen: string | undefined;
    while (seen === undefined && Date.now() < deadline) {
      try {
        readFileSync(busy, 'utf8');
        // The worker creates the file before the command starts: its content is the command's end.
        seen = readFileSync(exitFile, 'utf8') || undefined;
        if (seen === undefined) await new Promise((r) => setTimeout(r, 20));
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    worker.kill('SIGKILL');
    expect(seen).toBe('4\n');
  });
});

describe('the spawner helper (spawner.ts)', () => {
  it('starts commands from a process of its own, which outlives SIGTERM (the worker decides when commands end)', async () => {
    await warmSpawner();
    const helper = (await spawnerHelperPid()) as number;
    expect(helper).not.toBe(process.pid);
    // The command's parent is its launcher, whose parent (field 4 of its /proc stat) is the helper.
    const r = await runShellCommand({ ...base, command: 'cut -d" " -f4 /proc/$PPID/stat' });
    expect(r.stdout.trim()).toBe(String(helper));
    process.kill(helper, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(helper)).toBe(true);
    expect((await runShellCommand({ ...base, command: 'echo still' })).stdout).toBe('still\n');
  });

  it('when the helper dies, its running commands die with it (their watchdogs), the run fails, and the next command gets a new helper', async () => {
    const helper = (await spawnerHelperPid()) as number;
    const pidFile = path.join(cwd, 'helper-orphan.pid');
    const running = runShellCommand({ ...base, command: `sh -c 'echo $$ > ${pidFile}; sleep 30'` });
    const written = (): boolean => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n');
    for (let i = 0; i < 100 && !written(); i++) await new Promise((r) => setTimeout(r, 50));
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(sleeper)).toBe(true);
    process.kill(helper, 'SIGKILL');
    await expect(running).rejects.toThrow('the process that started the command died');
    for (let i = 0; i < 100 && alive(sleeper); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(sleeper)).toBe(false);
    expect((await runShellCommand({ ...base, command: 'echo again' })).stdout).toBe('again\n');
    expect(await spawnerHelperPid()).not.toBe(helper);
  });
});

describe('the spawner helper under a flood of output', () => {
  it('holds a command back while the worker is not reading, rather than buffering its output', async () => {
    await warmSpawner();
    const started = path.join(cwd, 'flood-started');
    const marker = path.join(cwd, 'flood-done');
    // 8 MB of output, then a mark; once it runs, this process (the worker's side) reads nothing for 3 s.
    const running = runShellCommand({ ...base, timeoutMs: 60_000, command: `touch ${started}; sleep 0.5; head -c 8388608 /dev/zero | tr "\\0" x; touch ${marker}` });
    for (let i = 0; i < 200 && !existsSync(started); i++) await new Promise((r) => setTimeout(r, 25));
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      // busy: the IPC channel is not read meanwhile
    }
    // Held back by its pipe: without flow control the helper would have taken all of it into memory by now.
    expect(existsSync(marker)).toBe(false);
    const r = await running;
    expect([r.exit_code, r.stdout_truncated, r.stdout.length, existsSync(marker)]).toEqual([0, true, 1024, true]);
  }, 60_000);
});
