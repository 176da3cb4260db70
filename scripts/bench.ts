// `npm run bench`: Reprise as a user meets it, against bare Temporal doing
// the same leaf work, measured in the same run on the same machine; it
// prints the tables and writes docs/PERFORMANCE.md with its charts.
//
// Set-up (issue 19): a scratch embedded Postgres and in-memory Temporal dev
// server; Reprise's real worker process (src/main/worker.ts) and API process
// (src/main/api.ts), started as `npm start` starts them; an agent token; and
// the bare baseline's own worker process (scripts/bench/bareWorker.ts) with
// the same worker settings. Every Reprise request goes over HTTP with
// `Authorization: Bearer`; a bare request is a Temporal client's
// workflow.start here, then its result. Leaf work on both sides: spawn
// `true`, insert one row through pg. DBOS Transact (scripts/bench/dbos.ts)
// runs the same scenarios for context when @dbos-inc/dbos-sdk is installed.
//
// Parts (BENCH_PARTS, default all): `engine` (one leaf, fan-outs, chain, the
// 10,000-goal tree), `throughput` (concurrent runs of a saved workflow),
// `instantiation` (scripts/bench/instantiation.ts).
//
// BENCH_REPEATS=n: medians of n repeats (default 3). BENCH_SCENARIOS=small:
// up to 100 leaves, 40 throughput runs, plans up to 100 goals (a few minutes,
// for development; targets set at a larger size read "n/a").
// BENCH_THROUGHPUT_RUNS, BENCH_ONE_LEAF_REQUESTS, BENCH_THROUGHPUT_CALLERS
// override those sizes; BENCH_ONLY=<scenario ids> runs only those engine
// scenarios. BENCH_WRITE_DOCS=0 writes no docs; BENCH_DOCS_PATH writes them
// elsewhere (charts beside it, in performance/). BENCH_LOG_LEVEL sets the
// children's LOG_LEVEL (default warn; their output is shown if one dies).
// BENCH_SETTLE_MS (default 3000): idle before each side's batch of a
// scenario; BENCH_RECORDED_POLL_MS (default 500): how often a tree's
// recorded end is polled for (scripts/bench/settings.ts says why).
// Each run that writes docs also keeps its figures in performance/results.json
// beside them; BENCH_RENDER=<that file> measures nothing and writes the docs
// again from it (after an edit of docs/performance/notes.md), or with
// BENCH_WRITE_DOCS=0 only prints its tables. A bad setting (scripts/bench/
// settings.ts) is one line on stderr and exit 1, before anything starts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { loadConfig, workerNodeArgs } from '../src/config';
import { createPrisma } from '../src/db/client';
import { freePort, runStops, startScratchServices } from '../src/dev/scratchServices';
import { ensureTemporalCli } from '../src/dev/temporalCli';
import { createTokenDirect } from '../src/services/tokens';
import { createTemporalClient } from '../src/temporal/client';
import { startDbosBaseline, type TDbosBaseline } from './bench/dbos';
import { createEngineBench, ENGINE_SCENARIOS } from './bench/engine';
import { createApi } from './bench/http';
import { benchInstantiation } from './bench/instantiation';
import { startNodeProcess, waitForHttp, waitForWorker } from './bench/processes';
import { renderConsole, renderDocs } from './bench/report';
import type { TBenchResult, TMachine, TSpawnCost } from './bench/results';
import { listOf, oneOf, RECORDED_POLL_MS, SETTLE_MS, settingError, wholeNumber } from './bench/settings';
import { benchThroughput } from './bench/throughput';

const root = path.resolve(__dirname, '..');
const REPEATS = wholeNumber('BENCH_REPEATS', 3);
const SMALL = oneOf('BENCH_SCENARIOS', ['small', 'all'], 'all') === 'small';
const THROUGHPUT_RUNS = wholeNumber('BENCH_THROUGHPUT_RUNS', SMALL ? 40 : 200);
/** BENCH_ONLY=one-leaf,tree-10000: only these engine scenarios (by id), whatever BENCH_SCENARIOS says. */
const ONLY = process.env.BENCH_ONLY?.trim()
  ? new Set(listOf('BENCH_ONLY', ENGINE_SCENARIOS.map((s) => s.id), []))
  : undefined;
