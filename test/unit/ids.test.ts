import { derivedId, goalTemporalWorkflowId, isId, newId, slugify } from '../../src/domain/ids';

describe('ids', () => {
  it('mints 26-character, prefixed, time-ordered ids', () => {
    const a = newId('goal', 1_700_000_000_000);
    const b = newId('goal', 1_700_000_000_001);
    expect(a).toMatch(/^goal_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(isId('goal', a)).toBe(true);
    expect(isId('run', a)).toBe(false);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => newId('goal'))).size).toBe(1000);
  });

  it('derives the same id from the same parts, and different ids from different parts', () => {
    expect(derivedId('goal', 'goal_parent', 'fetch')).toBe(derivedId('goal', 'goal_parent', 'fetch'));
    expect(derivedId('goal', 'goal_parent', 'fetch')).not.toBe(derivedId('goal', 'goal_parent', 'review'));
    // Parts are separated, so ("ab","c") and ("a","bc") differ.
    expect(derivedId('goal', 'ab', 'c')).not.toBe(derivedId('goal', 'a', 'bc'));
    expect(isId('goal', derivedId('goal', 'x'))).toBe(true);
  });

  it('slugifies titles for readable Temporal ids', () => {
    expect(slugify('Fetch Zürich data — now!')).toBe('fetch-zurich-data-now');
    expect(slugify('!!!')).toBe('goal');
    expect(slugify('a'.repeat(100)).length).toBe(40);
    expect(goalTemporalWorkflowId({ id: 'goal_x', title: 'Say hello' })).toBe('goal-say-hello-goal_x');
  });
});
