// The bare Temporal baseline's worker process for `npm run bench`: what a
// user would run instead of Reprise's worker, with the same settings
// (WORKER_MAX_CONCURRENT_ACTIVITIES, WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
// WORKER_MAX_CACHED_WORKFLOWS, the heap limit passed by the bench, a pg pool
// of DATABASE_POOL_SIZE like Prisma's), polling BENCH_BARE_TASK_QUEUE.
// SIGTERM or SIGINT drains it (Worker.run's own handlers).
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { createBareActivities } from './bareActivities';

async function main(): Promise<void> {
  const config = loadConfig();
  const taskQueue = process.env.BENCH_BARE_TASK_QUEUE;
  if (!taskQueue) throw new Error('BENCH_BARE_TASK_QUEUE is not set');
  if (!config.databaseUrl || !config.temporal.address) throw new Error('DATABASE_URL and TEMPORAL_ADDRESS must be set');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const pool = new Pool({ connectionString: config.databaseUrl, max: config.databasePoolSize });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowsPath: require.resolve('./bareWorkflows'),
    activities: createBareActivities(pool),
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    reuseV8Context: true,
  });
  await worker.run();
  await connection.close();
  await pool.end();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
