import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { warmSpawner } from '../activities/spawner';
import { createActivities } from '../activities';
import { activityErrorBoundary } from '../activities/errorBoundary';
import { resolveLeafUser } from '../activities/leafUser';
import type { TConfig } from '../config';
import type { PrismaClient } from '../db/client';
import type { Logger } from '../logger';

/**
 * The Temporal worker's composition: our workflows and activities on one
 * task queue, with the worker-side connection and runtime. A composition
 * root, so it lives with the entry points: `npm run worker`
 * (src/main/worker.ts, which `npm start` runs beside the API) and tests and
 * benchmarks that run a worker in-process. src/temporal keeps the client side.
 */

export interface TWorkerDeps {
  config: TConfig;
  prisma: PrismaClient;
  connection: NativeConnection;
  logger: Logger;
  taskQueue?: string;
  /** A prebuilt bundle (tests build one and share it); otherwise bundled from src/workflows at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /**
   * Poll only one kind of task (default: both). A test runs a workflow
   * worker and an activity worker apart, to stop the first while the second
   * finishes activities, so their completions reach one workflow task.
   * A workflows-only worker runs its workflows' local activities (opening a
   * goal, a run's instantiation steps) but polls for no other activity.
   */
  only?: 'workflows' | 'activities';
}

export async function createWorker(deps: TWorkerDeps): Promise<Worker> {
  const { config } = deps;
  // Resolved before the worker polls: a LEAF_USER it cannot switch to stops it here (LEAF_USER_INVALID).
  const leafUser = config.leaf.user ? await resolveLeafUser(config.leaf.user) : undefined;
  // The helper that starts leaf commands comes up now, not at the first leaf.
  if (deps.only !== 'workflows') await warmSpawner();
  return Worker.create({
    connection: deps.connection,
    namespace: config.temporal.namespace,
    taskQueue: deps.taskQueue ?? config.temporal.taskQueue,
    ...(deps.only === 'activities' ? {} : deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    // A workflows-only worker still holds the activities: it runs its workflows' local ones, and polls for no others.
    activities: createActivities({ prisma: deps.prisma, dataDir: config.dataDir, workspaces: { dir: config.workspacesDir, user: leafUser }, leaf: config.leaf }),
    ...(deps.only === 'workflows' ? { enableNonLocalActivities: false } : {}),
    // Every activity error becomes a failure whose text is ours (infrastructure: retryable; unexpected: a logged reference).
    interceptors: { activity: [activityErrorBoundary(deps.logger)] },
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    // A workflow task the worker has taken counts against its 10 s timeout
    // while it waits for the (single) workflow thread: take only as many as
    // it can run promptly, and leave the rest queued on the server.
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    // Executions kept in memory between tasks (the sticky cache): a fixed
    // number, so the worker's memory does not grow with the runs waiting for a
    // person. The SDK's default grows with the heap limit (2,310 on a 4 GB
    // heap); an evicted execution replays its history on its next task.
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    // One V8 context shared by every workflow (the SDK's default, stated):
    // a workflow costs its own state, not a context of its own.
    reuseV8Context: true,
    // Heartbeats carry cancellation to a running command: send them at least
    // every second (the SDK's default throttle is most of the heartbeat timeout).
    maxHeartbeatThrottleInterval: '1 second',
    // Running commands get this long to finish on shutdown; then they are
    // cancelled and retried by another worker (see runLeaf).
    shutdownGraceTime: '10 seconds',
  });
}

/** Connects to Temporal, retrying while it comes up (a worker may start first). */
export async function connectWorker(address: string, logger: Logger, timeoutMs = 60_000): Promise<NativeConnection> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await NativeConnection.connect({ address });
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`cannot reach Temporal at ${address}: ${(err as Error).message}`, { cause: err });
      }
      if (attempt === 1) logger.warn({ address }, 'waiting for Temporal');
      // Backs off (0.5 s doubling to 5 s): a down server is not hammered.
      await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** (attempt - 1), 5000)));
    }
  }
}

let runtimeInstalled = false;
/** Bucket bounds (ms) of the workflow latency histograms: a 1 s bound shows whether any activation came near the sandbox's limit. */
const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

/**
 * Routes the Temporal SDK's own logs through ours (once per process). With
 * `ownSignals`, the SDK leaves SIGINT/SIGTERM alone: the caller orders shutdown.
 * With `metricsAddress` (WORKER_METRICS_ADDRESS), the SDK's metrics, such as
 * workflow activation and activity latencies, are served for Prometheus at
 * `http://<address>/metrics`.
 */
export function installTemporalRuntime(logger: Logger, options: { ownSignals?: boolean; metricsAddress?: string } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    ...(options.ownSignals ? { shutdownSignals: [] } : {}),
    ...(options.metricsAddress
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: {
                bindAddress: options.metricsAddress,
                histogramBucketOverrides: {
                  workflow_activation_execution_latency: LATENCY_BUCKETS_MS,
                  workflow_task_execution_latency: LATENCY_BUCKETS_MS,
                },
              },
            },
          },
        }
      : {}),
    logger: new DefaultLogger('WARN', (entry) => {
      const level = entry.level === 'ERROR' ? 'error' : 'warn';
      logger[level]({ ...(entry.meta ?? {}) }, entry.message);
    }),
  });
}
