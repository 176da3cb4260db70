import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_DATABASE_QUERY_TIMEOUT_S } from '../../../src/config';
import { createPrisma, type PrismaClient } from '../../../src/db/client';
import { migrate } from '../../../src/db/migrate';
import { startEmbeddedPostgres, type TEmbeddedPostgres } from '../../../src/dev/embeddedPostgres';
import { ensureTemporalCli } from '../../../src/dev/temporalCli';
import { startTemporalDevServer, type TDevServer } from '../../../src/dev/temporalDevServer';
import { ZPlan, type TPlan } from '../../../src/domain/plans';
import { createTokenDirect } from '../../../src/services/tokens';
import { ensureSearchAttributes } from '../../../src/temporal/namespace';
import { waitFor } from '../../support/env';
import { freeLowPort } from '../../support/ports';
import { saveFrozenWorkflow } from '../../support/frozenWorkflows';

/**
 * A whole Reprise on this machine for the fault suite, every part a real
 * process the test can SIGKILL and start again: its own embedded Postgres,
 * its own Temporal dev server on a SQLite file (so a restart on the same file
 * and port finds every workflow), N worker processes and M API processes
 * (`src/main/worker.ts`, `src/main/api.ts`, as `npm start` runs them), all
 * against that one Postgres and that one Temporal. Each API has a slot: its
 * own port, kept across a restart (slot 0 is `apiUrl`, the one most
 * scenarios use).
 *
 * Leaves mark their work in files (see `markerPlan`): a line per completed
 * command, in a file named by the goal id, so a leaf that ran twice shows.
 */

const root = path.resolve(__dirname, '../../..');

export interface TNodeProcess {
  name: string;
  proc: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<void>;
  hasExited(): boolean;
}

function spawnNode(name: string, script: string, env: NodeJS.ProcessEnv): TNodeProcess {
  const inherited = { ...process.env };
  for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'API_PORT', 'REPRISE_DATA_DIR', 'TEMPORAL_TASK_QUEUE']) delete inherited[key];
  // One process (tsx as a loader, not its CLI, which runs the script in a child), so SIGKILL hits the server itself.
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (c: Buffer): void => {
    out += c.toString();
    // Only the recent past matters for failure messages; a long run must not grow without bound.
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let done = false;
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      done = true;
      resolve();
    }),
  );
  return { name, proc, pid: proc.pid as number, output: () => out, exited, hasExited: () => done };
}

export interface TClusterOptions {
  workers?: number;
  /** API processes, each on its own port (slot 0: `apiUrl`). */
  apis?: number;
  /** The worker's Prometheus endpoint (host:port), optional. */
  workerMetricsAddress?: string;
  log?: (message: string) => void;
}

export type TCluster = Awaited<ReturnType<typeof startCluster>>;

