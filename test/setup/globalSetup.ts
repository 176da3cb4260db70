import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Client } from 'pg';
import { migrate } from '../../src/db/migrate';
import { scratchDir, startScratchPostgres, startScratchTemporal, type TStops } from '../../src/dev/scratchServices';
import { ensureTemporalCli } from '../../src/dev/temporalCli';

/**
 * Starts (or reuses) the real services every test talks to:
 * - Postgres: the server in DATABASE_URL if set, else an embedded one of this
 *   run's own under the OS temp directory (reachable by the `postgres` user
 *   wherever the checkout lives; removed afterwards); a fresh database for
 *   this run, migrated by the same code path `npm start` uses.
 * - Temporal: TEMPORAL_ADDRESS if set, else a dev server from the Temporal CLI
 *   (found or built by src/dev/temporalCli.ts: never downloaded), in memory.
 * - The workflow bundle, built once and shared by every test worker.
 * Test files get them through REPRISE_TEST_* variables (test/support/env.ts).
 */

const root = path.resolve(__dirname, '../..');

/**
 * The Temporal dev server (or TEMPORAL_ADDRESS) and the workflow bundle:
 * what the workflows tier needs (test/setup/workflowsSetup.ts) and the
 * integration tier too.
 */
export async function startTemporalAndBundle(dataDir: string, stops: TStops): Promise<{ cliPath: string; temporalAddress: string; bundlePath: string }> {
  const cliPath = await ensureTemporalCli();
  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!temporalAddress) {
    temporalAddress = (await startScratchTemporal(stops, cliPath)).address;
  }

  const bundle = await bundleWorkflowCode({
    workflowsPath: path.join(root, 'src/workflows/index.ts'),
    logger: { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: console.warn, error: console.error, log: () => undefined },
  });
  const bundlePath = path.join(dataDir, `workflow-bundle-${process.pid}.js`);
  await writeFile(bundlePath, bundle.code);
  return { cliPath, temporalAddress, bundlePath };
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const dataDir = path.join(root, '.data', 'test');
  await mkdir(dataDir, { recursive: true });
  const state = globalThis as unknown as { __repriseStops?: TStops };
  // Another tier's setup may have run first in this jest process (`npx jest` with no path): keep its stops.
  state.__repriseStops ??= [];

  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const pgDir = await scratchDir('reprise-test-postgres-', state.__repriseStops);
    adminUrl = (await startScratchPostgres(pgDir, state.__repriseStops, 'postgres')).url;
  }
  const dbName = `reprise_test_${process.pid}_${Date.now()}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const testUrl = new URL(adminUrl);
  testUrl.pathname = `/${dbName}`;
  await migrate(testUrl.toString());
  state.__repriseStops.push(async () => {
    const c = new Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await c.end();
  });

  const { cliPath, temporalAddress, bundlePath } = await startTemporalAndBundle(dataDir, state.__repriseStops);

  process.env.REPRISE_TEST_ADMIN_DATABASE_URL = adminUrl;
  process.env.REPRISE_TEST_DATABASE_URL = testUrl.toString();
  process.env.REPRISE_TEST_TEMPORAL_ADDRESS = temporalAddress;
  process.env.REPRISE_TEST_TEMPORAL_CLI = cliPath;
  process.env.REPRISE_TEST_WORKFLOW_BUNDLE = bundlePath;
  console.log(`\ntest services ready in ${((Date.now() - started) / 1000).toFixed(1)}s (temporal ${temporalAddress})`);
}
