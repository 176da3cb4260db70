// `npm run api`: the HTTP API alone, against a running Postgres and Temporal.
import { startApi } from '../api/server';
import { temporalAddress } from '../config';
import { createTemporalClient } from '../temporal/client';
import { boundedStep, bootstrap, runMain, stopOnSignal } from './bootstrap';

/**
 * Each stop step is bounded, so a stop ends with Postgres or Temporal gone:
 * the server's close ends every connection after 5 s (server.ts), and a
 * disconnect from a dead database must not wait for it.
 */
const CLOSE_SERVER_MS = 8000;
const CLOSE_TEMPORAL_MS = 3000;
const DISCONNECT_DATABASE_MS = 3000;

runMain(async () => {
  const { config, logger, prisma } = await bootstrap('reprise-api');
  const temporal = createTemporalClient(temporalAddress(config), config.temporal.namespace);
  const api = await startApi({ config, prisma, temporal, logger });
  logger.info({ url: api.url }, 'API listening');
  const log = (message: string): void => logger.warn(message);
  stopOnSignal(
    async () => {
      await boundedStep('closing the HTTP server', () => api.close(), CLOSE_SERVER_MS, log);
      await boundedStep('closing the Temporal connection', () => temporal.connection.close(), CLOSE_TEMPORAL_MS, log);
      await boundedStep('disconnecting from Postgres', () => prisma.$disconnect(), DISCONNECT_DATABASE_MS, log);
    },
    { deadlineMs: CLOSE_SERVER_MS + CLOSE_TEMPORAL_MS + DISCONNECT_DATABASE_MS + 2000, log },
  );
});
