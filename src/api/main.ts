// `npm run api`: the HTTP API alone, against a running Postgres and Temporal.
import { loadConfig, temporalAddress } from '../config';
import { createPrisma } from '../db/client';
import { migrate } from '../db/migrate';
import { embeddedDatabaseUrl } from '../dev/embeddedPostgres';
import { createLogger } from '../logger';
import { createTemporalClient } from '../services/temporal';
import { startApi } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.log.level, 'reprise-api');
  const databaseUrl = config.databaseUrl ?? (await embeddedDatabaseUrl(config));
  await migrate(databaseUrl, { log: (m) => logger.info(m) });
  const prisma = createPrisma(databaseUrl, config.databasePoolSize);
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
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
