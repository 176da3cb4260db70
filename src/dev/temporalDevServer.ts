import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeCliArgs } from '../domain/searchAttributes';
import { portInUse, spawnManaged, waitUntilReady, type TManagedProcess } from './managedProcess';

/**
 * The Temporal server settings Reprise wants that differ from the server's
 * defaults: given to the dev server as flags here, and to the compose
 * cluster by docker/temporal-dynamicconfig.yaml (a test keeps the two equal).
 * - Eager activities: an activity a workflow task schedules goes back to the
 *   worker in the task's completion, not through the task queue (about 30 ms
 *   a step on the dev server). The SDK asks for it by default and Temporal
 *   Cloud enables it; the open-source server's default (false) is changing
 *   upstream (temporalio/temporal#10628). Set it on a cluster of your own.
 */
export const TEMPORAL_DYNAMIC_CONFIG: Readonly<Record<string, boolean>> = { 'system.enableActivityEagerExecution': true };

/**
 * Runs `temporal server start-dev`: a whole Temporal server on SQLite with the
 * Web UI, our search attributes registered at start. With `dbFile` its state
 * survives restarts (npm start); without, it lives in memory (tests).
 */
export interface TDevServerOptions {
  cliPath: string;
  port: number;
  /** Web UI port; `undefined` runs it headless. */
  uiPort?: number;
  httpPort?: number;
  metricsPort?: number;
  dbFile?: string;
  namespace: string;
  /** Durability of the SQLite file: NORMAL survives a crash of the server; OFF is for tests. */
  synchronous?: 'NORMAL' | 'OFF';
  startTimeoutMs?: number;
  /** Its output goes here instead of a pipe (npm start: it must survive us). */
  logFile?: string;
  pidFile?: string;
}

export class DevServerError extends Error {
  readonly code = 'DEV_SERVER_FAILED';
  /** `permanent`: starting again cannot help (its port is taken); a supervisor gives up. */
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
  }
}

export interface TDevServer {
  address: string;
  uiUrl: string | undefined;
  process: TManagedProcess;
  stop(): Promise<void>;
}

async function namespaceReady(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await connection.withDeadline(Date.now() + 2000, () => connection.workflowService.describeNamespace({ namespace }));
    return true;
  } finally {
    await connection.close();
  }
}

export async function startTemporalDevServer(options: TDevServerOptions): Promise<TDevServer> {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--log-level',
    'warn',
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    `synchronous=${options.synchronous ?? 'NORMAL'}`,
    ...Object.entries(TEMPORAL_DYNAMIC_CONFIG).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]),
    ...searchAttributeCliArgs(),
  ];
  if (options.namespace !== 'default') args.push('--namespace', options.namespace);
  if (options.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  if (options.httpPort !== undefined) args.push('--http-port', String(options.httpPort));
  if (options.metricsPort !== undefined) args.push('--metrics-port', String(options.metricsPort));
  if (options.dbFile) {
    await mkdir(path.dirname(options.dbFile), { recursive: true, mode: 0o700 });
    args.push('--db-filename', options.dbFile);
  }

  const address = `127.0.0.1:${options.port}`;
  // Checked before we start ours: an old server still answering on the port would otherwise look like ours coming up.
  for (const port of [options.port, options.uiPort].filter((p): p is number => p !== undefined)) {
    if (await portInUse(port)) {
      throw new DevServerError(
        `The Temporal dev server cannot use port ${port}: something already listens there. ` +
          'Is another Reprise (or Temporal server) running? Stop it, set TEMPORAL_DEV_PORT/TEMPORAL_UI_PORT to free ports, ' +
          'or use the running server with TEMPORAL_ADDRESS=host:port.',
        true,
      );
    }
  }
  // Orphaned (npm start SIGKILLed), it stops as its own stop does (SIGTERM).
  // Under umask 077: its SQLite files (temporal.db, -wal, -shm) hold every run's titles and inputs.
  const proc = spawnManaged('temporal', options.cliPath, args, { logFile: options.logFile, pidFile: options.pidFile, parentDeathSignal: 'SIGTERM', umask: 0o077 });
  try {
    await waitUntilReady(proc, () => namespaceReady(address, options.namespace), options.startTimeoutMs ?? 60_000, 'The Temporal dev server');
  } catch (err) {
    const tail = proc.outputTail();
    if (/address already in use/i.test(tail)) {
      throw new DevServerError(
        `The Temporal dev server could not bind port ${options.port}: it is in use. ` +
          'Is another Reprise (or Temporal server) running? Stop it, set TEMPORAL_DEV_PORT/TEMPORAL_UI_PORT to free ports, ' +
          'or use the running server with TEMPORAL_ADDRESS=host:port.',
        true,
      );
    }
    throw new DevServerError((err as Error).message);
  }
  return {
    address,
    uiUrl: options.uiPort === undefined ? undefined : `http://localhost:${options.uiPort}`,
    process: proc,
    stop: () => proc.stop('SIGTERM', 15_000),
  };
}
