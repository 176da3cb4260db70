import { nestedRunProblems, planFootprint, runSizeProblems, type TPlanFootprint } from '../../src/domain/planSize';
import { validatePlan, type TAgentLimits, type TPlan } from '../../src/domain/plans';
import { atError, cronMinimumGapMs, firesInRange, minimumGapMs, sixtyField } from '../../src/domain/schedules';

/** Quotas (issue 17, finding 5), the pure part: nested runs' size and depth, how often a spec can fire, a backfill's count. */

const leaf = (key: string) => ({ key, kind: 'leaf' as const, title: key, action: { runtime: 'manual' as const } });
const ref = (key: string, workflow: string) => ({ key, kind: 'composite' as const, title: key, workflow });
const composite = (key: string, plan: TPlan) => ({ key, kind: 'composite' as const, title: key, plan });
const plan = (...children: TPlan['children']): TPlan => ({ children, edges: [] });
const limits = (over: Partial<TAgentLimits> = {}): TAgentLimits => ({ maxDepth: 8, maxChildren: 100, maxGoals: 1000, allowedRuntimes: ['manual'], ...over });

describe('nested runs count in max_goals and max_depth', () => {
  // inner@1: three leaves under a composite (4 goals below its root, 2 levels).
  const refs = new Map<string, TPlanFootprint>([['inner@1', { goals: 4, depth: 2 }]]);
  const outer = plan(leaf('a'), composite('c', plan(ref('r', 'inner@1'))));

  it('adds what a referenced version brings under the child that runs it', () => {
    expect(planFootprint(outer, refs)).toEqual({ goals: 1 + 1 + 1 + 4, depth: 4 });
    // Unknown references (refused elsewhere) bring nothing.
    expect(planFootprint(outer, new Map())).toEqual({ goals: 3, depth: 2 });
    expect(planFootprint(null, refs)).toEqual({ goals: 0, depth: 0 });
  });

  it('reports only what the nested runs break (validatePlan reports the rest)', () => {
    // 1 existing + 3 own goals fit in 5; with inner's 4 they do not.
    expect(validatePlan(outer, limits({ maxGoals: 5 }), 0, 1)).toEqual([]);
    expect(nestedRunProblems(outer, refs, limits({ maxGoals: 5 }), 0, 1)).toEqual([
      expect.objectContaining({ rule: 'max_goals', message: expect.stringMatching(/nested runs, the tree would have 8 goals; the agent allows at most 5/) }),
    ]);
    // r is at depth 2; inner goes 2 below it: depth 4 > 3.
    expect(nestedRunProblems(outer, refs, limits({ maxDepth: 3 }), 0, 1)).toEqual([
      { rule: 'max_depth', path: 'children[1].plan.children[0].workflow', message: expect.stringMatching(/runs workflow inner@1.*depth 4 exceeds the agent's maximum depth of 3/) },
    ]);
    // Within limits, or already past them without the nested runs: nothing more to say.
    expect(nestedRunProblems(outer, refs, limits(), 0, 1)).toEqual([]);
    expect(nestedRunProblems(outer, refs, limits({ maxGoals: 2 }), 0, 1)).toEqual([]);
    expect(nestedRunProblems(outer, refs, limits({ maxDepth: 1 }), 0, 1)).toEqual([]);
  });

  it("checks a run's whole tree against its agent's limits as they are now", () => {
    expect(runSizeProblems(outer, refs, limits())).toEqual([]);
    expect(runSizeProblems(outer, refs, limits({ maxGoals: 7, maxDepth: 3 })).map((p) => p.rule)).toEqual(['max_goals', 'max_depth']);
  });
});

describe('how often a schedule can fire', () => {
  it('reads the seconds and minutes fields of a cron string', () => {
    expect(sixtyField('*/15')).toEqual([0, 15, 30, 45]);
    expect(sixtyField('5,10-12,50/5')).toEqual([5, 10, 11, 12, 50, 55]);
    expect(sixtyField('L')).toBeUndefined();
    expect(sixtyField('61')).toBeUndefined();
  });

  it('bounds the gap between fires from below', () => {
    expect(minimumGapMs({ every: '90s' })).toBe(90_000);
    expect(minimumGapMs({ at: '2030-01-01T00:00:00Z' })).toBe(Infinity);
    expect(cronMinimumGapMs('* * * * *')).toBe(60_000);
    expect(cronMinimumGapMs('*/5 * * * *')).toBe(300_000);
    expect(cronMinimumGapMs('0,50 * * * *')).toBe(600_000);
    expect(cronMinimumGapMs('0 8 * * 1-5')).toBe(3_600_000);
    expect(cronMinimumGapMs('0 8 * * * 2030')).toBe(3_600_000);
    expect(cronMinimumGapMs('*/10 * * * * * *')).toBe(10_000);
    expect(cronMinimumGapMs('30 0 8 * * * *')).toBe(3_600_000);
    expect(cronMinimumGapMs('@every 30s')).toBe(30_000);
    // Every unit of a Go duration counts, not only the last (review r5 #4).
    expect(cronMinimumGapMs('@every 1h30m')).toBe(5_400_000);
    expect(cronMinimumGapMs('@every 1h30m/15m')).toBe(5_400_000);
    expect(cronMinimumGapMs('@every 1.5h')).toBe(5_400_000);
    expect(cronMinimumGapMs('@every 2m30s')).toBe(150_000);
    expect(cronMinimumGapMs('@every 1h30x')).toBe(1000);
    expect(cronMinimumGapMs('@daily')).toBe(3_600_000);
    expect(cronMinimumGapMs('CRON_TZ=Europe/Paris */2 * * * * # every other minute')).toBe(120_000);
    // What it cannot read it takes at its most frequent.
    expect(cronMinimumGapMs('? * * * * * *')).toBe(1000);
    expect(cronMinimumGapMs('L * * * *')).toBe(60_000);
  });
});

describe("a one-shot's time", () => {
  it('must lie in the future, within ten years (review r5 #4)', () => {
    const now = Date.parse('2026-12-03T00:00:00Z');
    expect(atError(new Date('2026-12-04T00:00:00Z'), now)).toBeUndefined();
    expect(atError(new Date('2036-12-01T00:00:00Z'), now)).toBeUndefined();
    expect(atError(new Date('2026-12-02T00:00:00Z'), now)).toBe('spec.at 2026-12-02T00:00:00.000Z is in the past; give a future time');
    expect(atError(new Date('9999-12-31T23:59:59Z'), now)).toBe('spec.at 9999-12-31T23:59:59.000Z is more than 10 years ahead; a one-shot fires within 10 years');
  });
});

describe("a backfill's size", () => {
  const start = new Date('2026-01-01T00:00:00Z');
  const end = new Date('2026-01-11T00:00:00Z');
  it('is exact when the range was counted to its end, extrapolated otherwise', () => {
    expect(firesInRange({ start, end }, { counted: 7, complete: true, lastAt: new Date('2026-01-07T00:00:00Z') })).toEqual({ fires: 7, exact: true });
    // 2,000 fires in the first day of ten: about 20,000.
    expect(firesInRange({ start, end }, { counted: 2000, complete: false, lastAt: new Date('2026-01-02T00:00:00Z') })).toEqual({ fires: 20_000, exact: false });
  });
});
