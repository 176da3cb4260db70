import { spawn, type SpawnOptions } from 'node:child_process';
import net from 'node:net';
import { accessSync, closeSync, constants, fchmodSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A child process `npm start` (or the test harness) owns: spawned in its own
 * process group so a terminal Ctrl-C reaches only us and we stop children in
 * order (API, worker, then Temporal, then Postgres), never mid-shutdown.
 * Every live one is killed when this process exits; when it is killed (no
 * exit hook runs) each gets its `parentDeathSignal` from the kernel, where
 * setpriv can ask for one (see withParentDeathSignal).
 */
export interface TManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines it wrote to stdout/stderr, for error messages. */
  outputTail(): string;
  /** Signals the process group and waits for exit, escalating to SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const live = new Set<{ pid: number; exited: boolean }>();

process.once('exit', () => {
  for (const p of live) {
    if (!p.exited) killGroup(p.pid, 'SIGKILL');
  }
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** The last `lines` lines of a text file ('' when there is none). */
function fileTail(file: string, lines = 40): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.split('\n').filter(Boolean).slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** util-linux's setpriv (Linux), which can set the parent-death signal before it execs a command; undefined elsewhere. */
const SETPRIV = (() => {
  if (process.platform !== 'linux') return undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat('/usr/bin', '/bin')) {
    const file = path.join(dir, 'setpriv');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
})();

/**
 * The command line that runs `command` so the kernel sends it `signal` when
 * this process dies, however it dies (prctl PR_SET_PDEATHSIG through
 * `setpriv --pdeathsig`, which then execs the command: same pid, same
 * command line). A SIGKILLed `npm start` runs no exit hook, and its detached
 * Postgres and Temporal would otherwise run on until the next start stops
 * them (stopOrphans). Without setpriv the command runs as is, and that next
 * start is the only net.
 */
export function withParentDeathSignal(command: string, args: string[], signal: NodeJS.Signals | undefined): { command: string; args: string[] } {
  if (!signal || !SETPRIV) return { command, args };
  return { command: SETPRIV, args: ['--pdeathsig', signal.replace(/^SIG/, ''), '--', command, ...args] };
}

/** The command line that runs `run` under `umask` (as is when undefined). */
export function withUmask(run: { command: string; args: string[] }, umask: number | undefined): { command: string; args: string[] } {
  if (umask === undefined) return run;
  return { command: '/bin/sh', args: ['-c', `umask ${umask.toString(8).padStart(3, '0')} && exec "$@"`, 'sh', run.command, ...run.args] };
}

export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  options: Omit<SpawnOptions, 'detached' | 'stdio'> & {
    onLine?: (line: string) => void;
    /**
     * Write its output to this file (appending) instead of a pipe to us: a
     * process that outlives us (we were SIGKILLed) must never die writing to
     * a pipe nobody reads. `outputTail` then reads the file.
     */
    logFile?: string;
    /** Record its pid here while it runs, so a later start can find it if we die (see stopOrphans). */
    pidFile?: string;
    /** The signal it gets should we die without stopping it (SIGKILL): its own quick, clean stop. */
    parentDeathSignal?: NodeJS.Signals;
    /**
     * The umask it runs under (e.g. 0o077: what it creates is its user's
     * only). Node cannot give a child its own umask, so the command is
     * exec'd by `sh -c 'umask …'`: same pid, its own command line.
     */
    umask?: number;
  } = {},
): TManagedProcess {
  const { onLine, logFile, pidFile, parentDeathSignal, umask, ...spawnOptions } = options;
  let logFd: number | undefined;
  if (logFile) {
    // Logs name every run's goals: the caller's only (an existing log from before is closed too).
    mkdirSync(path.dirname(logFile), { recursive: true, mode: 0o700 });
    logFd = openSync(logFile, 'a', 0o600);
    fchmodSync(logFd, 0o600);
  }
  const run = withUmask(withParentDeathSignal(command, args, parentDeathSignal), umask);
  const child = spawn(run.command, run.args, { ...spawnOptions, detached: true, stdio: logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd] });
  if (logFd !== undefined) closeSync(logFd);
  if (child.pid === undefined) {
    throw new Error(`could not start ${name} (${command})`);
  }
  const entry = { pid: child.pid, exited: false };
  live.add(entry);
  if (pidFile) writePidFile(pidFile, child.pid, name);

  const tail: string[] = [];
  let partial = '';
  const onData = (chunk: Buffer): void => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      onLine?.(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      entry.exited = true;
      live.delete(entry);
      if (pidFile) rmSync(pidFile, { force: true });
      resolve({ code, signal });
    };
    child.once('error', () => done(null, null));
    child.once('exit', (code, signal) => done(code, signal));
  });

  return {
    name,
    pid: child.pid,
    exited,
    outputTail: () => (logFile ? fileTail(logFile) : [...tail, partial].filter(Boolean).join('\n')),
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
      if (entry.exited) return;
      killGroup(entry.pid, signal);
      const timer = setTimeout(() => killGroup(entry.pid, 'SIGKILL'), graceMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Polls `check` until it resolves true, the process dies, or the deadline passes. */
export async function waitUntilReady(
  proc: TManagedProcess,
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  let dead = false;
  void proc.exited.then(() => {
    dead = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (dead) {
      throw new Error(`${what} exited during start-up. Its last output:\n${proc.outputTail()}`);
    }
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  await proc.stop('SIGKILL', 1000);
  throw new Error(`${what} did not become ready within ${Math.round(timeoutMs / 1000)}s. Its last output:\n${proc.outputTail()}`);
}

/** `{pid, name}` in a pid file: what a later start checks before it trusts the pid. */
export function writePidFile(file: string, pid: number, name: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify({ pid, name })}\n`, { mode: 0o600 });
}

export function readPidFile(file: string): { pid: number; name: string } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; name?: unknown };
    return typeof parsed.pid === 'number' && typeof parsed.name === 'string' ? { pid: parsed.pid, name: parsed.name } : undefined;
  } catch {
    return undefined;
  }
}

/** The command line of a live, non-zombie process, or undefined. */
export function commandLineOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

function isGone(pid: number): boolean {
  return commandLineOf(pid) === undefined;
}

/**
 * Stops what an earlier run left behind: each pid file in `dir` whose process
 * is still alive and still runs what the file says (`matches` its command
 * line: a pid may have been reused) is stopped, its whole process group,
 * SIGTERM then SIGKILL. Stale files are removed. Returns what was stopped.
 * Most children stop on their own when their npm start dies (the worker's and
 * API's stdin pipe closes; Postgres and Temporal get their parent-death
 * signal, see withParentDeathSignal): this is the net for the rest.
 */
export async function stopOrphans(
  dir: string,
  matches: (name: string, commandLine: string) => boolean,
  graceMs = 15_000,
): Promise<{ name: string; pid: number }[]> {
  const stopped: { name: string; pid: number }[] = [];
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return stopped;
  }
  for (const file of files.filter((f) => f.endsWith('.pid'))) {
    const full = path.join(dir, file);
    const entry = readPidFile(full);
    const cmd = entry ? commandLineOf(entry.pid) : undefined;
    if (entry && cmd !== undefined && matches(entry.name, cmd)) {
      killGroup(entry.pid, 'SIGTERM');
      // A stopped process (SIGSTOP, a debugger let go) acts on nothing until continued: then it takes the SIGTERM.
      killGroup(entry.pid, 'SIGCONT');
      const deadline = Date.now() + graceMs;
      while (!isGone(entry.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (!isGone(entry.pid)) killGroup(entry.pid, 'SIGKILL');
      while (!isGone(entry.pid) && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 100));
      stopped.push(entry);
    }
    rmSync(full, { force: true });
  }
  return stopped;
}

/** True when something already listens on 127.0.0.1:`port`. */
export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