const ALL_PARTS = ['engine', 'throughput', 'instantiation'] as const;
const PARTS = new Set(listOf('BENCH_PARTS', ALL_PARTS, ALL_PARTS));
const WRITE_DOCS = oneOf('BENCH_WRITE_DOCS', ['0', '1'], '1') === '1';
const DOCS_PATH = path.resolve(root, process.env.BENCH_DOCS_PATH?.trim() || 'docs/PERFORMANCE.md');
if (existsSync(DOCS_PATH) && statSync(DOCS_PATH).isDirectory()) settingError(`BENCH_DOCS_PATH: ${DOCS_PATH} is a directory; name the markdown file to write`);
const LOG_LEVEL = oneOf('BENCH_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'warn');
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE_DIR?.trim() || undefined;
/** The hand-written sections the generated document carries on (worker memory, the scale suite, where the time goes). */
const NOTES_PATH = path.join(root, 'docs/performance/notes.md');

/** The agent the bench's token acts for: its stored limits allow the big trees (the local user's default agent's do not). */
const AGENT_ID = 'agent_bench';
const REPRISE_QUEUE = 'bench-reprise';
const BARE_QUEUE = 'bench-bare';

const log = (line: string): void => console.log(line);

/** Starts each way is measured by, before anything else runs (a few seconds). */
const SPAWN_STARTS = 50;

/**
 * What starting a leaf's command costs this machine, measured first, on
 * the idle machine, by `npm run bench:spawn` (scripts/bench/spawnCost.ts, a
 * process of its own grown to a worker's size): bare Temporal's leaves
 * are bound by it, so it tells which kind of machine a run was made on.
 * Undefined, with a line in the log, when it cannot be measured.
 */
function measureStarts(): TSpawnCost | undefined {
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bench/spawnCost.ts'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, BENCH_SPAWN_N: String(SPAWN_STARTS), BENCH_SPAWN_RSS_MB: '300', BENCH_SPAWN_JSON: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    const cost = JSON.parse(out.trim().split('\n').pop() ?? '') as TSpawnCost;
    if (![cost.bare?.cpuMs, cost.helper?.cpuMs].every((x) => typeof x === 'number' && Number.isFinite(x))) throw new Error(`unexpected output: ${out.slice(0, 200)}`);
    return cost;
  } catch (err) {
    const why = String((err as { stderr?: unknown }).stderr ?? '').trim().split('\n').filter(Boolean).pop();
    log(`what starting a process costs was not measured: ${(err as Error).message.split('\n')[0]}${why ? ` (${why})` : ''}`);
    return undefined;
  }
}

