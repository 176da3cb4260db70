import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tallyLeaves } from '../faults/support/scenario';

/**
 * The fault suite's tally of leaf executions (test/faults/support/scenario.ts),
 * on marker files written here as markerPlan's leaves write them: the
 * launcher's parent and grandparent, then the ms the command ended. What it
 * decides is what the fault scenarios fail on, so it must tell a re-run its
 * worker's kill explains from one nothing explains, through the spawn helper.
 */
describe('the fault tally of leaf executions', () => {
  const WORKER_A = 4100;
  const HELPER_A = 4150;
  const WORKER_B = 4200;
  const HELPER_B = 4250;
  const TEST = 4000;
  const KILL_AT = 1_000_000;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'fault-tally-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const marker = (goal: string, ...lines: [number, number, number][]): void =>
    writeFileSync(path.join(dir, goal), lines.map((l) => `${l.join(' ')}\n`).join(''));
  const tally = (killed = [{ name: 'worker1', pid: WORKER_A, at: KILL_AT }]) =>
    tallyLeaves({ effectsDir: dir, killed, workerPids: new Set([WORKER_A, WORKER_B]) });

  it('excuses a re-run whose first run ended, through the killed worker\'s helper, just before that worker\'s kill', () => {
    marker('goal_a', [HELPER_A, WORKER_A, KILL_AT - 40], [HELPER_B, WORKER_B, KILL_AT + 10_600]);
    expect(tally()).toMatchObject({ leaves: 1, twice: [], unattributed: [], lostOutcomes: [expect.stringContaining(`worker pid ${WORKER_A} at ${KILL_AT - 40} (that worker SIGKILLed 40 ms later)`)] });
  });

  it('counts a re-run as executed twice when its first run ended long before the kill, or on a worker never killed', () => {
    marker('goal_early', [HELPER_A, WORKER_A, KILL_AT - 5000], [HELPER_B, WORKER_B, KILL_AT + 10_600]);
    marker('goal_survivor', [HELPER_B, WORKER_B, KILL_AT - 10], [HELPER_A, WORKER_A, KILL_AT - 5]);
    const { twice, lostOutcomes } = tally();
    expect(lostOutcomes).toEqual([]);
    expect(twice).toEqual([expect.stringContaining('goal_early: worker pid 4100'), expect.stringContaining(`goal_survivor: worker pid ${WORKER_B} at ${KILL_AT - 10} (that worker was not SIGKILLed)`)]);
  });

  it('takes the parent for the worker when it spawned the command itself, and the grandparent over a helper that reuses a dead worker\'s pid', () => {
    // Direct spawn: the parent is worker A, the grandparent the test process.
    marker('goal_direct', [WORKER_A, TEST, KILL_AT + 200], [HELPER_B, WORKER_B, KILL_AT + 10_600]);
    // Worker B's helper got dead worker A's pid: the line is worker B's, which was never killed.
    marker('goal_reused', [WORKER_A, WORKER_B, KILL_AT - 10], [HELPER_B, WORKER_B, KILL_AT + 10_600]);
    const { lostOutcomes, twice } = tally();
    expect(lostOutcomes).toEqual([expect.stringContaining('goal_direct')]);
    expect(twice).toEqual([expect.stringContaining(`goal_reused: worker pid ${WORKER_B}`)]);
  });

  it('excuses a line by any kill of a pid a later worker reused, not only the first', () => {
    marker('goal_a', [HELPER_A, WORKER_A, KILL_AT + 60_000], [HELPER_B, WORKER_B, KILL_AT + 70_000]);
    const killed = [
      { name: 'worker1', pid: WORKER_A, at: KILL_AT },
      { name: 'worker7', pid: WORKER_A, at: KILL_AT + 60_050 },
    ];
    expect(tally(killed)).toMatchObject({ twice: [], lostOutcomes: [expect.stringContaining('goal_a')] });
  });

  it('names every line that names no worker of the cluster (the process tree changed under the markers)', () => {
    marker('goal_lost', [HELPER_A, 1, KILL_AT - 5000]);
    expect(tally().unattributed).toEqual([`goal_lost: pids ${HELPER_A} 1 at ${KILL_AT - 5000}`]);
  });

  it('takes a line of a helper orphaned by its worker\'s kill (its command read init as its grandparent) for that kill\'s', () => {
    marker('goal_orphan', [HELPER_A, 1, KILL_AT + 400], [HELPER_B, WORKER_B, KILL_AT + 10_600]);
    marker('goal_late', [HELPER_A, 1, KILL_AT + 1500], [HELPER_B, WORKER_B, KILL_AT + 10_600]);
    const { unattributed, lostOutcomes, twice } = tally();
    expect(unattributed).toEqual([`goal_late: pids ${HELPER_A} 1 at ${KILL_AT + 1500}`]);
    expect(lostOutcomes).toEqual([expect.stringContaining(`goal_orphan: pids ${HELPER_A} 1 (a helper orphaned by a worker's kill) at ${KILL_AT + 400} (that worker SIGKILLed 400 ms before)`)]);
    expect(twice).toEqual([expect.stringContaining('goal_late')]);
  });

  it('judges a window\'s edges, and every earlier run of a leaf run three times', () => {
    marker('goal_edges', [HELPER_A, WORKER_A, KILL_AT - 100], [HELPER_A, WORKER_A, KILL_AT + 1000], [HELPER_B, WORKER_B, KILL_AT + 12_000]);
    marker('goal_past', [HELPER_A, WORKER_A, KILL_AT - 101], [HELPER_B, WORKER_B, KILL_AT + 12_000]);
    marker('goal_one_unexcused', [HELPER_A, WORKER_A, KILL_AT - 50], [HELPER_B, WORKER_B, KILL_AT + 11_000], [HELPER_B, WORKER_B, KILL_AT + 12_000]);
    const { lostOutcomes, twice } = tally();
    expect(lostOutcomes).toEqual([expect.stringContaining('goal_edges')]);
    expect(twice.map((t) => t.split(':')[0]).sort()).toEqual(['goal_one_unexcused', 'goal_past']);
  });
});
