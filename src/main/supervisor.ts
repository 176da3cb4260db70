import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { writePidFile, type TManagedProcess } from '../dev/managedProcess';
import { EXIT_NOT_RETRYABLE } from './bootstrap';

/**
 * `npm start` keeps everything it started running: the worker and the API
 * (Node processes, superviseNodeChild) and embedded Postgres and the Temporal
 * dev server (superviseService). A process that dies is logged with its
 * cause and started again on the same data and port after a backoff (1 s,
 * doubling to 30 s; back to 1 s once it has run a minute). When starting
 * again cannot help (its port is taken by something else, a bad setting,
 * or it failed RESTART.maxFailures times in a row) the supervisor calls
 * `onFatal` and `npm start` stops everything: never half-alive.
 *
 * Each Node child writes straight to our terminal (inherited stdout/stderr:
 * no pipe through us that could break) and holds a pipe from us on its stdin:
 * when we die, even by SIGKILL, the pipe closes and the child stops within
 * its own deadline (stopOnSignal in bootstrap.ts). When we exit any other
 * way, every live child's process group is killed (below).
 */

const root = path.resolve(__dirname, '../..');

export const RESTART = {
  firstBackoffMs: 1000,
  maxBackoffMs: 30_000,
  /** A process that ran this long is healthy again: its next death restarts it quickly. */
  healthyAfterMs: 60_000,
  /** Deaths (or failed starts) in a row, each before it was healthy again, after which we give up. */
  maxFailures: 5,
};

export interface TRestartState {
  backoffMs: number;
  failures: number;
}

export const FRESH_RESTART_STATE: TRestartState = { backoffMs: RESTART.firstBackoffMs, failures: 0 };

/**
 * When to start a process again that died after running `ranMs` (0: it did
 * not start at all), or undefined to give up.
 */
export function planRestart(state: TRestartState, ranMs: number): { delayMs: number; state: TRestartState } | undefined {
  const base = ranMs >= RESTART.healthyAfterMs ? FRESH_RESTART_STATE : state;
  const failures = base.failures + 1;
  if (failures > RESTART.maxFailures) return undefined;
  return { delayMs: base.backoffMs, state: { failures, backoffMs: Math.min(base.backoffMs * 2, RESTART.maxBackoffMs) } };
}

