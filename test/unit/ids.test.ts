import {
  childGoalId,
  derivedId,
  fireKey,
  GOAL_ID_EXAMPLE,
  GOAL_ID_PATTERN,
  goalTemporalWorkflowId,
  goalUpdateId,
  idPattern,
  nestedRunKey,
  newId,
  reservedKeyPrefix,
  runId,
  runRootGoalId,
  runTemporalWorkflowId,
  scheduleId,
  slugify,
} from '../../src/domain/ids';

describe('ids', () => {
  it('mints 26-character, prefixed, time-ordered ids', () => {
    const a = newId('goal', 1_700_000_000_000);
    const b = newId('goal', 1_700_000_000_001);
    expect(a).toMatch(/^goal_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(GOAL_ID_PATTERN.test(a)).toBe(true);
    expect(idPattern('run').test(a)).toBe(false);
    expect(GOAL_ID_PATTERN.test(GOAL_ID_EXAMPLE)).toBe(true);
    // Crockford base32 has no i, l, o or u: such a string was never minted here.
    expect(GOAL_ID_PATTERN.test('goal_01jd3v8k2m7q9x4w5y6z7a8b9i')).toBe(false);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => newId('goal'))).size).toBe(1000);
  });

  it('derives the same id from the same parts, and different ids from different parts', () => {
    expect(derivedId('goal', 'goal_parent', 'fetch')).toBe(derivedId('goal', 'goal_parent', 'fetch'));
    expect(derivedId('goal', 'goal_parent', 'fetch')).not.toBe(derivedId('goal', 'goal_parent', 'review'));
    // Parts are separated, so ("ab","c") and ("a","bc") differ.
    expect(derivedId('goal', 'ab', 'c')).not.toBe(derivedId('goal', 'a', 'bc'));
    expect(GOAL_ID_PATTERN.test(derivedId('goal', 'x'))).toBe(true);
    expect(childGoalId('goal_parent', 'fetch')).toBe(derivedId('goal', 'goal_parent', 'fetch'));
  });

  it('derives update ids from a message\'s content, so a retried request is the same update', () => {
    expect(goalUpdateId('complete', 'goal_a', ['succeeded', { n: 1 }])).toBe(goalUpdateId('complete', 'goal_a', ['succeeded', { n: 1 }]));
    expect(goalUpdateId('complete', 'goal_a', ['succeeded', { n: 1 }])).not.toBe(goalUpdateId('complete', 'goal_a', ['failed', { n: 1 }]));
    expect(goalUpdateId('judge', 'goal_a', ['accept'])).toMatch(/^judge-goal_a-[0-9a-f]{16}$/);
  });

  it('slugifies titles for readable Temporal ids', () => {
    expect(slugify('Fetch Zürich data — now!')).toBe('fetch-zurich-data-now');
    expect(slugify('!!!')).toBe('goal');
    expect(slugify('a'.repeat(100)).length).toBe(40);
    expect(goalTemporalWorkflowId({ id: 'goal_x', title: 'Say hello' })).toBe('goal-say-hello-goal_x');
  });

  it('derives run ids, their root goal ids and readable Temporal workflow ids from (workflow, key)', () => {
    const wf = { id: 'wf_a', name: 'Nightly Report', version: 3 };
    expect(runId('wf_a', 'k1')).toBe(runId('wf_a', 'k1'));
    expect(runId('wf_a', 'k1')).not.toBe(runId('wf_b', 'k1'));
    expect(idPattern('run').test(runId('wf_a', 'k1'))).toBe(true);
    expect(runRootGoalId(runId('wf_a', 'k1'))).toMatch(GOAL_ID_PATTERN);
    expect(runTemporalWorkflowId(wf, '2026-11-22')).toMatch(/^run-nightly-report-v3-2026-11-22-[0-9a-f]{10}$/);
    // Unsafe or long keys are slugged; the hash keeps keys that slug alike apart, and owners' same-named workflows too.
    const unsafe = runTemporalWorkflowId(wf, 'Key With Spaces/and/slashes and more text than fits');
    expect(unsafe).toMatch(/^run-nightly-report-v3-key-with-spaces-and-slas-[0-9a-f]{10}$/);
    expect(runTemporalWorkflowId(wf, 'A B')).not.toBe(runTemporalWorkflowId(wf, 'a-b'));
    expect(runTemporalWorkflowId({ ...wf, id: 'wf_other' }, 'k1')).not.toBe(runTemporalWorkflowId(wf, 'k1'));
  });

  it('reserves the prefixes of every key it mints itself, and no plain key', () => {
    expect(reservedKeyPrefix(fireKey(scheduleId('Weekly report'), new Date('2026-12-01T09:00:00Z')))).toBe('sched-');
    expect(reservedKeyPrefix(nestedRunKey(childGoalId(GOAL_ID_EXAMPLE, 'a')))).toBe('nested:');
    for (const key of ['2026-11-22', 'k-1', 'schedule-1', 'nested', 'Nested-x']) expect(reservedKeyPrefix(key)).toBeUndefined();
  });

  it('reserves them in any case', () => {
    expect(['SCHED-x', 'Sched-weekly@2026', 'NESTED:goal_x', 'Nested:a'].map(reservedKeyPrefix)).toEqual(['sched-', 'sched-', 'nested:', 'nested:']);
  });
});
