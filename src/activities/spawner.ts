import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { EventEmitter } from 'node:events';

/**
 * How the worker starts leaf commands: through a small helper process
 * (spawnHelper.ts), one per worker process, started on first use. A fork
 * costs in proportion to the forking process's memory: from the worker (a
 * few hundred MB) starting `true` took 21 ms of CPU here, from the helper 9 ms,
 * and a fan-out of leaves is bound by that CPU. Should the helper be missing
 * or die, commands are spawned by the worker itself, as before; commands the
 * helper had started lose their lifeline and are killed by their watchdogs
 * (shellCommand.ts), and their attempts fail as a lost worker's would.
 * REPRISE_SPAWN_DIRECT=1 makes the worker spawn them itself (`npm run
 * bench:spawn` compares the two).
 */

export interface TSpawnRequest {
  id: number;
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  user?: { uid: number; gid: number };
  /** Opened by whoever spawns, handed to the process as fd 4; the last of `args` then becomes '1' if it could be, '' if not. */
  exitFile?: string;
}

export type TSpawnReply =
  | { op: 'ready' }
  | { op: 'spawned'; id: number; pid: number }
  | { op: 'exited'; id: number }
  | { op: 'out'; id: number; fd: 1 | 2; data: Buffer | Uint8Array }
  | { op: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null }
  | { op: 'error'; id: number; message: string; code?: string };

