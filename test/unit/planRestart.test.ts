import { FRESH_RESTART_STATE, planRestart, RESTART, type TRestartState } from '../../src/main/supervisor';

describe('planRestart', () => {
  const quickDeaths = (n: number): { delays: number[]; last: ReturnType<typeof planRestart> } => {
    let state: TRestartState = FRESH_RESTART_STATE;
    const delays: number[] = [];
    let last: ReturnType<typeof planRestart>;
    for (let i = 0; i < n; i++) {
      last = planRestart(state, 1000);
      if (!last) break;
      delays.push(last.delayMs);
      state = last.state;
    }
    return { delays, last };
  };

  it('backs off from 1 s, doubling, then gives up after maxFailures quick deaths in a row', () => {
    const { delays, last } = quickDeaths(RESTART.maxFailures + 1);
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000]);
    expect(last).toBeUndefined();
  });

  it('caps the backoff at 30 s', () => {
    const plan = planRestart({ backoffMs: 30_000, failures: 0 }, 0);
    expect(plan).toEqual({ delayMs: 30_000, state: { backoffMs: 30_000, failures: 1 } });
  });

  it('starts afresh after a process that ran a minute', () => {
    const plan = planRestart({ backoffMs: 16_000, failures: RESTART.maxFailures }, RESTART.healthyAfterMs);
    expect(plan).toEqual({ delayMs: 1000, state: { backoffMs: 2000, failures: 1 } });
  });
});
