// `npm run worker`: the Temporal worker alone, against a running Postgres and
// Temporal, so more can be added beside `npm start`'s.
import { temporalAddress } from '../config';
import { ensureSearchAttributes } from '../temporal/namespace';
import { connectWorker, createWorker, installTemporalRuntime } from './composeWorker';
import { bootstrap, exitWithParent, runMain } from './bootstrap';

runMain(async () => {
  const { config, logger, prisma } = await bootstrap('reprise-worker');
  installTemporalRuntime(logger, { metricsAddress: config.worker.metricsAddress });
  const connection = await connectWorker(temporalAddress(config), logger);
  const added = await ensureSearchAttributes(temporalAddress(config), config.temporal.namespace);
  if (added.length) logger.info({ added }, 'registered search attributes');
  const worker = await createWorker({ config, prisma, connection, logger });
  logger.info({ taskQueue: config.temporal.taskQueue, address: temporalAddress(config) }, 'worker running');
  exitWithParent(() => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  });
  // Worker.run installs SIGINT/SIGTERM handlers that drain in-flight tasks.
  await worker.run();
  await connection.close();
  await prisma.$disconnect();
  // stdin may still be open (exitWithParent): nothing else is left to do.
  process.exit(0);
});
