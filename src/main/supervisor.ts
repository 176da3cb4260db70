import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { writePidFile } from '../dev/managedProcess';

/**
 * `npm start` runs the worker and the API as their own Node processes and
 * keeps them running: a crash of one (a worker's sandbox overrun can take
 * its whole process down) never takes the other with it. A child that exits
 * on its own is started again after a backoff (1 s, doubling to 30 s; back
 * to 1 s once it has run a minute), and the log says so.
 *
 * Each child writes straight to our terminal (inherited stdout/stderr: no
 * pipe through us that could break) and holds a pipe from us on its stdin:
 * when we die, even by SIGKILL, the pipe closes and the child shuts down
 * (REPRISE_EXIT_WITH_PARENT, see bootstrap.ts).
 */

const root = path.resolve(__dirname, '../..');
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** A child that ran this long is healthy again: its next crash restarts it quickly. */
const HEALTHY_AFTER_MS = 60_000;

export interface TSupervised {
  name: string;
  /** The live process's pid, if any. */
  pid(): number | undefined;
  /** Resolves with how it ended if the child exits before `ready` is called (start-up failure). */
  readonly failedToStart: Promise<string>;
  /** Marks start-up done: later exits are crashes to restart. */
  ready(): void;
  stop(graceMs?: number): Promise<void>;
}

export function superviseNodeChild(
  name: string,
  script: string,
  options: { env: NodeJS.ProcessEnv; pidFile: string; say: (message: string) => void },
): TSupervised {
  let child: ChildProcess | undefined;
  let stopping = false;
  let started = false;
  let backoff = FIRST_BACKOFF_MS;
  let restartTimer: NodeJS.Timeout | undefined;
  let reportFailure: (how: string) => void = () => undefined;
  const failedToStart = new Promise<string>((resolve) => (reportFailure = resolve));

  const launch = (): void => {
    const startedAt = Date.now();
    const proc = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: root,
      env: { ...process.env, ...options.env, REPRISE_EXIT_WITH_PARENT: '1' },
      detached: true,
      stdio: ['pipe', 'inherit', 'inherit'],
    });
    child = proc;
    if (proc.pid !== undefined) writePidFile(options.pidFile, proc.pid, name);
    // A write to a child that died is not our crash.
    proc.stdin?.on('error', () => undefined);
    proc.once('exit', (code, signal) => {
      rmSync(options.pidFile, { force: true });
      child = undefined;
      if (stopping) return;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      if (!started) {
        reportFailure(`the ${name} ${how} during start-up`);
        return;
      }
      if (Date.now() - startedAt >= HEALTHY_AFTER_MS) backoff = FIRST_BACKOFF_MS;
      options.say(`the ${name} ${how}; starting it again in ${Math.round(backoff / 1000)}s`);
      restartTimer = setTimeout(launch, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    });
  };
  launch();

  return {
    name,
    pid: () => child?.pid,
    failedToStart,
    ready: () => {
      started = true;
    },
    async stop(graceMs = 30_000): Promise<void> {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      const signalGroup = (signal: NodeJS.Signals): void => {
        try {
          process.kill(-(proc.pid as number), signal);
        } catch {
          // already gone
        }
      };
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
