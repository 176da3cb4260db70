// `npm start`: the whole stack on one machine. Postgres (embedded unless
// DATABASE_URL is set), the Temporal dev server with its Web UI (unless
// TEMPORAL_ADDRESS is set), migrations, the worker and the API. Ctrl-C stops
// everything in order and waits for every child to exit.
import path from 'node:path';
import { startApi, type TRunningApi } from '../api/server';
import { loadConfig, temporalAddress, temporalUiUrl } from '../config';
import { startEmbeddedPostgres, type TEmbeddedPostgres } from '../dev/embeddedPostgres';
import { ensureTemporalCli } from '../dev/temporalCli';
import { startTemporalDevServer, type TDevServer } from '../dev/temporalDevServer';
import { withTimeout } from '../lib/withTimeout';
import { createLogger } from '../logger';
import { createTemporalClient } from '../temporal/client';
import { ensureSearchAttributes } from '../temporal/namespace';
import { connectWorker, createWorker, installTemporalRuntime } from '../temporal/worker';
import { openDatabase, runMain } from './bootstrap';

/** Signals this soon after the first are relays of the same Ctrl-C. */
const RELAYED_SIGNAL_WINDOW_MS = 2000;
/** Longest any one shutdown step may take before we move on to the next. */
const STOP_STEP_TIMEOUT_MS = 30_000; // above every child's own stop grace (Postgres: 20s)

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
        const t = Date.now();
        try {
          // No step may hold up the rest: the children (Temporal, Postgres) stop last and must stop.
          await withTimeout(stop(), STOP_STEP_TIMEOUT_MS);
          logger.debug({ ms: Date.now() - t }, `stopped ${name}`);
        } catch (err) {
          logger.warn({ err }, `stopping ${name} failed; going on`);
        }
      }
      say('stopped');
    })());
  // One Ctrl-C reaches us several times (the terminal signals the whole group,
  // and npm and tsx relay it again), so a signal is never left to Node's
  // default handler, which would kill us mid-shutdown and orphan the children.
  // Repeats within a moment are those relays; a later one forces the stop.
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!firstSignalAt) {
      firstSignalAt = Date.now();
      void shutdown(signal === 'SIGINT' ? 'Ctrl-C' : signal).then(() => process.exit(0));
    } else if (Date.now() - firstSignalAt > RELAYED_SIGNAL_WINDOW_MS) {
      say('forced stop: killing every child process');
      process.exit(130); // managedProcess kills every live child on exit
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

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

    const { prisma, migrations } = await openDatabase(config, databaseUrl, say);
    if (!migrations.applied.length) say(`database schema is up to date (${migrations.alreadyApplied.length} migrations)`);
    stops.push({ name: 'prisma', stop: () => prisma.$disconnect() });

    installTemporalRuntime(logger, { ownSignals: true, metricsAddress: config.worker.metricsAddress });
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

runMain(main, 'reprise: could not start: ');
