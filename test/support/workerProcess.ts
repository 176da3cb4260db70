import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { testEnv } from './env';

const root = path.resolve(__dirname, '../..');

export interface TWorkerProcess {
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * A real `src/main/worker.ts` process (as `npm run worker` runs it) against
 * the test services: one process (tsx as a loader, not its CLI, which runs
 * the script in a child), so a signal hits the worker itself.
 */
export function startWorkerProcess(env: NodeJS.ProcessEnv): TWorkerProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main/worker.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: testEnv.databaseUrl, TEMPORAL_ADDRESS: testEnv.temporalAddress, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGINT');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The worker's workflow task latency histogram (ms), summed over workflow types, from its Prometheus endpoint. */
export async function workflowTaskLatency(metricsUrl: string): Promise<{ count: number; overOneSecond: number; buckets: Record<string, number> }> {
  const text = await (await fetch(metricsUrl)).text();
  const buckets: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^temporal_workflow_task_execution_latency_bucket\{.*le="([^"]+)"\} (\d+)/.exec(line);
    if (m) buckets[m[1] as string] = (buckets[m[1] as string] ?? 0) + Number(m[2]);
  }
  const count = buckets['+Inf'] ?? 0;
  return { count, overOneSecond: count - (buckets['1000'] ?? 0), buckets };
}
