import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { TStops } from '../../src/dev/scratchServices';
import { startTemporalAndBundle } from './globalSetup';

/**
 * The workflows tier's services: a Temporal dev server (or TEMPORAL_ADDRESS)
 * and the workflow bundle. No Postgres: its tests register in-memory
 * activities (test/workflows/fakeActivities.ts), so what they assert is the
 * workflows' own logic.
 */
export default async function workflowsSetup(): Promise<void> {
  const started = Date.now();
  const dataDir = path.resolve(__dirname, '../../.data/test');
  await mkdir(dataDir, { recursive: true });
  const state = globalThis as unknown as { __repriseStops?: TStops };
  state.__repriseStops ??= [];
  const { cliPath, temporalAddress, bundlePath } = await startTemporalAndBundle(dataDir, state.__repriseStops);
  process.env.REPRISE_TEST_TEMPORAL_ADDRESS = temporalAddress;
  process.env.REPRISE_TEST_TEMPORAL_CLI = cliPath;
  process.env.REPRISE_TEST_WORKFLOW_BUNDLE = bundlePath;
  console.log(`\nworkflow test services ready in ${((Date.now() - started) / 1000).toFixed(1)}s (temporal ${temporalAddress})`);
}