/** A started command, as shellCommand.ts follows it: its pid (its process group; 'spawn' once known), its output, its end. */
export interface TSpawned extends EventEmitter {
  pid: number | undefined;
  /** True once the command's process has exited (its output may still drain): its group id may be another's by then. */
  exited: boolean;
  on(event: 'spawn', listener: () => void): this;
  on(event: 'stdout' | 'stderr', listener: (chunk: Buffer) => void): this;
  on(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

/** A process that left the group may hold our pipes open after the command ended: read them this long more. */
const PIPE_DRAIN_MS = 2000;
/** How long the helper may take to come up before commands are spawned directly. */
const HELPER_START_MS = 10_000;

let helper: Promise<ChildProcess | undefined> | undefined;
/** The helper process `helper` resolves to, once forked. */
let current: ChildProcess | undefined;
/** Helpers that died before they were ready, in a row: past MAX_FAILED_STARTS the worker spawns commands itself. */
let failedStarts = 0;
const MAX_FAILED_STARTS = 3;
let nextId = 1;
const running = new Map<number, TSpawned & { helper?: ChildProcess }>();

function startHelper(): Promise<ChildProcess | undefined> {
  return new Promise((resolve) => {
    let proc: ChildProcess;
    try {
      // Not the worker's NODE_OPTIONS: a preloaded hook would make it the worker's size again, or kill it.
      const { NODE_OPTIONS: _hooks, ...env } = process.env;
      proc = fork(require.resolve('./spawnHelper.cjs'), [], {
        env,
        execArgv: ['--max-old-space-size=32'],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
    } catch {
      failedStarts++;
      resolve(undefined);
      return;
    }
    current = proc;
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve(undefined);
    }, HELPER_START_MS);
    proc.on('message', (reply: TSpawnReply) => {
      if (reply.op === 'ready') {
        clearTimeout(timer);
        failedStarts = 0;
        ready = true;
        // It never keeps the worker alive: it goes when the worker goes.
        proc.unref();
        proc.channel?.unref();
        resolve(proc);
        return;
      }
      const spawned = running.get(reply.id);
      if (!spawned) return;
      switch (reply.op) {
        case 'spawned':
          spawned.pid = reply.pid;
          spawned.emit('spawn');
          break;
        case 'exited':
          spawned.exited = true;
          break;
        case 'out':
          spawned.emit(reply.fd === 1 ? 'stdout' : 'stderr', Buffer.from(reply.data));
          break;
        case 'exit':
          running.delete(reply.id);
          spawned.exited = true;
          spawned.emit('close', reply.code, reply.signal);
          break;
        case 'error':
          running.delete(reply.id);
          spawned.emit('error', Object.assign(new Error(reply.message), { code: reply.code }));
          break;
      }
    });
    let gone = false;
    let ready = false;
    const lost = (): void => {
      clearTimeout(timer);
      resolve(undefined);
      if (gone) return;
      gone = true;
      if (!ready) failedStarts++;
      // The next command starts a new helper (unless this one was never ready: then a few tries, and no more).
      if (current === proc) {
        helper = undefined;
        current = undefined;
      }
      // Its commands lost their lifeline: their watchdogs kill them. Their attempts end as a lost worker's do.
      for (const [id, spawned] of running) {
        if (spawned.helper !== proc) continue;
        running.delete(id);
        spawned.emit('error', new Error('the process that started the command died'));
      }
    };
    proc.once('exit', lost);
    // Every error is listened to (a failed send emits one each): none may become the worker's uncaught exception.
    proc.on('error', lost);
  });
}

/** Spawns `file args` (detached, in its own process group) with stdin a lifeline pipe and fd 4 the exit file. */
export async function spawnCommand(req: Omit<TSpawnRequest, 'id'>): Promise<TSpawned> {
  if (failedStarts < MAX_FAILED_STARTS) helper ??= startHelper();
  const proc = await helper;
  const spawned = Object.assign(new EventEmitter(), { pid: undefined, exited: false }) as TSpawned;
  if (proc?.connected && process.env.REPRISE_SPAWN_DIRECT !== '1') {
    const id = nextId++;
    running.set(id, Object.assign(spawned, { helper: proc }));
    proc.send({ ...req, id } satisfies TSpawnRequest, (err) => {
      if (!err || !running.delete(id)) return;
      // Not delivered (the helper is going): this command never started.
      spawned.emit('error', new Error(`the command could not be handed to the process that starts it: ${err.message}`));
    });
    return spawned;
  }
  return spawnDirectly(req, spawned);
}

/** The worker spawns it itself (no helper). */
function spawnDirectly(req: Omit<TSpawnRequest, 'id'>, spawned: TSpawned): TSpawned {
  let exitFd: number | undefined;
  try {
    exitFd = req.exitFile ? openSync(req.exitFile, 'w', 0o600) : undefined;
  } catch {
    exitFd = undefined;
  }
  const args = req.exitFile ? [...req.args.slice(0, -1), exitFd === undefined ? '' : '1'] : req.args;
  const child = spawn(req.file, args, {
    cwd: req.cwd,
    env: req.env,
    detached: true,
    ...(req.user ? { uid: req.user.uid, gid: req.user.gid } : {}),
    // stdin is the watchdog's lifeline: it is never written, only closed when we die.
    stdio: ['pipe', 'pipe', 'pipe', 'ignore', exitFd ?? 'ignore'],
  });
  if (exitFd !== undefined) closeSync(exitFd);
  spawned.pid = child.pid;
  child.stdout?.on('data', (c: Buffer) => spawned.emit('stdout', c));
  child.stderr?.on('data', (c: Buffer) => spawned.emit('stderr', c));
  let drainTimer: NodeJS.Timeout | undefined;
  if (child.pid !== undefined) process.nextTick(() => spawned.emit('spawn'));
  child.once('exit', () => {
    spawned.exited = true;
    drainTimer = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, PIPE_DRAIN_MS);
  });
  child.once('error', (err) => spawned.emit('error', err));
  child.once('close', (code, signal) => {
    if (drainTimer) clearTimeout(drainTimer);
    spawned.emit('close', code, signal);
  });
  return spawned;
}

/** The helper's pid, when it is up (tests: to kill it). */
export async function spawnerHelperPid(): Promise<number | undefined> {
  return (await helper)?.pid;
}

/** Waits for the helper to be up (the worker calls it at start, so the first leaf does not wait for it). */
export async function warmSpawner(): Promise<void> {
  if (failedStarts < MAX_FAILED_STARTS) helper ??= startHelper();
  await helper;
}
