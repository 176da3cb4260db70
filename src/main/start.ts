// `npm start`: the whole stack on one machine. Postgres (embedded unless
// DATABASE_URL is set), the Temporal dev server with its Web UI (unless
// TEMPORAL_ADDRESS is set), migrations, then the worker and the API, each in
// its own process, every one of them kept running (supervisor.ts): one that
// dies is started again; one that cannot be stops everything (exit 1).
// Ctrl-C stops everything in order, each step bounded, and waits for every
// child to exit. Pid files under
// <data dir>/run let the next start stop whatever a killed one left behind.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { resolveLeafUser } from '../activities/leafUser';
import { loadConfig, temporalAddress, temporalUiUrl, workerNodeArgs } from '../config';
import { createPrisma } from '../db/client';
import { migrate } from '../db/migrate';
import { ensureLocalAdminToken } from '../services/tokens';
import { secureDataDir } from '../dev/dataDir';
import { readLocalTokenFile } from '../dev/localToken';
import { embeddedPostgresUser, ensureAppRole, recordEmbeddedPort, startEmbeddedPostgres, type TEmbeddedPostgres } from '../dev/embeddedPostgres';
import { commandLineOf, portInUse, readPidFile, stopOrphans, writePidFile } from '../dev/managedProcess';
import { ensureTemporalCli } from '../dev/temporalCli';
import { startTemporalDevServer, type TDevServer } from '../dev/temporalDevServer';
import { withTimeout } from '../lib/withTimeout';
import { createLogger } from '../logger';
import { ensureSearchAttributes } from '../temporal/namespace';
import { RELAYED_SIGNAL_WINDOW_MS, runMain } from './bootstrap';
import { superviseNodeChild, superviseService, type TSupervised } from './supervisor';

/** What each pid file's process must still be running for a later start to stop it as an orphan. */
const ORPHAN_MATCHERS: Record<string, (commandLine: string) => boolean> = {
  postgres: (cmd) => /postgres/.test(cmd) && cmd.includes(' -D '),
  temporal: (cmd) => cmd.includes('server start-dev'),
  worker: (cmd) => cmd.includes('main/worker.ts'),
  api: (cmd) => cmd.includes('main/api.ts'),
};

/** Start-up stops here when a stop began while it was under way. */
const STOPPED_DURING_START = Object.assign(new Error('stopped during start-up'), { code: 'STOPPED_DURING_START' });

/** Longest any one shutdown step may take before we move on to the next. */
const STOP_STEP_TIMEOUT_MS = 30_000; // above every child's own stop grace (Postgres: 20s)

