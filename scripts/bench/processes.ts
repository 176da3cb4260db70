// The processes `npm run bench` measures, started as `npm start` starts them
// (supervisor.ts): `node --import tsx <script>`, no tsx CLI process between,
// so the pid is the program's own and a signal reaches it.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';

const root = path.resolve(__dirname, '../..');
const START_DEADLINE_MS = 120_000;
const STOP_GRACE_MS = 30_000;
/** Output kept per process, shown when it dies or fails to start. */
const OUTPUT_TAIL_CHARS = 8000;

export interface TBenchProcess {
  name: string;
  pid: number;
  /** The tail of its stdout and stderr. */
  output(): string;
  /** Rejects as soon as the process exits, for racing against a wait. */
  died: Promise<never>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function startNodeProcess(name: string, script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): TBenchProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer): void => {
    out = (out + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const died = exit.then(() => {
    exited = true;
    throw new Error(`the ${name} process exited (code ${child.exitCode}, signal ${child.signalCode}); its output:\n${out}`);
  });
  // Raced by whoever waits on it; unobserved it must not crash the bench on a deliberate stop.
  died.catch(() => undefined);
  return {
    name,
    pid: child.pid as number,
    output: () => out,
    died,
    async stop() {
      if (exited || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exit;
      clearTimeout(timer);
    },
  };
}

async function untilReady(proc: TBenchProcess, what: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  const poll = (async () => {
    while (!(await ready().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`the ${proc.name} process did not ${what} within ${START_DEADLINE_MS / 1000} s; its output:\n${proc.output()}`);
      await sleep(200);
    }
  })();
  await Promise.race([poll, proc.died]);
}

/** Ready: its workflow and activity pollers are on the task queue. */
export async function waitForWorker(proc: TBenchProcess, temporal: Client, taskQueue: string): Promise<void> {
  const polling = async (taskQueueType: proto.api.enums.v1.TaskQueueType): Promise<boolean> => {
    const res = await temporal.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType });
    return (res.pollers ?? []).length > 0;
  };
  const { TaskQueueType } = proto.api.enums.v1;
  await untilReady(proc, `poll ${taskQueue}`, async () => (await polling(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)) && polling(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY));
}

/** Ready: `url` answers 200. */
export async function waitForHttp(proc: TBenchProcess, url: string, method: 'GET' | 'POST' = 'GET'): Promise<void> {
  await untilReady(proc, `answer ${method} ${url}`, async () => (await fetch(url, { method })).status === 200);
}
