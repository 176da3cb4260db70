// `npm run api`: the HTTP API alone, against a running Postgres and Temporal.
import { startApi } from '../api/server';
import { temporalAddress } from '../config';
import { createTemporalClient } from '../temporal/client';
import { bootstrap, exitWithParent, runMain } from './bootstrap';

runMain(async () => {
  const { config, logger, prisma } = await bootstrap('reprise-api');
  const temporal = createTemporalClient(temporalAddress(config), config.temporal.namespace);
  const api = await startApi({ config, prisma, temporal, logger });
  logger.info({ url: api.url }, 'API listening');
  let stopping = false;
  const stop = async (): Promise<void> => {
    // A Ctrl-C arrives more than once (terminal group signal, npm/tsx relays):
    // stop once, and never fall back to Node's default of dying mid-close.
    if (stopping) return;
    stopping = true;
    await api.close();
    await temporal.connection.close();
    await prisma.$disconnect();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  exitWithParent(() => void stop());
});