function commandOutput(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** Writes docs/PERFORMANCE.md, its charts, and the figures they come from. */
function writeDocs(result: TBenchResult): void {
  const chartsDir = path.join(path.dirname(DOCS_PATH), 'performance');
  mkdirSync(chartsDir, { recursive: true });
  const docs = renderDocs(result, readFileSync(NOTES_PATH, 'utf8'));
  for (const [name, svg] of Object.entries(docs.charts)) writeFileSync(path.join(chartsDir, name), svg);
  writeFileSync(path.join(chartsDir, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(DOCS_PATH, docs.markdown);
  log(`wrote ${path.relative(process.cwd(), DOCS_PATH)}, ${Object.keys(docs.charts).length} charts and results.json in ${path.relative(process.cwd(), chartsDir)}/`);
}

/** BENCH_RENDER's file: the figures a run kept (performance/results.json), or one clear line and exit 1. */
function readResults(file: string): TBenchResult {
  let text: string;
  try {
    text = readFileSync(path.resolve(file), 'utf8');
  } catch (err) {
    settingError(`BENCH_RENDER: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    settingError(`BENCH_RENDER: ${file} is not JSON (${(err as Error).message.replace(/\s+/g, ' ')})`);
  }
  const r = data as Partial<TBenchResult> | null;
  const valid =
    typeof r === 'object' && r !== null && typeof r.machine === 'object' && r.machine !== null && typeof r.repeats === 'number' && typeof r.small === 'boolean' &&
    Array.isArray(r.parts) && Array.isArray(r.scenarios) && typeof r.workerSettings === 'object' && typeof r.minutes === 'number';
  if (!valid) settingError(`BENCH_RENDER: ${file} is not the figures of a bench run (performance/results.json, beside a generated PERFORMANCE.md)`);
  return data as TBenchResult;
}

async function main(): Promise<void> {
  if (process.env.BENCH_RENDER) {
    const result = readResults(process.env.BENCH_RENDER);
    if (WRITE_DOCS) writeDocs(result);
    else log(`${renderConsole(result)}\n\ndocs not written (BENCH_WRITE_DOCS=0)`);
    return;
  }
  const startedAt = Date.now();
  const loadStart = os.loadavg()[0] as number;
  log(`measuring what starting a process costs (${SPAWN_STARTS} starts each way)… (load ${loadStart.toFixed(1)})`);
  const starts = measureStarts();
  if (starts) log(`  \`true\` from a 300 MB process ${starts.bare.cpuMs.toFixed(1)} ms of CPU, our launcher through the helper ${starts.helper.cpuMs.toFixed(1)} ms`);
  log('bringing up Postgres and Temporal…');
  const { dataDir, databaseUrl, temporalAddress, pids, stops } = await startScratchServices('reprise-bench-');
  try {
    const apiPort = await freePort();
    // What every process gets, as `npm start` gives it (workspaces beside, never inside, the data directory).
    const env: NodeJS.ProcessEnv = {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_TASK_QUEUE: REPRISE_QUEUE,
      REPRISE_DATA_DIR: path.join(dataDir, 'data'),
      WORKSPACES_DIR: path.join(dataDir, 'workspaces'),
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      LOG_LEVEL: LOG_LEVEL,
    };
    // What the processes get: this environment over the caller's (a WORKER_* set by the caller reaches both workers and is reported).
    const config = loadConfig({ ...process.env, ...env });
    const prisma = createPrisma(databaseUrl, { poolSize: 5, queryTimeoutMs: config.databaseQueryTimeoutMs });
    stops.push(() => prisma.$disconnect());
    const pool = new Pool({ connectionString: databaseUrl, max: 5 });
    stops.push(() => pool.end());
    const temporal = createTemporalClient(temporalAddress, config.temporal.namespace);
    stops.push(() => temporal.connection.close());

    await pool.query('CREATE TABLE bench_leaves (key text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
    await pool.query(
      `INSERT INTO agents (id, name, owner_user_id, allowed_runtimes, max_depth, max_children, max_goals, default_parallelism)
       VALUES ($1, 'bench', 'user_local', ARRAY['shell'], 4, 5000, 20000, 100)`,
      [AGENT_ID],
    );
    // As `reprise token create --agent bench` makes it: the agent's default scopes.
    const { secret } = await createTokenDirect(prisma, { agent: AGENT_ID }, { name: 'bench' });

    log('starting the worker, the API and the bare worker…');
    // BENCH_CPU_PROFILE_DIR: every process below writes a V8 CPU profile there when it stops (open it in Chrome's DevTools).
    const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`] : [];
    const nodeArgs = [...workerNodeArgs(config), ...profile];
    const worker = startNodeProcess('worker', 'src/main/worker.ts', env, nodeArgs);
    stops.push(() => worker.stop());
    const bareWorker = startNodeProcess('bare worker', 'scripts/bench/bareWorker.ts', { ...env, BENCH_BARE_TASK_QUEUE: BARE_QUEUE }, nodeArgs);
    stops.push(() => bareWorker.stop());
    const apiProcess = startNodeProcess('api', 'src/main/api.ts', env, profile);
    stops.push(() => apiProcess.stop());
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await Promise.all([waitForWorker(worker, temporal, REPRISE_QUEUE), waitForWorker(bareWorker, temporal, BARE_QUEUE), waitForHttp(apiProcess, `${apiUrl}/healthz`)]);
    const api = createApi(apiUrl, secret);

    let dbos: TDbosBaseline | undefined;
    let dbosNote: string | undefined;
    const started = await startDbosBaseline({ pool, databaseUrl, env, nodeArgs, workerConcurrency: config.worker.maxConcurrentActivities, log });
    if ('missing' in started) {
      dbosNote = started.missing;
      log(`DBOS: ${started.missing}`);
    } else {
      dbos = started;
      stops.push(() => started.stop());
    }
    // A dead child ends the bench at once, with its output, rather than as a timeout later.
    const watch = <T>(work: Promise<T>): Promise<T> => Promise.race([work, worker.died, bareWorker.died, apiProcess.died, ...(dbos ? [dbos.died] : [])]);

    const scenarios: TBenchResult['scenarios'] = [];
    // Whose CPU each side's requests are read by (scripts/bench/cpu.ts).
    const processes = { reprise: { ...pids, worker: worker.pid, api: apiProcess.pid }, bare: { ...pids, worker: bareWorker.pid } };
    if (PARTS.has('engine') || PARTS.has('throughput')) {
      const engine = createEngineBench({ api, temporal, bareTaskQueue: BARE_QUEUE, repeats: REPEATS, processes, ...(dbos ? { dbos } : {}), log });
      log('warming up…');
      await watch(engine.warmUp());
      if (PARTS.has('engine')) {
        for (const s of ENGINE_SCENARIOS.filter((x) => (ONLY ? ONLY.has(x.id) : !SMALL || !x.large))) {
          log(`${s.name}…`);
          scenarios.push(await watch(engine.run(s)));
        }
      }
      if (PARTS.has('throughput')) {
        log(`throughput: ${THROUGHPUT_RUNS} runs…`);
        scenarios.push(
          await watch(
            benchThroughput({
              api,
              prisma,
              temporal,
              agentId: AGENT_ID,
              bareTaskQueue: BARE_QUEUE,
              runs: THROUGHPUT_RUNS,
              repeats: REPEATS,
              processes,
              ...(dbos ? { dbos } : {}),
              log,
            }),
          ),
        );
      }
    }
    let instantiation: TBenchResult['instantiation'];
    if (PARTS.has('instantiation')) {
      log('instantiation…');
      instantiation = await watch(benchInstantiation({ prisma, pool, temporal, apiUrl, repeats: REPEATS, small: SMALL, log }));
    }

    const { rows } = await pool.query<{ server_version: string }>('SHOW server_version');
    const machine: TMachine = {
      date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
      cores: os.cpus().length,
      ramGb: Math.round(os.totalmem() / 1024 ** 3),
      node: process.version,
      temporal: commandOutput(await ensureTemporalCli(), ['--version']).replace(/^temporal version /, ''),
      postgres: rows[0]?.server_version ?? 'unknown',
      dbos: dbos ? `@dbos-inc/dbos-sdk ${dbos.version}` : 'not run',
      loadStart,
      loadEnd: os.loadavg()[0] as number,
      ...(starts ? { starts } : {}),
      commit: `${commandOutput('git', ['rev-parse', '--short', 'HEAD'])}${commandOutput('git', ['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : ''}`,
    };
    const result: TBenchResult = {
      machine,
      repeats: REPEATS,
      small: SMALL,
      parts: [...PARTS],
      ...(ONLY ? { only: [...ONLY] } : {}),
      workerSettings: {
        activities: config.worker.maxConcurrentActivities,
        workflowTasks: config.worker.maxConcurrentWorkflowTasks,
        cachedWorkflows: config.worker.maxCachedWorkflows,
        heapMb: config.worker.heapMb,
        poolSize: config.databasePoolSize,
      },
      settleMs: SETTLE_MS,
      recordedPollMs: RECORDED_POLL_MS,
      scenarios,
      ...(instantiation ? { instantiation } : {}),
      ...(dbosNote ? { dbosNote } : {}),
      minutes: (Date.now() - startedAt) / 60_000,
    };
    log(`\n${renderConsole(result)}`);
    if (WRITE_DOCS) writeDocs(result);
    else log('docs not written (BENCH_WRITE_DOCS=0)');
  } finally {
    await runStops(stops, (err) => console.error('stopping:', err));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
