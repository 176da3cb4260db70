import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './env';

/**
 * `npm start` as a user runs it, for the tests that drive it whole
 * (test/e2e/start.test.ts, test/faults/supervision.test.ts): its own process
 * group (so a test can signal it as a terminal does), its output collected,
 * and what /proc says about the processes it leaves.
 */

const root = path.resolve(__dirname, '../..');

export interface TStarted {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  hasExited: () => boolean;
}

/** `npm start` with `env`, never the test's own DATABASE_URL or TEMPORAL_ADDRESS (so embedded Postgres and the dev server). */
export function npmStart(env: NodeJS.ProcessEnv): TStarted {
  const clean = { ...process.env };
  delete clean.DATABASE_URL;
  delete clean.TEMPORAL_ADDRESS;
  const proc = spawn('npm', ['start'], { cwd: root, env: { ...clean, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  return { proc, output: () => out, exited, hasExited: () => done };
}

/** Waits for the start-up banner; fails at once, with the output, if start-up dies. */
export async function untilUp(run: TStarted, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    async () => {
      if (run.hasExited()) throw new Error(`npm start exited during start-up:\n${run.output()}`);
      return run.output().includes('Reprise is up') ? true : undefined;
    },
    () => `npm start to come up:\n${run.output()}`,
    timeoutMs,
  );
}

/** One live process's state letter from /proc/<pid>/stat (R, S, T, Z…), or undefined when it is gone. */
function stateOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** True when the process is gone (or a zombie). */
export function processGone(pid: number): boolean {
  const state = stateOf(pid);
  return state === undefined || state === 'Z';
}

function livePids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => !processGone(pid));
}

/** Pids of live processes whose command line mentions `needle` (zombies excluded). */
export function processesMentioning(needle: string): number[] {
  return livePids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(needle);
    } catch {
      return false; // exited while we looked
    }
  });
}

function parentOf(pid: number): number | undefined {
  try {
    const ppid = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return ppid === undefined ? undefined : Number(ppid);
  } catch {
    return undefined;
  }
}

/**
 * Every live process below `pid` (children, theirs, and so on), with its
 * command line: what a run of `npm start` is made of at this moment. Detached
 * children are still descendants until their parent dies.
 */
export function descendantsOf(pid: number): { pid: number; cmd: string }[] {
  const children = new Map<number, number[]>();
  for (const p of livePids()) {
    const parent = parentOf(p);
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), p]);
  }
  const found: { pid: number; cmd: string }[] = [];
  const walk = (at: number): void => {
    for (const child of children.get(at) ?? []) {
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${child}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      } catch {
        // exited while we looked
      }
      found.push({ pid: child, cmd });
      walk(child);
    }
  };
  walk(pid);
  return found;
}