export async function startCluster(options: TClusterOptions = {}) {
  const log = options.log ?? (() => undefined);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'reprise-faults-'));
  // Postgres runs as the `postgres` user when the tests run as root: it must reach its directory.
  chmodSync(dataDir, 0o755);
  const effectsDir = path.join(dataDir, 'effects');
  mkdirSync(effectsDir, { recursive: true });
  chmodSync(effectsDir, 0o777);
  const taken = new Set<number>();
  const ports = { pg: await freeLowPort(taken), temporal: await freeLowPort(taken), api: await freeLowPort(taken) };
  const cliPath = await ensureTemporalCli();

  const pgOptions = { dataDir, port: ports.pg, pidFile: path.join(dataDir, 'run', 'postgres.pid'), logFile: path.join(dataDir, 'logs', 'postgres.log') };
  let pg: TEmbeddedPostgres = await startEmbeddedPostgres(pgOptions);
  const databaseUrl = pg.url;
  await migrate(databaseUrl);

  const devOptions = {
    cliPath,
    port: ports.temporal,
    dbFile: path.join(dataDir, 'temporal.db'),
    namespace: 'default',
    logFile: path.join(dataDir, 'logs', 'temporal.log'),
    pidFile: path.join(dataDir, 'run', 'temporal.pid'),
  };
  let temporal: TDevServer = await startTemporalDevServer(devOptions);
  const temporalAddress = temporal.address;
  await ensureSearchAttributes(temporalAddress, 'default');

  const prisma: PrismaClient = createPrisma(databaseUrl, { poolSize: 5, queryTimeoutMs: DEFAULT_DATABASE_QUERY_TIMEOUT_S * 1000 });
  const { secret: token } = await createTokenDirect(prisma, { user: 'local' }, { name: 'faults', scopes: ['admin'] });
  // Its own agent: shell allowed, room for the 1,000-goal plan (the default agent's tree limit is 1,000 goals).
  const agentId = 'agent_faults';
  await prisma.agent.create({ data: { id: agentId, name: 'faults', ownerUserId: 'user_local', allowedRuntimes: ['shell'], maxDepth: 8, maxChildren: 1000, maxGoals: 5000 } });

  const env: NodeJS.ProcessEnv = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    REPRISE_DATA_DIR: dataDir,
    API_PORT: String(ports.api),
    LOG_LEVEL: 'info',
  };
  const apiUrl = `http://127.0.0.1:${ports.api}`;
  const workers: TNodeProcess[] = [];
  /** Per API slot: its port (slot 0's is ports.api) and its latest process. */
  const apiSlots: { port: number; url: string; proc?: TNodeProcess }[] = [{ port: ports.api, url: apiUrl }];
  /** Every process ever started, to stop at the end. */
  const everything: TNodeProcess[] = [];
  const killed: { name: string; pid: number; at: number }[] = [];
  /** Every worker process ever started, live or not: whom a marker line may name (readMarkers). */
  const workerPids = new Set<number>();

  const startWorker = async (): Promise<TNodeProcess> => {
    const worker = spawnNode(`worker${everything.length}`, 'src/main/worker.ts', {
      ...env,
      ...(options.workerMetricsAddress ? { WORKER_METRICS_ADDRESS: options.workerMetricsAddress } : {}),
    });
    everything.push(worker);
    workers.push(worker);
    workerPids.add(worker.pid);
    await waitFor(
      async () => {
        if (worker.hasExited()) throw new Error(`the worker exited during start-up:\n${worker.output().slice(-4000)}`);
        return worker.output().includes('worker running') ? true : undefined;
      },
      () => `the worker to run:\n${worker.output().slice(-4000)}`,
      120_000,
    );
    return worker;
  };

  const healthy = async (url: string): Promise<true | undefined> => {
    const res = await fetch(`${url}/healthz`).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  };

  /** Slot `slot`'s API (a new port the first time a slot is used; the same port after that), once it answers /healthz. */
  const startApi = async (slot = 0): Promise<TNodeProcess> => {
    while (apiSlots.length <= slot) {
      const port = await freeLowPort(taken);
      apiSlots.push({ port, url: `http://127.0.0.1:${port}` });
    }
    const at = apiSlots[slot] as (typeof apiSlots)[number];
    const started = spawnNode(`api${everything.length}`, 'src/main/api.ts', { ...env, API_PORT: String(at.port) });
    at.proc = started;
    everything.push(started);
    await waitFor(
      async () => {
        if (started.hasExited()) throw new Error(`the API exited during start-up:\n${started.output().slice(-4000)}`);
        return healthy(at.url);
      },
      () => `the API to answer /healthz at ${at.url}:\n${started.output().slice(-4000)}`,
      60_000,
    );
    return started;
  };

  /** SIGKILL, as a crash or the OOM killer would: no handler runs. */
  const sigkill = async (p: TNodeProcess): Promise<void> => {
    killed.push({ name: p.name, pid: p.pid, at: Date.now() });
    p.proc.kill('SIGKILL');
    await p.exited;
  };

  // Side by side: a worker's start is mostly bundling the workflow code (seconds of CPU).
  // Slot ports first, one after another: allocating them side by side could hand two slots the same port.
  for (let slot = 1; slot < (options.apis ?? 1); slot++) {
    const port = await freeLowPort(taken);
    apiSlots.push({ port, url: `http://127.0.0.1:${port}` });
  }
  await Promise.all([...Array.from({ length: options.workers ?? 1 }, () => startWorker()), ...apiSlots.map((_, slot) => startApi(slot))]);
  log(`cluster up: postgres :${ports.pg}, temporal :${ports.temporal}, api ${apiSlots.map((a) => `:${a.port}`).join(' ')}, ${workers.length} worker(s), data in ${dataDir}`);

  const cluster = {
    dataDir,
    effectsDir,
    ports,
    databaseUrl,
    temporalAddress,
    apiUrl,
    token,
    prisma,
    agentId,
    killed,
    workerPids: workerPids as ReadonlySet<number>,
    get workers(): TNodeProcess[] {
      return workers.filter((w) => !w.hasExited());
    },
    /** Slot 0's API process (the latest one started there). */
    get api(): TNodeProcess | undefined {
      return apiSlots[0]?.proc;
    },
    /** The live APIs: slot, URL and process. */
    get apis(): { slot: number; url: string; proc: TNodeProcess }[] {
      return apiSlots.flatMap((a, slot) => (a.proc && !a.proc.hasExited() ? [{ slot, url: a.url, proc: a.proc }] : []));
    },
    startWorker,
    startApi,
    async killWorker(worker: TNodeProcess): Promise<void> {
      await sigkill(worker);
    },
    /** A worker stopped as an operator would (SIGINT: it drains, then exits). */
    async stopWorker(worker: TNodeProcess): Promise<void> {
      worker.proc.kill('SIGINT');
      await worker.exited;
    },
    /** A scenario's own directory for its leaves' marker files. */
    effectsFor(scenario: string): string {
      const dir = path.join(effectsDir, scenario);
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, 0o777);
      return dir;
    },
    async killApi(slot = 0): Promise<void> {
      const proc = apiSlots[slot]?.proc;
      if (proc && !proc.hasExited()) await sigkill(proc);
    },
    /** An API stopped as an operator would (SIGINT: it closes, then exits). */
    async stopApi(slot: number): Promise<void> {
      const proc = apiSlots[slot]?.proc;
      if (!proc || proc.hasExited()) return;
      proc.proc.kill('SIGINT');
      await proc.exited;
    },
    /** SIGKILL to Postgres' whole process group (the postmaster and its backends), as a crash would. */
    async killPostgres(): Promise<void> {
      killed.push({ name: 'postgres', pid: pg.process.pid, at: Date.now() });
      process.kill(-pg.process.pid, 'SIGKILL');
      await pg.process.exited;
    },
    /** Postgres again on the same data directory and port. */
    async startPostgres(): Promise<void> {
      pg = await startEmbeddedPostgres({ ...pgOptions, existing: true });
    },
    async killTemporal(): Promise<void> {
      killed.push({ name: 'temporal', pid: temporal.process.pid, at: Date.now() });
      process.kill(-temporal.process.pid, 'SIGKILL');
      await temporal.process.exited;
    },
    /** The dev server again on the same SQLite file and port. */
    async startTemporal(): Promise<void> {
      temporal = await startTemporalDevServer(devOptions);
      await ensureSearchAttributes(temporalAddress, 'default');
    },
    /** Saves `plan` as a workflow of the cluster's agent, straight through the database. */
    async saveWorkflow(name: string, plan: TPlan): Promise<string> {
      const saved = await saveFrozenWorkflow(prisma, { agentId, name, title: `Faults: ${name}`, plan });
      return saved.id;
    },
    async stop(keepData = false): Promise<void> {
      await Promise.all(
        everything
          .filter((p) => !p.hasExited())
          .map(async (p) => {
            p.proc.kill('SIGINT');
            const timer = setTimeout(() => p.proc.kill('SIGKILL'), 20_000);
            await p.exited;
            clearTimeout(timer);
          }),
      );
      await prisma.$disconnect().catch(() => undefined);
      await temporal.stop().catch(() => undefined);
      await pg.stop().catch(() => undefined);
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/**
 * A frozen plan of `goals` goals in all (the run's root included): composites
 * whose leaves run one after another, plus leaves at the top to make up the
 * count. Each leaf notes its launcher's parent and grandparent, sleeps
 * `sleepS` (so kills land while commands run), then appends
 * `<parent pid> <grandparent pid> <epoch ms>` to `<effectsDir>/<goal id>`: one
 * line per command that ran to its end (readMarkers).
 */
export function markerPlan(goals: number, effectsDir: string, sleepS: number): TPlan {
  const below = goals - 1;
  const composites = Math.max(1, Math.round(Math.sqrt(below)));
  const per = Math.floor(below / composites);
  const extra = below - composites * per;
  // The command's launcher is $PPID. Its parent (field 4 of /proc/$PPID/stat) is the worker's spawn helper
  // (src/activities/spawner.ts), whose parent is the worker; or the worker itself, when it spawns commands
  // directly. Both are read before the sleep, while the worker lives: after its SIGKILL they would name init.
  const leaf = (key: string) => ({
    key,
    kind: 'leaf',
    title: key,
    action: {
      runtime: 'shell',
      command: `p=$(cut -d' ' -f4 /proc/$PPID/stat); g=$(cut -d' ' -f4 /proc/$p/stat); sleep ${sleepS} && echo "$p $g $(date +%s%3N)" >> ${effectsDir}/$REPRISE_GOAL_ID`,
      timeout_s: 120,
    },
  });
  const chain = (n: number) => ({
    children: Array.from({ length: n }, (_, i) => leaf(`l${i}`)),
    edges: Array.from({ length: Math.max(0, n - 1) }, (_, i) => ({ from: `l${i}`, to: `l${i + 1}` })),
  });
  return ZPlan.parse({
    children: [
      ...Array.from({ length: composites }, (_, i) => ({ key: `c${i}`, kind: 'composite', title: `Part ${i}`, plan: chain(per - 1) })),
      ...Array.from({ length: extra }, (_, i) => leaf(`x${i}`)),
    ],
  });
}

/**
 * What the leaves' marker files say: per goal id, the lines oldest first, each with the pids that may be its
 * worker's (the launcher's parent and grandparent: markerPlan) and when the command ended, in epoch ms.
 */
export function readMarkers(effectsDir: string): Map<string, { pids: number[]; at: number }[]> {
  const out = new Map<string, { pids: number[]; at: number }[]>();
  for (const file of readdirSync(effectsDir)) {
    const lines = readFileSync(path.join(effectsDir, file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const fields = line.split(' ');
        return { pids: fields.slice(0, -1).map(Number), at: Number(fields[fields.length - 1]) };
      })
      .sort((a, b) => a.at - b.at);
    out.set(file, lines);
  }
  return out;
}
