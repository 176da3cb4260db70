import { spawn, type SpawnOptions } from 'node:child_process';

/**
 * A child process `npm start` (or the test harness) owns: spawned in its own
 * process group so a terminal Ctrl-C reaches only us and we stop children in
 * order (API, worker, then Temporal, then Postgres), never mid-shutdown.
 * Every live one is killed when this process exits, whatever the path.
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

export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  options: Omit<SpawnOptions, 'detached' | 'stdio'> & { onLine?: (line: string) => void } = {},
): TManagedProcess {
  const { onLine, ...spawnOptions } = options;
  const child = spawn(command, args, { ...spawnOptions, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) {
    throw new Error(`could not start ${name} (${command})`);
  }
  const entry = { pid: child.pid, exited: false };
  live.add(entry);

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
    child.once('error', () => {
      entry.exited = true;
      live.delete(entry);
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      entry.exited = true;
      live.delete(entry);
      resolve({ code, signal });
    });
  });

  return {
    name,
    pid: child.pid,
    exited,
    outputTail: () => [...tail, partial].filter(Boolean).join('\n'),
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
