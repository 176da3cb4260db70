import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { quietTemporalRuntime, testEnv } from '../support/env';

/**
 * Replays every recorded history in test/histories against the current
 * workflow code. A change that would break running workflows (a reordered
 * activity, a new timer without versioning) fails here, not in production.
 * Record new histories with `RECORD_HISTORIES=1 npx jest test/integration`
 * (test/support/histories.ts); commit them with the change that made them.
 * Histories of earlier workflow versions stay (prefixed `v1-`, …): runs
 * started by that code may still be in flight, so it must keep replaying.
 */
const dir = path.resolve(__dirname, '../histories');

describe('replay recorded histories', () => {
  it('replays each without a determinism error', async () => {
    quietTemporalRuntime();
    const files = (await readdir(dir)).filter((f) => f.endsWith('.binpb')).sort();
    expect(files.length).toBeGreaterThan(0);
    const histories = await Promise.all(
      files.map(async (file) => ({
        workflowId: path.basename(file, '.binpb'),
        history: temporal.api.history.v1.History.decode(await readFile(path.join(dir, file))),
      })),
    );
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: testEnv.workflowBundle } }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
