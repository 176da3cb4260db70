// `npm start`: the whole stack on one machine. Postgres (embedded unless
// DATABASE_URL is set), the Temporal dev server with its Web UI (unless
// TEMPORAL_ADDRESS is set), migrations, the worker and the API. Ctrl-C stops
// everything in order and waits for every child to exit.
import path from 'node:path';
import { startApi, type TRunningApi } from './api/server';
import { ConfigError, loadConfig, temporalAddress, temporalUiUrl } from './config';
import { createPrisma, type PrismaClient } from './db/client';
import { migrate } from './db/migrate';
import { startEmbeddedPostgres, type TEmbeddedPostgres } from './dev/embeddedPostgres';
import { ensureTemporalCli } from './dev/temporalCli';
import { startTemporalDevServer, type TDevServer } from './dev/temporalDevServer';
import { createLogger } from './logger';
import { createTemporalClient, ensureSearchAttributes } from './services/temporal';
import { connectWorker, createWorker, installTemporalRuntime } from './worker';

async function main(): Promise<void> {
  const startedAt = Date.now();
  const config = loadConfig();
  const logger = createLogger(config.log.level);
  const say = (message: string): void => console.log(`reprise: ${message}`);

  // Everything started so far, stopped in reverse order.
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      say(`stopping (${reason})…`);
      for (const { name, stop } of [...stops].reverse()) {
        try {
          await stop();
        } catch (err) {
          logger.warn({ err }, `stopping ${name} failed`);
        }
      }
      say('stopped');
    })());
  process.once('SIGINT', () => void shutdown('Ctrl-C').then(() => process.exit(0)));
  process.once('SIGTERM', () => void shutdown('SIGTERM').then(() => process.exit(0)));

  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      say(`starting embedded Postgres (data in ${path.join(config.dataDir, 'postgres')}, port ${config.embeddedPostgresPort})`);
      const pg: TEmbeddedPostgres = await startEmbeddedPostgres({
        dataDir: config.dataDir,
        port: config.embeddedPostgresPort,
        log: say,
      });
      stops.push({ name: 'postgres', stop: pg.stop });
      databaseUrl = pg.url;
    }

    let devServer: TDevServer | undefined;
    if (!config.temporal.address) {
      const cliPath = await ensureTemporalCli({ env: { ...process.env, ...(config.temporal.cliPath ? { TEMPORAL_CLI: config.temporal.cliPath } : {}) }, log: say });
      say(`starting the Temporal dev server (${cliPath}; state in ${path.join(config.dataDir, 'temporal.db')})`);
      devServer = await startTemporalDevServer({
        cliPath,
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        dbFile: path.join(config.dataDir, 'temporal.db'),
        namespace: config.temporal.namespace,
      });
      stops.push({ name: 'temporal', stop: devServer.stop });
    }

    const added = await ensureSearchAttributes(temporalAddress(config), config.temporal.namespace);
    if (added.length) say(`registered search attributes on namespace ${config.temporal.namespace}: ${added.join(', ')}`);

    const applied = await migrate(databaseUrl, { log: say });
    if (!applied.applied.length) say(`database schema is up to date (${applied.alreadyApplied.length} migrations)`);

    const prisma: PrismaClient = createPrisma(databaseUrl, config.databasePoolSize);
    stops.push({ name: 'prisma', stop: () => prisma.$disconnect() });

    installTemporalRuntime(logger, { ownSignals: true });
    const connection = await connectWorker(temporalAddress(config), logger);
    stops.push({ name: 'temporal connection', stop: () => connection.close() });
    const worker = await createWorker({ config, prisma, connection, logger });
    const workerRun = worker.run();
    stops.push({
      name: 'worker (drain)',
      stop: async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await workerRun.catch(() => undefined);
      },
    });
    workerRun.catch((err: unknown) => {
      logger.error({ err }, 'the worker stopped');
      void shutdown('worker failed').then(() => process.exit(1));
    });

    const temporal = createTemporalClient(temporalAddress(config), config.temporal.namespace);
    stops.push({ name: 'temporal client', stop: () => temporal.connection.close() });
    const api: TRunningApi = await startApi({ config, prisma, temporal, logger });
    stops.push({ name: 'api', stop: api.close });

    const ui = devServer?.uiUrl ?? temporalUiUrl(config);
    const rows: [string, string][] = [
      ['API', api.url],
      ['OpenAPI', `${api.url}/api/openapi.json`],
      ['Health', `${api.url}/healthz`],
      ['Temporal Web UI', ui ?? '(external Temporal: set TEMPORAL_UI_URL to show it here)'],
      ['Temporal frontend', temporalAddress(config)],
      ['Postgres', config.databaseUrl ? '(DATABASE_URL)' : `embedded on 127.0.0.1:${config.embeddedPostgresPort}`],
    ];
    console.log(
      `\nReprise is up in ${((Date.now() - startedAt) / 1000).toFixed(1)}s. Ctrl-C stops everything.\n\n` +
        rows.map(([k, v]) => `  ${k.padEnd(18)} ${v}`).join('\n') +
        '\n',
    );
  } catch (err) {
    await shutdown('start-up failed');
    throw err;
  }
}

/** Errors whose message is the whole story; anything else gets its stack. */
const EXPLAINED = ['CONFIG_INVALID', 'MIGRATION_FAILED', 'TEMPORAL_CLI_MISSING', 'EMBEDDED_POSTGRES_FAILED', 'DEV_SERVER_FAILED'];

main().catch((err: unknown) => {
  const known = err instanceof ConfigError || EXPLAINED.includes(String((err as { code?: unknown })?.code));
  console.error(`reprise: could not start: ${err instanceof Error ? (known ? err.message : err.stack) : String(err)}`);
  process.exit(1);
});
