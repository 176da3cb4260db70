import { spawnCommand } from './spawner';

/**
 * Runs one shell command for a `shell` leaf: `/bin/sh -c <command>` exactly as
 * the plan wrote it (nothing is ever interpolated into it; inputs arrive only
 * as environment variables), in its own process group so a timeout or a
 * cancellation kills everything it started.
 *
 * The worker's spawner starts it (spawner.ts: a small helper process, whose
 * forks cost a fraction of the worker's). A watchdog shares the command's
 * group and holds a pipe from the process that spawned it: if the worker
 * dies (SIGKILL, OOM), its helper goes with it, the pipe ends and the watchdog kills the whole
 * group, so the command never outlives its worker and runs again beside its
 * own retry. The command travels as `$1`, never spliced into the script.
 *
 * The launcher waits for the command (rather than exec'ing it) so that it can
 * write the command's exit status to `exitFile` the moment it ends (a shell
 * builtin, no process started: microseconds). The spawning process opens that file
 * and hands it over as fd 4 (`$2` = 1), so the launcher needs no access to
 * where it lives (a LEAF_USER cannot reach the data directory) and the
 * command never holds it. That file outlives a worker that dies
 * between the command's end and its outcome reaching Postgres: the next
 * attempt reads it instead of running the command again (leaves.ts). The
 * launcher defers SIGTERM until the command ends (a trapped signal waits for
 * the foreground command), so a command's own SIGTERM handling keeps its
 * grace period; and it re-raises the signal that killed the command, so the
 * worker still sees "killed by SIGTERM" rather than "exited 143".
 */
// fd 3 carries the pipe: POSIX gives a background job /dev/null as stdin unless it is redirected explicitly.
// fd 4 is the exit file, closed for the watchdog and the command. fd 5 is the command's stderr: the
// launcher's own complaints (a shell reporting a killed child) go to /dev/null, not into the leaf's output.
// A status past 128 is re-raised as its signal, except a stop signal (a command that exits 147 must not
// freeze its launcher) and a number that is no signal.
const LAUNCHER = [
  'exec 3<&0 5>&2 2>/dev/null',
  '(while read -r _; do :; done; kill -9 0) <&3 >/dev/null 4>&- 5>&- &',
  "trap ':' TERM",
  // A subshell that execs the command: dash applies a simple command's redirections in the launcher itself
  // while it waits, so its "Terminated" would land in the command's stderr; here it lands in /dev/null.
  '(exec </dev/null 2>&5 3<&- 4>&- 5>&-; exec /bin/sh -c "$1")',
  's=$?',
  'trap - TERM',
  'if [ "$2" = 1 ]; then printf \'%s\\n\' "$s" >&4; fi',
  'if [ "$s" -gt 128 ]; then case "$(kill -l "$s")" in \'\'|STOP|TSTP|TTIN|TTOU) ;; *) kill -s "$(kill -l "$s")" $$ ;; esac; fi',
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
  /** Called just before a cancelled command is killed (its recorded end is then ours, not its own). */
  onCancel?: () => void;
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

export async function runShellCommand(options: TCommandOptions): Promise<TCommandResult> {
  const started = Date.now();
  const stdout = new TailBuffer(options.maxOutputBytes);
  const stderr = new TailBuffer(options.maxOutputBytes);
  const graceMs = options.killGraceMs ?? 5000;
  // Cancelled before it could start (its activity waited on the file system meanwhile): it never starts.
  if (options.signal?.aborted) {
    return { exit_code: null, signal: null, timed_out: false, cancelled: true, stdout: '', stderr: '', stdout_truncated: false, stderr_truncated: false, duration_ms: 0 };
  }

  // Without an exit file (none asked, or it cannot be created) the command still runs.
  const child = await spawnCommand({
    file: '/bin/sh',
    // The last argument tells the launcher whether it has an exit file (spawner.ts sets it).
    args: ['-c', LAUNCHER, 'reprise-leaf', options.command, ''],
    cwd: options.cwd,
    env: options.env,
    ...(options.user ? { user: options.user } : {}),
    ...(options.exitFile ? { exitFile: options.exitFile } : {}),
  });
  return new Promise((resolve, reject) => {
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let killWanted = false;

    const killGroup = (): void => {
      if (child.exited) return;
      // Asked before the helper said which process it started: sent the moment it does.
      if (child.pid === undefined) {
        killWanted = true;
        return;
      }
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
    child.on('spawn', () => {
      if (killWanted) killGroup();
    });

    const timeout = setTimeout(() => {
      timedOut = true;
      options.onTimeout?.();
      killGroup();
    }, options.timeoutMs);
    const progress = setInterval(() => options.onProgress?.(Date.now() - started), 1000);
    const onAbort = (): void => {
      cancelled = true;
      options.onCancel?.();
      killGroup();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();

    child.on('stdout', (c: Buffer) => stdout.push(c));
    child.on('stderr', (c: Buffer) => stderr.push(c));
    const settle = (): void => {
      clearTimeout(timeout);
      clearInterval(progress);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err: Error) => {
      settle();
      reject(err);
    });
    // Both pipes are drained (or given up on, 2 s after the exit: spawner.ts) before it closes.
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      settle();
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
