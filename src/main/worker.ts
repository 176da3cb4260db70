// `npm run worker`: the Temporal worker alone, against a running Postgres and
// Temporal, so more can be added beside `npm start`'s.
import { temporalAddress } from '../config';
import { ensureSearchAttributes } from '../temporal/namespace';
import { connectWorker, createWorker, installTemporalRuntime } from './composeWorker';
import { boundedStep, bootstrap, runMain, stopOnSignal } from './bootstrap';

/**
 * A stop drains in-flight tasks for the worker's shutdown grace (createWorker's
 * shutdownGraceTime, 10 s), plus this margin for closing connections; then
 * the process exits whether or not Temporal or Postgres answered.
 */
const SHUTDOWN_GRACE_MS = 10_000;
const STOP_MARGIN_MS = 8000;

runMain(async () => {
  const { config, logger, prisma } = await bootstrap('reprise-worker');
  installTemporalRuntime(logger, { metricsAddress: config.worker.metricsAddress });
  const connection = await connectWorker(temporalAddress(config), logger);
  const added = await ensureSearchAttributes(temporalAddress(config), config.temporal.namespace);
  if (added.length) logger.info({ added }, 'registered search attributes');
  const worker = await createWorker({ config, prisma, connection, logger });
  logger.info({ taskQueue: config.temporal.taskQueue, address: temporalAddress(config) }, 'worker running');
  const log = (message: string): void => logger.warn(message);
  // Worker.run also installs SIGINT/SIGTERM handlers that start the drain.
  const running = worker.run();
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await boundedStep('closing the Temporal connection', () => connection.close(), 3000, log);
      await boundedStep('disconnecting from Postgres', () => prisma.$disconnect(), 3000, log);
    })());
  stopOnSignal(
    async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await close();
    },
    { deadlineMs: SHUTDOWN_GRACE_MS + STOP_MARGIN_MS, log },
  );
  await running;
  await close();
  // stdin may still be open (exitWithParent): nothing else is left to do.
  process.exit(0);
});
