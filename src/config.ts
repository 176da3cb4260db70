import { readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { msToNumber } from '@temporalio/common';
import { z } from 'zod';
import { DEFAULT_ENGINE_TUNING, DEFAULT_INFRA_RETRY_HOURS, DEFAULT_LEAF_TIMEOUT_S, LEAF_TIMEOUT_MAX_S, type TEngineTuning } from './domain/execution';
import { catchupWindowError, DEFAULT_CATCHUP_WINDOW, DEFAULT_SCHEDULE_LIMITS, intervalError, type TScheduleLimits } from './domain/schedules';

/**
 * Every setting Reprise reads from the environment, parsed once with zod.
 * A bad value stops start-up with a message naming the variable (ConfigError).
 * The README's config table is this list; keep them in step.
 */

const port = z.coerce
  .number({ message: 'must be a port number (1-65535)' })
  .int('must be a port number (1-65535)')
  .min(1, 'must be a port number (1-65535)')
  .max(65535, 'must be a port number (1-65535)');
const positiveInt = z.coerce.number({ message: 'must be a whole number' }).int('must be a whole number').positive('must be at least 1');

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, { message: 'must be host:port, e.g. 127.0.0.1:7233' });

const postgresUrl = z
  .string()
  .url({ message: 'must be a URL like postgresql://user:password@host:5432/database' })
  .refine((v) => /^postgres(ql)?:\/\//.test(v), { message: 'must start with postgresql:// or postgres://' });

/**
 * Workflow executions the worker keeps in memory between their tasks
 * (Temporal's sticky cache). Each costs the worker about 1 MB of RSS; one evicted
 * replays its history on its next task. See docs/PERFORMANCE.md, "Worker memory".
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 250;

/**
 * The worker's V8 heap limit: far under Node's default, so V8 collects the
 * garbage of evicted executions instead of letting the heap grow into it.
 */
export const DEFAULT_WORKER_HEAP_MB = 384;

/** Seconds one Postgres query may go unanswered (DATABASE_QUERY_TIMEOUT_S). */
export const DEFAULT_DATABASE_QUERY_TIMEOUT_S = 30;

const ZEnv = z.object({
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: positiveInt.max(500).default(10),
  // A query unanswered this long fails as an outage (503 at the API, retried by activities):
  // a Postgres that is frozen or cut off by the network never closes its connections.
  DATABASE_QUERY_TIMEOUT_S: positiveInt.max(3600).default(DEFAULT_DATABASE_QUERY_TIMEOUT_S),
  // Below Linux's ephemeral range (32768-60999): a client reconnecting to a
  // dead server on a port inside it can be given that same port as its own
  // source port, connect to itself, and hold the port against the restart.
  EMBEDDED_PG_PORT: port.default(15432),

  TEMPORAL_ADDRESS: hostPort.optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('reprise'),
  TEMPORAL_CLI: z.string().min(1).optional(),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_UI_URL: z.string().url().optional(),
  // `off`: the API hands out no Web UI links (ui_url is null), for a UI that
  // must not be advertised (see docs/security.md: it has no authentication).
  TEMPORAL_UI_LINKS: z.enum(['on', 'off'], { message: 'must be on or off' }).default('on'),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(3000),
  API_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, { message: 'must be a size like 1mb or 512kb' })
    .default('1mb'),

  REPRISE_DATA_DIR: z.string().min(1).default('.data'),
  // Beside the default data dir, never inside it (checked below): see workspacesDirError.
  WORKSPACES_DIR: z.string().min(1).default('.workspaces'),
  // An OS user leaf commands run as (the worker must run as root to switch to it).
  LEAF_USER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, { message: 'must be the name of an OS user, e.g. reprise-leaf' })
    .optional(),
  WORKER_MAX_CONCURRENT_ACTIVITIES: positiveInt.max(2000).default(20),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: positiveInt.min(2, 'must be at least 2').max(200).default(4),
  // 0 turns the cache off; otherwise at least WORKER_MAX_CONCURRENT_WORKFLOW_TASKS (checked below).
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(0, 'must be 0 (no cache) or more')
    .max(100_000, 'must be at most 100000')
    .default(DEFAULT_MAX_CACHED_WORKFLOWS),
  // The V8 heap limit (--max-old-space-size) of each isolate in the worker process; 0 leaves Node's own (a quarter of RAM, up to 4 GB).
  WORKER_HEAP_MB: z.coerce
    .number({ message: 'must be a whole number of MB' })
    .int('must be a whole number of MB')
    .refine((n) => n === 0 || (n >= 128 && n <= 65_536), 'must be 0 (Node\'s default) or 128-65536')
    .default(DEFAULT_WORKER_HEAP_MB),
  WORKER_METRICS_ADDRESS: hostPort.optional(),
  LEAF_OUTPUT_MAX_BYTES: positiveInt.max(1024 * 1024).default(64 * 1024),
  LEAF_DEFAULT_TIMEOUT_S: positiveInt.max(LEAF_TIMEOUT_MAX_S).default(DEFAULT_LEAF_TIMEOUT_S),
  ENGINE_PLAN_RECHECK_S: positiveInt.max(24 * 3600).default(DEFAULT_ENGINE_TUNING.planRecheckS),
  ENGINE_HISTORY_LIMIT: z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(50, 'must be at least 50')
    .max(5000, 'must be at most 5000 (running children need the rest of Temporal\'s 10,240 events)')
    .default(DEFAULT_ENGINE_TUNING.historyLimit),
  INFRA_RETRY_HOURS: z.coerce
    .number({ message: 'must be a number of hours' })
    .positive('must be more than 0')
    .max(24 * 30, 'must be at most 720 (30 days)')
    .default(DEFAULT_INFRA_RETRY_HOURS),

  SCHEDULE_CATCHUP_WINDOW: z
    .string()
    .refine((w) => catchupWindowError(w) === undefined, { message: 'must be a duration between 10s and 7d, e.g. 15m, 6h or 1d' })
    .default(DEFAULT_CATCHUP_WINDOW),
  SCHEDULE_MAX_PER_OWNER: positiveInt.max(1_000_000).default(DEFAULT_SCHEDULE_LIMITS.maxPerOwner),
  SCHEDULE_MIN_INTERVAL: z
    .string()
    .refine((w) => intervalError(w) === undefined, { message: 'must be an interval of at least one second, e.g. 60s, 5m or 1h' })
    .default(`${DEFAULT_SCHEDULE_LIMITS.minIntervalMs / 1000}s`),
  SCHEDULE_BACKFILL_MAX_FIRES: positiveInt.max(100_000).default(DEFAULT_SCHEDULE_LIMITS.backfillMaxFires),

  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type TEnv = z.infer<typeof ZEnv>;

export interface TConfig {
  /** Set when the user gave DATABASE_URL; otherwise `npm start` runs embedded Postgres. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  /** How long one query may go unanswered before it fails as an outage. */
  databaseQueryTimeoutMs: number;
  embeddedPostgresPort: number;
  temporal: {
    /** Set when the user gave TEMPORAL_ADDRESS; otherwise `npm start` runs the dev server. */
    address: string | undefined;
    namespace: string;
    taskQueue: string;
    cliPath: string | undefined;
    devPort: number;
    uiPort: number;
    uiUrl: string | undefined;
    /** False (TEMPORAL_UI_LINKS=off): API responses carry no ui_url. */
    uiLinks: boolean;
  };
  api: { host: string; port: number; bodyLimit: string };
  dataDir: string;
  /** Where leaf commands run: `<workspacesDir>/<root goal id>`, outside the data directory. */
  workspacesDir: string;
  worker: { maxConcurrentActivities: number; maxConcurrentWorkflowTasks: number; maxCachedWorkflows: number; heapMb: number; metricsAddress: string | undefined };
  /** `user`: the OS user leaf commands run as (LEAF_USER); unset, the worker's own. */
  leaf: { outputMaxBytes: number; defaultTimeoutS: number; user: string | undefined };
  /** How goals started by this API run (passed to every execution of the tree). */
  engine: TEngineTuning;
  /** The catch-up window of a schedule created without one (SCHEDULE_CATCHUP_WINDOW), and what one owner may make fire (SCHEDULE_MAX_PER_OWNER, SCHEDULE_MIN_INTERVAL, SCHEDULE_BACKFILL_MAX_FIRES). */
  schedules: { catchupWindow: string; limits: TScheduleLimits };
  log: { level: TEnv['LOG_LEVEL'] };
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** A value to echo in an error: the user:password part of anything URL-like is hidden. */
function withoutCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}

/** Whether `inner` is `outer` or lies inside it. */
function isWithin(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Where a path really is: the real path of its nearest existing ancestor
 * (symbolic links resolved) with the rest of the path appended. A directory
 * not made yet is made where that ancestor really is.
 */
export function realPathOf(p: string, hops = 0): string {
  const rest: string[] = [];
  let at = path.resolve(p);
  for (;;) {
    try {
      return path.join(realpathSync(at), ...rest.reverse());
    } catch {
      // A dangling symbolic link: where it points is where a directory made through it would be.
      const target = hops < 32 ? linkTargetOf(at) : undefined;
      if (target !== undefined) return realPathOf(path.join(path.resolve(path.dirname(at), target), ...rest.reverse()), hops + 1);
      const parent = path.dirname(at);
      if (parent === at) return path.resolve(p);
      rest.push(path.basename(at));
      at = parent;
    }
  }
}

function linkTargetOf(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Why a workspaces directory is refused, if it is: leaf commands write there,
 * and the data directory holds the Postgres password and the local admin
 * token, so neither may hold the other. Compared as written and as real
 * paths: a symbolic link into the data directory is inside it.
 */
export function workspacesDirError(workspacesDir: string, dataDir: string): string | undefined {
  const realWorkspaces = realPathOf(workspacesDir);
  const realData = realPathOf(dataDir);
  const linked = realWorkspaces !== workspacesDir || realData !== dataDir ? ` (through symbolic links: ${realWorkspaces} and ${realData})` : '';
  if (isWithin(workspacesDir, dataDir) || isWithin(realWorkspaces, realData)) {
    return `must be outside REPRISE_DATA_DIR (${dataDir})${linked}: commands must not share a directory with its secrets`;
  }
  if (isWithin(dataDir, workspacesDir) || isWithin(realData, realWorkspaces)) {
    return `must not contain REPRISE_DATA_DIR (${dataDir})${linked}: commands must not share a directory with its secrets`;
  }
  return undefined;
}

/** Parses configuration from an environment (process.env by default). Empty strings count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): TConfig {
  const cleaned = Object.fromEntries(
    Object.keys(ZEnv.shape)
      .map((k) => [k, env[k]] as const)
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = ZEnv.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? '(environment)');
        const given = cleaned[variable];
        return { variable, message: `${issue.message}${given !== undefined ? ` (got ${JSON.stringify(withoutCredentials(given))})` : ''}` };
      }),
    );
  }
  const e = parsed.data;
  // The SDK would quietly lower the task slots to the cache size instead.
  if (e.WORKER_MAX_CACHED_WORKFLOWS !== 0 && e.WORKER_MAX_CACHED_WORKFLOWS < e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS) {
    const given = cleaned.WORKER_MAX_CACHED_WORKFLOWS;
    throw new ConfigError([
      {
        variable: 'WORKER_MAX_CACHED_WORKFLOWS',
        message: `must be 0 (no cache) or at least WORKER_MAX_CONCURRENT_WORKFLOW_TASKS (${e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS})${given !== undefined ? ` (got ${JSON.stringify(given)})` : ''}`,
      },
    ]);
  }
  const dataDir = path.resolve(cwd, e.REPRISE_DATA_DIR);
  const workspacesDir = path.resolve(cwd, e.WORKSPACES_DIR);
  const workspacesProblem = workspacesDirError(workspacesDir, dataDir);
  if (workspacesProblem) throw new ConfigError([{ variable: 'WORKSPACES_DIR', message: `${workspacesProblem} (got ${JSON.stringify(e.WORKSPACES_DIR)})` }]);
  return {
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databaseQueryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_S * 1000,
    embeddedPostgresPort: e.EMBEDDED_PG_PORT,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      cliPath: e.TEMPORAL_CLI,
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL,
      uiLinks: e.TEMPORAL_UI_LINKS === 'on',
    },
    api: { host: e.API_HOST, port: e.API_PORT, bodyLimit: e.API_BODY_LIMIT },
    dataDir,
    workspacesDir,
    worker: {
      maxConcurrentActivities: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTasks: e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
      heapMb: e.WORKER_HEAP_MB,
      metricsAddress: e.WORKER_METRICS_ADDRESS,
    },
    leaf: { outputMaxBytes: e.LEAF_OUTPUT_MAX_BYTES, defaultTimeoutS: e.LEAF_DEFAULT_TIMEOUT_S, user: e.LEAF_USER },
    engine: { planRecheckS: e.ENGINE_PLAN_RECHECK_S, historyLimit: e.ENGINE_HISTORY_LIMIT, infraRetryHours: e.INFRA_RETRY_HOURS },
    schedules: {
      catchupWindow: e.SCHEDULE_CATCHUP_WINDOW,
      limits: { maxPerOwner: e.SCHEDULE_MAX_PER_OWNER, minIntervalMs: msToNumber(e.SCHEDULE_MIN_INTERVAL as Parameters<typeof msToNumber>[0]), backfillMaxFires: e.SCHEDULE_BACKFILL_MAX_FIRES },
    },
    log: { level: e.LOG_LEVEL },
  };
}

/** Node's flags for the worker process (`npm start` and the memory bench start it with these). */
export function workerNodeArgs(config: TConfig): string[] {
  return config.worker.heapMb ? [`--max-old-space-size=${config.worker.heapMb}`] : [];
}

/** Where the Temporal frontend is: TEMPORAL_ADDRESS, or the dev server `npm start` runs. */
export function temporalAddress(config: TConfig): string {
  return config.temporal.address ?? `127.0.0.1:${config.temporal.devPort}`;
}

/** Where a person opens the Temporal Web UI. */
export function temporalUiUrl(config: TConfig): string | undefined {
  if (config.temporal.uiUrl) return config.temporal.uiUrl.replace(/\/$/, '');
  return config.temporal.address ? undefined : `http://localhost:${config.temporal.uiPort}`;
}

/**
 * The Web UI address the API builds `ui_url` links from: none when
 * TEMPORAL_UI_LINKS=off, so responses stop pointing people at a UI that
 * shows every user's runs to whoever reaches it.
 */
export function temporalUiLinkBase(config: TConfig): string | undefined {
  return config.temporal.uiLinks ? temporalUiUrl(config) : undefined;
}