async function main(): Promise<void> {
  const startedAt = Date.now();
  const config = loadConfig();
  // Before anything starts: a LEAF_USER the worker could not switch to would stop the stack anyway.
  if (config.leaf.user) await resolveLeafUser(config.leaf.user);
  const logger = createLogger(config.log.level);
  const say = (message: string): void => console.log(`reprise: ${message}`);
  const runDir = path.join(config.dataDir, 'run');
  const logDir = path.join(config.dataDir, 'logs');
  const startPidFile = path.join(runDir, 'start.pid');

  // One npm start per data directory. A dead one's children are stopped first.
  const previous = readPidFile(startPidFile);
  if (previous && previous.pid !== process.pid && commandLineOf(previous.pid)?.includes('main/start.ts')) {
    throw Object.assign(new Error(`Reprise is already running from ${config.dataDir} (npm start, pid ${previous.pid}). Stop it first (Ctrl-C in its terminal, or kill ${previous.pid}).`), {
      code: 'ALREADY_RUNNING',
    });
  }
  // Closed before anything is written in it: the embedded Postgres's user may pass through, nobody else.
  await secureDataDir(config.dataDir, config.databaseUrl ? undefined : await embeddedPostgresUser());
  const orphans = await stopOrphans(runDir, (name, cmd) => ORPHAN_MATCHERS[name]?.(cmd) ?? false);
  for (const o of orphans) say(`stopped the ${o.name} (pid ${o.pid}) an earlier npm start left running when it was killed`);
  writePidFile(startPidFile, process.pid, 'start');
  process.once('exit', () => rmSync(startPidFile, { force: true }));

  // Everything started so far, stopped in reverse order.
  const stops: { name: string; stop: () => Promise<void>; hold?: () => void }[] = [];
  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      say(`stopping (${reason})…`);
      // Nothing is started again once a stop has begun (Postgres, stopped last, must not come back meanwhile).
      for (const { hold } of stops) hold?.();
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
  /**
   * Registers what was just started, to be stopped in reverse order. A stop
   * that began meanwhile (Ctrl-C, or a fatal error, during start-up) has
   * already passed it by: it is stopped at once and start-up goes no further,
   * so nothing is left to the exit hook's SIGKILL.
   */
  const register = async (entry: (typeof stops)[number]): Promise<void> => {
    if (!stopping) {
      stops.push(entry);
      return;
    }
    entry.hold?.();
    await withTimeout(entry.stop(), STOP_STEP_TIMEOUT_MS).catch((err: unknown) => logger.warn({ err }, `stopping ${entry.name} failed; going on`));
    throw STOPPED_DURING_START;
  };
  // A process that cannot be started again: stop the rest rather than run half a stack.
  let fatalReason: string | undefined;
  const fatal = (reason: string): void => {
    if (fatalReason) return;
    fatalReason = reason;
    console.error(`reprise: giving up: ${reason}`);
    void shutdown(`giving up: ${reason}`).then(() => process.exit(1));
  };
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
      const pgOptions = {
        dataDir: config.dataDir,
        port: config.embeddedPostgresPort,
        log: say,
        logFile: path.join(logDir, 'postgres.log'),
        pidFile: path.join(runDir, 'postgres.pid'),
      };
      const pg: TEmbeddedPostgres = await startEmbeddedPostgres(pgOptions);
      const supervised = superviseService('embedded Postgres', pg, () => startEmbeddedPostgres({ ...pgOptions, existing: true }), {
        say,
        onFatal: fatal,
        logFile: pgOptions.logFile,
      });
      await register({ name: 'postgres', ...supervised });
      // For `reprise token create` and `npm run migrate` started without our EMBEDDED_PG_PORT.
      process.once('exit', recordEmbeddedPort(config.dataDir, config.embeddedPostgresPort));
      // The superuser stops here: migrations, the API and the worker connect as the app's own role.
      databaseUrl = await ensureAppRole(pg.url, config.dataDir);
    }

    let devServer: TDevServer | undefined;
    if (!config.temporal.address) {
      const cliPath = await ensureTemporalCli({ env: { ...process.env, ...(config.temporal.cliPath ? { TEMPORAL_CLI: config.temporal.cliPath } : {}) }, log: say });
      say(`starting the Temporal dev server (${cliPath}; state in ${path.join(config.dataDir, 'temporal.db')})`);
      const devOptions = {
        cliPath,
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        dbFile: path.join(config.dataDir, 'temporal.db'),
        namespace: config.temporal.namespace,
        logFile: path.join(logDir, 'temporal.log'),
        pidFile: path.join(runDir, 'temporal.pid'),
      };
      devServer = await startTemporalDevServer(devOptions);
      const supervised = superviseService('Temporal dev server', devServer, () => startTemporalDevServer(devOptions), {
        say,
        onFatal: fatal,
        logFile: devOptions.logFile,
      });
      await register({ name: 'temporal', ...supervised });
    }

    const added = await ensureSearchAttributes(temporalAddress(config), config.temporal.namespace);
    if (added.length) say(`registered search attributes on namespace ${config.temporal.namespace}: ${added.join(', ')}`);

    const migrations = await migrate(databaseUrl, { log: say });
    if (!migrations.applied.length) say(`database schema is up to date (${migrations.alreadyApplied.length} migrations)`);

    const apiHost = config.api.host === '0.0.0.0' || config.api.host === '::' ? 'localhost' : config.api.host;
    const apiUrl = `http://${apiHost}:${config.api.port}`;
    // The quickstart's token: made once, kept under the data directory (0600), found by the CLI.
    const prisma = createPrisma(databaseUrl, { poolSize: 1, queryTimeoutMs: config.databaseQueryTimeoutMs });
    const localToken = await ensureLocalAdminToken(prisma, config.dataDir, apiUrl).finally(() => prisma.$disconnect());
    if (localToken.created) say(`created a local admin token in ${localToken.file} (mode 0600); the reprise CLI uses it for ${apiUrl}`);

    if (await portInUse(config.api.port)) {
      throw Object.assign(new Error(`API port ${config.api.port} is in use: set API_PORT to a free port (or stop what listens there)`), { code: 'CHILD_FAILED' });
    }
    // The worker and the API, each its own process, against what we started.
    const ui = devServer?.uiUrl ?? temporalUiUrl(config);
    const childEnv: NodeJS.ProcessEnv = {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress(config),
      ...(ui ? { TEMPORAL_UI_URL: ui } : {}),
    };
    if (stopping) throw STOPPED_DURING_START;
    const children: TSupervised[] = [];
    for (const [name, script] of [
      ['worker', 'src/main/worker.ts'],
      ['api', 'src/main/api.ts'],
    ] as const) {
      const nodeArgs = name === 'worker' ? workerNodeArgs(config) : [];
      children.push(superviseNodeChild(name, script, { env: childEnv, pidFile: path.join(runDir, `${name}.pid`), say, onFatal: fatal, nodeArgs }));
    }
    // Neither needs the other to stop: both at once, so a stop waits for the slower, not the sum.
    await register({
      name: 'worker and api',
      hold: () => children.forEach((child) => child.hold()),
      stop: () => Promise.all(children.map((child) => child.stop())).then(() => undefined),
    });
    const [worker, api] = children as [TSupervised, TSupervised];
    const apiUp = (async () => {
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        // Any answer from /healthz (200, or 503 naming what is down) means the API listens.
        if (await fetch(`${apiUrl}/healthz`).then(() => true, () => false)) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`the API did not answer at ${apiUrl} within 90s`);
    })();
    const failed = await Promise.race([apiUp.then(() => undefined), api.failedToStart, worker.failedToStart]);
    if (failed) throw Object.assign(new Error(`${failed} (its output is above)`), { code: 'CHILD_FAILED' });
    if (stopping) throw STOPPED_DURING_START;
    for (const child of children) child.ready();

    // The UI's sign-in link: the token rides in the fragment, which browsers never send to a server
    // (so it reaches no request log); the page takes it into its tab and out of the address bar.
    const token = readLocalTokenFile(localToken.file)?.token;
    const rows: [string, string][] = [
      ['UI', token ? `${apiUrl}/#token=${token}  (opens the web UI signed in)` : `${apiUrl}/`],
      ['API', apiUrl],
      ['OpenAPI', `${apiUrl}/api/openapi.json` + ` (docs: ${apiUrl}/api/docs)`],
      ['Token', `${localToken.file} (the reprise CLI reads it; for curl: export REPRISE_TOKEN=$(node -p 'require(${JSON.stringify(path.resolve(localToken.file))}).token'))`],
      ['Health', `${apiUrl}/healthz`],
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
    // A stop already under way ends the process itself (exit 0 for a signal, 1 when giving up).
    if (stopping) return stopping.then(() => new Promise<never>(() => undefined));
    await shutdown('start-up failed');
    throw err;
  }
}

runMain(main, 'reprise: could not start: ');
