import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import pino from 'pino';
import { createApp } from '../../src/api/app';
import { DEFAULT_DATABASE_QUERY_TIMEOUT_S, loadConfig, type TConfig } from '../../src/config';
import { createPrisma, type PrismaClient } from '../../src/db/client';
import type { TEngineTuning } from '../../src/domain/execution';
import type { TScheduleLimits } from '../../src/domain/schedules';
import { createTemporalClient } from '../../src/temporal/client';
import { createWorker } from '../../src/main/composeWorker';
import { createTokenDirect } from '../../src/services/tokens';

/** What globalSetup started, for test files. */
export const testEnv = {
  get databaseUrl(): string {
    return required('REPRISE_TEST_DATABASE_URL');
  },
  get adminDatabaseUrl(): string {
    return required('REPRISE_TEST_ADMIN_DATABASE_URL');
  },
  get temporalAddress(): string {
    return required('REPRISE_TEST_TEMPORAL_ADDRESS');
  },
  get temporalCli(): string {
    return required('REPRISE_TEST_TEMPORAL_CLI');
  },
  get workflowBundle(): string {
    return required('REPRISE_TEST_WORKFLOW_BUNDLE');
  },
};

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests through jest (globalSetup prepares it)`);
  return value;
}

export const silentLogger = pino({ level: 'silent' });

/** A task queue no other test file uses. */
export function uniqueTaskQueue(name: string): string {
  return `test-${name}-${randomBytes(4).toString('hex')}`;
}

export function testConfig(overrides: NodeJS.ProcessEnv = {}): TConfig {
  return loadConfig({
    DATABASE_URL: testEnv.databaseUrl,
    TEMPORAL_ADDRESS: testEnv.temporalAddress,
    REPRISE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'reprise-test-data-')),
    // Its own, outside the data directory as loadConfig requires (the default would be the checkout's .workspaces).
    WORKSPACES_DIR: mkdtempSync(path.join(tmpdir(), 'reprise-test-workspaces-')),
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}

/** Keeps the SDK's INFO chatter out of test output (once per test process). */
export function quietTemporalRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed in this process
  }
}

/** A worker on its own task queue, running until `stop()`; `only` makes it poll workflow or activity tasks alone. */
export async function startTestWorker(config: TConfig, prisma: PrismaClient, taskQueue: string, only?: 'workflows' | 'activities') {
  quietTemporalRuntime();
  // The shared dev server unless the test's config names its own (a test that stops and restarts it).
  const connection = await NativeConnection.connect({ address: config.temporal.address ?? testEnv.temporalAddress });
  const worker: Worker = await createWorker({
    config,
    prisma,
    connection,
    logger: silentLogger,
    taskQueue,
    workflowBundle: { codePath: testEnv.workflowBundle },
    only,
  });
  const running = worker.run();
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** The API app (in process) on a free port, with a real Temporal client. */
export async function startTestApi(
  prisma: PrismaClient,
  taskQueue: string,
  options: { temporalAddress?: string; bodyLimit?: string; engine?: TEngineTuning; leafDefaultTimeoutS?: number; crashAfterClaim?: () => boolean; scheduleLimits?: TScheduleLimits } = {},
) {
  const temporal = createTemporalClient(options.temporalAddress ?? testEnv.temporalAddress, 'default');
  const connection = temporal.connection;
  const created = createApp({
    prisma,
    temporal,
    logger: silentLogger,
    taskQueue,
    bodyLimit: options.bodyLimit ?? '1mb',
    temporalUi: { baseUrl: 'http://localhost:8233', namespace: 'default' },
    engine: options.engine,
    leafDefaultTimeoutS: options.leafDefaultTimeoutS,
    crashAfterClaim: options.crashAfterClaim,
    scheduleLimits: options.scheduleLimits,
  });
  const server = await new Promise<Server>((resolve) => {
    const s = created.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  // The local user's admin token: `http()` sends it to this API unless a test passes its own Authorization.
  // Made through its own client: some tests give the API a Prisma that cannot reach Postgres.
  const tokenPrisma = testPrisma();
  const { secret: token } = await createTokenDirect(tokenPrisma, { user: 'local' }, { name: `test api ${port}`, scopes: ['admin'] }).finally(() => tokenPrisma.$disconnect());
  API_TOKENS.set(url, token);
  return {
    url,
    token,
    temporal,
    openapi: created.openapi,
    routes: created.routes,
    app: created.app,
    async close() {
      API_TOKENS.delete(url);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await connection.close();
    },
  };
}

export function testPrisma(url = testEnv.databaseUrl, queryTimeoutMs = DEFAULT_DATABASE_QUERY_TIMEOUT_S * 1000): PrismaClient {
  return createPrisma(url, { poolSize: 5, queryTimeoutMs });
}

/** A fresh, empty database on the test server; `drop()` removes it. */
export async function scratchDatabase(label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `reprise_scratch_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new PgClient({ connectionString: testEnv.adminDatabaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(testEnv.adminDatabaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new PgClient({ connectionString: testEnv.adminDatabaseUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string | (() => string), timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}${last ? `: ${String(last)}` : ''}`);
}

/** Each test API's token (by its base URL), sent by `http()` unless a test gives its own Authorization. */
const API_TOKENS = new Map<string, string>();

/** The Authorization header of the test API a URL belongs to ({} for any other). */
export function authFor(url: string): Record<string, string> {
  const token = API_TOKENS.get(new URL(url).origin);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** JSON over HTTP; to a test API, with its token unless `headers` carry an `authorization` (empty: none). */
export async function http(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const given = Object.keys(headers).find((h) => h.toLowerCase() === 'authorization');
  const auth = given === undefined ? authFor(url) : headers[given] ? { authorization: headers[given] } : {};
  const rest = Object.fromEntries(Object.entries(headers).filter(([h]) => h.toLowerCase() !== 'authorization'));
  const res = await fetch(url, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...rest, ...auth },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;  
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}