/** "exited with code 1", "was killed by SIGKILL". */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10}s`;

// Process groups of the Node children alive now: killed when we exit, however we exit (but SIGKILL, see above).
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pid of liveGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export interface TSupervised {
  name: string;
  /** The live process's pid, if any. */
  pid(): number | undefined;
  /** Resolves with how it ended if the child exits before `ready` is called (start-up failure). */
  readonly failedToStart: Promise<string>;
  /** Marks start-up done: later exits are crashes to restart. */
  ready(): void;
  /** No more restarts (a shutdown has begun); the live process keeps running until `stop`. */
  hold(): void;
  stop(graceMs?: number): Promise<void>;
}

export interface TSuperviseOptions {
  say: (message: string) => void;
  /** Restarting cannot help: stop everything, naming `reason`. Called at most once. */
  onFatal: (reason: string) => void;
}

export function superviseNodeChild(
  name: string,
  script: string,
  options: TSuperviseOptions & { env: NodeJS.ProcessEnv; pidFile: string; nodeArgs?: readonly string[] },
): TSupervised {
  let child: ChildProcess | undefined;
  let stopping = false;
  let started = false;
  let restart = FRESH_RESTART_STATE;
  let restartTimer: NodeJS.Timeout | undefined;
  let reportFailure: (how: string) => void = () => undefined;
  const failedToStart = new Promise<string>((resolve) => (reportFailure = resolve));

  const launch = (): void => {
    const startedAt = Date.now();
    const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', script], {
      cwd: root,
      env: { ...process.env, ...options.env, REPRISE_EXIT_WITH_PARENT: '1' },
      detached: true,
      stdio: ['pipe', 'inherit', 'inherit'],
    });
    child = proc;
    if (proc.pid !== undefined) {
      liveGroups.add(proc.pid);
      writePidFile(options.pidFile, proc.pid, name);
    }
    // A write to a child that died is not our crash.
    proc.stdin?.on('error', () => undefined);
    proc.once('exit', (code, signal) => {
      if (proc.pid !== undefined) liveGroups.delete(proc.pid);
      rmSync(options.pidFile, { force: true });
      child = undefined;
      if (stopping) return;
      const how = describeExit(code, signal);
      if (!started) {
        reportFailure(`the ${name} ${how} during start-up`);
        return;
      }
      if (code === EXIT_NOT_RETRYABLE) {
        options.onFatal(`the ${name} ${how}: its start failed for a reason a restart cannot fix (its output is above)`);
        return;
      }
      const plan = planRestart(restart, Date.now() - startedAt);
      if (!plan) {
        options.onFatal(`the ${name} ${how}, its ${RESTART.maxFailures + 1}th death in a row within a minute of starting (its output is above)`);
        return;
      }
      restart = plan.state;
      options.say(`the ${name} ${how}; starting it again in ${seconds(plan.delayMs)}`);
      restartTimer = setTimeout(() => {
        launch();
        options.say(`started the ${name} again (pid ${child?.pid})`);
      }, plan.delayMs);
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
    hold: () => {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
    },
    async stop(graceMs = 25_000): Promise<void> {
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

/** One run of a service (Postgres, the Temporal dev server): its process, and how to stop it. */
export interface TServiceRun {
  process: TManagedProcess;
  stop(): Promise<void>;
}

/** A start error that starting again cannot fix (its port is taken, its data is missing). */
function isPermanent(err: unknown): boolean {
  return (err as { permanent?: unknown })?.permanent === true;
}

const indent = (text: string): string =>
  text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');

/**
 * Watches a service `first` is a running instance of, and starts it again
 * with `restart` (same data, same port) when it dies. `stop` stops the live
 * instance, or one being started, and cancels any restart to come.
 */
export function superviseService(
  name: string,
  first: TServiceRun,
  restart: () => Promise<TServiceRun>,
  options: TSuperviseOptions & { logFile?: string; tailLines?: number },
): { hold(): void; stop(): Promise<void> } {
  let current: TServiceRun | undefined;
  let stopping = false;
  let state = FRESH_RESTART_STATE;
  let timer: NodeJS.Timeout | undefined;
  let restarting: Promise<void> | undefined;
  let downSince = 0;

  const giveUp = (reason: string): void => {
    if (!stopping) options.onFatal(reason);
  };

  const scheduleRestart = (ranMs: number, lastFailure: string): void => {
    const plan = planRestart(state, ranMs);
    if (!plan) {
      giveUp(`the ${name} failed ${RESTART.maxFailures + 1} times in a row (last: ${lastFailure})`);
      return;
    }
    state = plan.state;
    options.say(`starting the ${name} again in ${seconds(plan.delayMs)}`);
    timer = setTimeout(() => {
      timer = undefined;
      restarting = attempt().finally(() => (restarting = undefined));
    }, plan.delayMs);
  };

  const attempt = async (): Promise<void> => {
    let run: TServiceRun;
    try {
      run = await restart();
    } catch (err) {
      if (stopping) return;
      const message = err instanceof Error ? err.message : String(err);
      if (isPermanent(err)) {
        giveUp(`the ${name} cannot be started again: ${message}`);
        return;
      }
      options.say(`the ${name} did not start: ${message}`);
      scheduleRestart(0, message);
      return;
    }
    if (stopping) {
      await run.stop();
      return;
    }
    options.say(`the ${name} is running again (pid ${run.process.pid}; it was down ${seconds(Date.now() - downSince)})`);
    watch(run);
  };

  const watch = (run: TServiceRun): void => {
    current = run;
    const startedAt = Date.now();
    void run.process.exited.then(({ code, signal }) => {
      if (stopping || current !== run) return;
      current = undefined;
      downSince = Date.now();
      const how = describeExit(code, signal);
      const tail = run.process.outputTail().split('\n').filter(Boolean).slice(-(options.tailLines ?? 10)).join('\n');
      options.say(`the ${name} (pid ${run.process.pid}) ${how}` + (tail ? `; the end of its log${options.logFile ? ` (${options.logFile})` : ''}:\n${indent(tail)}` : ''));
      scheduleRestart(Date.now() - startedAt, how);
    });
  };
  watch(first);

  const hold = (): void => {
    stopping = true;
    if (timer) clearTimeout(timer);
  };
  return {
    hold,
    async stop(): Promise<void> {
      hold();
      // A start under way finishes (bounded by its own readiness timeout), then stops at once (see attempt).
      await restarting;
      await current?.stop();
    },
  };
}
