import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { quietTemporalRuntime, testEnv } from '../support/env';

/**
 * Replays every recorded history in test/histories against the current
 * workflow code. A change that would break running workflows (a reordered
 * activity, a new timer without versioning) fails here, not in production.
 *
 * Each file is named after the Temporal workflow type it holds
 * (`<type>-<scenario>.binpb`: pursueGoal-…, performRun-…, fireSchedule-…).
 * Record them with
 *   RECORD_HISTORIES=1 npx jest test/integration/engine.test.ts test/integration/goals.test.ts \
 *     test/integration/schedules.test.ts test/integration/workflows.test.ts
 * (test/support/histories.ts) and commit them with the change that made them.
 *
 * The versioning rule, for workflow code once anything runs it:
 * - A small change (an added, removed or reordered activity, timer or child)
 *   goes behind `patched('<name>')`, keeping the old path for executions
 *   started before it; once none of those can still be open,
 *   `deprecatePatch('<name>')`, and later the old path and the patch go. The
 *   histories recorded before the change stay and keep replaying.
 * - A choice a start can make goes in the workflow's input instead (a field
 *   only new starts carry, e.g. pursueGoal's `ownStepsLocal`, `leaf`): no
 *   marker in the history; executions started without it keep their path.
 *   Workers are then upgraded before whatever starts them.
 * - A rewrite gets a new workflow type name (new starts use it). The old
 *   type stays registered, with its histories here, while any execution of
 *   it may still be open: until the longest a goal may wait has passed since
 *   the release that stopped starting it. Then, after a release note, it and
 *   its histories may be removed.
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
    // A file's name says which workflow type it replays.
    const misnamed = histories
      .map(({ workflowId, history }) => ({ workflowId, type: history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?' }))
      .filter(({ workflowId, type }) => !workflowId.startsWith(`${type}-`))
      .map(({ workflowId, type }) => `${workflowId} holds ${type}`);
    expect(misnamed).toEqual([]);
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: testEnv.workflowBundle } }, histories)) {
      replayed += 1;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  });
});
