import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

/**
 * Runs one shell command for a `shell` leaf: `/bin/sh -c <command>` exactly as
 * the plan wrote it (nothing is ever interpolated into it; inputs arrive only
 * as environment variables), in its own process group so a timeout or a
 * cancellation kills everything it started.
 *
 * A watchdog shares that group and holds a pipe from this process: if the
 * worker dies (SIGKILL, OOM), the pipe ends and the watchdog kills the whole
 * group, so the command never outlives its worker and runs again beside its
 * own retry. The command travels as `$1`, never spliced into the script.
 *
 * The launcher waits for the command (rather than exec'ing it) so that it can
 * write the command's exit status to `exitFile` the moment it ends (a shell
 * builtin, no process started: microseconds). This process opens that file
 * and hands it over as fd 4 (`$2` = 1), so the launcher needs no access to
 * where it lives (a LEAF_USER cannot reach the data directory) and the
 * command never holds it. That file outlives a worker that dies
 * between the command's end and its outcome reaching Postgres: the next
 * attempt reads it instead of running the command again (leaves.ts). The
 * launcher defers SIGTERM until the command ends (a trapped signal waits for
 * the foreground command), so a command's own SIGTERM handling keeps its
 * grace period; and it re-raises the signal that killed the command, so this
 * process still sees "killed by SIGTERM" rather than "exited 143".
 */
/** How long output may keep arriving after the command's own process exited. */
const PIPE_DRAIN_MS = 2000;

// fd 3 carries the pipe: POSIX gives a background job /dev/null as stdin unless it is redirected explicitly.
// fd 4 is the exit file, closed for the watchdog and the command.
const LAUNCHER = [
  'exec 3<&0; (while read -r _; do :; done; kill -9 0) <&3 >/dev/null 2>&1 4>&- &',
  "trap ':' TERM",
  '/bin/sh -c "$1" </dev/null 3<&- 4>&-',
  's=$?',
  'trap - TERM',
  'if [ "$2" = 1 ]; then printf \'%s\\n\' "$s" >&4; fi',
  'if [ "$s" -gt 128 ]; then kill -s "$(kill -l "$s")" $$ 2>/dev/null; fi',
  'exit "$s"',
].join('\n');

export interface TCommandResult {
  exit_code: number | null;
  /** Set when the process ended by a signal (our kill, or its own crash). */
  signal: string | null;
  timed_out: boolean;
  cancelled: boolean;
  stdout: string;
  stderr: string;
  /** True when the stream was longer than the limit: the text is its last bytes. */
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  duration_ms: number;
}

export interface TCommandOptions {
  command: string;
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Aborting kills the process group (used for Temporal cancellation). */
  signal?: AbortSignal;
  /** Called about once a second while the command runs (Temporal heartbeats). */
  onProgress?: (elapsedMs: number) => void;
  /** SIGTERM first; SIGKILL after this many ms if the process is still there. */
  killGraceMs?: number;
  /** Run as this OS user (LEAF_USER; the worker must be root). Node drops the supplementary groups too. */
  user?: { uid: number; gid: number };
  /** Where the launcher writes the command's exit status (`$?`, 128 + n for signal n) when it ends; none when unset. */
  exitFile?: string;
  /** Called just before a command past its timeout is killed. */
  onTimeout?: () => void;
}

/** Text Postgres can store: NUL characters (which commands may print) become U+FFFD. */
export function storable(text: string): string {
  return text.replaceAll('\u0000', '\ufffd');
}

/** Keeps the last `max` bytes of a stream, counting everything seen. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private held = 0;
  total = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    this.chunks.push(chunk);
    this.held += chunk.length;
    while (this.chunks.length > 1 && this.held - (this.chunks[0]?.length ?? 0) >= this.max) {
      this.held -= this.chunks.shift()?.length ?? 0;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return storable(all.subarray(Math.max(0, all.length - this.max)).toString('utf8'));
  }

  get truncated(): boolean {
    return this.total > this.max;
  }
}

/** The exit file, open for the launcher; without one (none asked, or it cannot be created) the command still runs. */
function openExitFile(file: string | undefined): number | undefined {
  if (!file) return undefined;
  try {
    return openSync(file, 'w', 0o600);
  } catch {
    return undefined;
  }
}

export function runShellCommand(options: TCommandOptions): Promise<TCommandResult> {
  const started = Date.now();
  const stdout = new TailBuffer(options.maxOutputBytes);
  const stderr = new TailBuffer(options.maxOutputBytes);
  const graceMs = options.killGraceMs ?? 5000;

  const exitFd = openExitFile(options.exitFile);
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', LAUNCHER, 'reprise-leaf', options.command, exitFd === undefined ? '' : '1'], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
      // stdin is the watchdog's lifeline: it is never written, only closed when we die.
      stdio: ['pipe', 'pipe', 'pipe', 'ignore', exitFd ?? 'ignore'],
    }) as ChildProcessByStdio<Writable, Readable, Readable>;
    // The launcher holds its own copy.
    if (exitFd !== undefined) closeSync(exitFd);
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;

    const killGroup = (): void => {
      if (child.pid === undefined || child.exitCode !== null) return;
      const send = (sig: NodeJS.Signals): void => {
        try {
          process.kill(-(child.pid as number), sig);
        } catch {
          // the group is already gone
        }
      };
      send('SIGTERM');
      killTimer ??= setTimeout(() => send('SIGKILL'), graceMs);
    };

    const timeout = setTimeout(() => {
      timedOut = true;
      options.onTimeout?.();
      killGroup();
    }, options.timeoutMs);
    const progress = setInterval(() => options.onProgress?.(Date.now() - started), 1000);
    const onAbort = (): void => {
      cancelled = true;
      killGroup();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();

    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    // A process that left the group (setsid, a daemon) may hold our pipes open
    // after the command itself ended: give them a moment, then stop reading.
    let drainTimer: NodeJS.Timeout | undefined;
    child.once('exit', () => {
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, PIPE_DRAIN_MS);
    });
    child.once('error', (err) => {
      clearTimeout(timeout);
      clearInterval(progress);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    // 'close' (not 'exit') so both pipes are drained before we read them.
    child.once('close', (code, signal) => {
      clearTimeout(timeout);
      clearInterval(progress);
      if (killTimer) clearTimeout(killTimer);
      if (drainTimer) clearTimeout(drainTimer);
      options.signal?.removeEventListener('abort', onAbort);
      // Anything the command left behind in its group goes with it.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // nothing left
        }
      }
      resolve({
        exit_code: code,
        signal,
        timed_out: timedOut,
        cancelled,
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdout_truncated: stdout.truncated,
        stderr_truncated: stderr.truncated,
        duration_ms: Date.now() - started,
      });
    });
  });
}
