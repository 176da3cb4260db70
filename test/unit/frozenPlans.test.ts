import { canonicalJson, contentHash, FROZEN_FORMAT, inputProblems, instantiate, isFullyFrozen, placeholdersIn, resolveInputs, type TFrozenPlan } from '../../src/domain/frozenPlans';
import { ZPlan } from '../../src/domain/plans';

const HOSTILE = `"; rm -rf / ; $(touch /tmp/pwned) \`id\` {{inputs.city}} && echo`;

function sample(): TFrozenPlan {
  return {
    format: FROZEN_FORMAT,
    root: {
      title: 'Weather for {{inputs.city}}',
      intent: 'Report on {{ inputs.city }} for {{inputs.day}}',
      plan: ZPlan.parse({
        children: [
          { key: 'fetch', kind: 'leaf', title: 'Fetch {{inputs.city}}', action: { runtime: 'shell', command: 'curl "https://x/{{inputs.city}}"', env: { CITY: '{{inputs.city}}' } } },
          {
            key: 'review',
            kind: 'leaf',
            title: 'Review',
            action: { runtime: 'manual' },
            acceptance: { check: 'test -s {{inputs.city}}.json', judgment: { prompt: 'Is {{inputs.city}} complete?', rubric: 'All of {{inputs.day}}' } },
          },
          { key: 'publish', kind: 'composite', title: 'Publish {{inputs.city}}', plan: { children: [{ key: 'up', kind: 'leaf', title: 'Upload', action: { runtime: 'http', url: 'https://example.com/{{inputs.city}}' } }] } },
          { key: 'later', kind: 'composite', title: 'Planned later', plan: null },
        ],
        edges: [{ from: 'fetch', to: 'review' }],
      }),
    },
  };
}

describe('frozen plans', () => {
  it('canonical JSON sorts keys at every level, so equal content hashes equally', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null }, u: undefined })).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
    const a = sample();
    // The same content with every object's keys in reverse order.
    const reversed = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reversed) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    const b = reversed(a) as TFrozenPlan;
    expect(JSON.stringify(b)).not.toBe(JSON.stringify(a));
    expect(contentHash(b)).toBe(contentHash(a));
    const changed = sample();
    changed.root.title = 'Weather';
    expect(contentHash(changed)).not.toBe(contentHash(a));
    expect(contentHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is fully frozen only when every composite has its plan', () => {
    const frozen = sample();
    expect(isFullyFrozen(frozen.root.plan)).toBe(false);
    const plan = ZPlan.parse({ children: [{ key: 'a', kind: 'composite', title: 'A', plan: { children: [{ key: 'b', kind: 'leaf', title: 'B', action: { runtime: 'manual' } }] } }] });
    expect(isFullyFrozen(plan)).toBe(true);
    expect(isFullyFrozen(null)).toBe(false);
  });

  it('finds placeholders, spaces allowed, malformed names as written', () => {
    expect(placeholdersIn('{{inputs.city}} and {{ inputs.day }} but not {{city}} or {{inputs.bad name}}')).toEqual(['city', 'day']);
    expect(placeholdersIn('{{inputs.a.b}}')).toEqual(['a.b']);
  });

  it('names every placeholder without a declared input, and bad or duplicate names', () => {
    const problems = inputProblems(sample(), [{ name: 'city' }, { name: 'city' }, { name: 'bad name' }]);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'inputs[1].name', message: 'input "city" is declared twice' },
        { path: 'inputs[2].name', message: '"bad name" is not a valid input name (letters, digits, _ and -)' },
        { path: 'intent', message: '{{inputs.day}} names no declared input' },
        { path: 'plan.children[1].acceptance.judgment.rubric', message: '{{inputs.day}} names no declared input' },
      ]),
    );
    expect(inputProblems(sample(), [{ name: 'city' }, { name: 'day' }])).toEqual([]);
  });

  it('resolves inputs: defaults fill in; unknown and missing required ones are refused, naming them', () => {
    const declared = [{ name: 'city', required: true }, { name: 'day', default: 'today' }];
    expect(resolveInputs(declared, { city: 'Zürich' })).toEqual({ city: 'Zürich', day: 'today' });
    expect(() => resolveInputs(declared, {})).toThrow(/input "city" is required/);
    expect(() => resolveInputs(declared, { city: 'x', colour: 'red' })).toThrow(/unknown input "colour"/);
  });

  it('substitutes only in titles, intents and judgment texts; commands, URLs, env and checks stay as saved', () => {
    const root = instantiate(sample(), { city: HOSTILE, day: 'Monday' });
    expect(root.title).toBe(`Weather for ${HOSTILE}`);
    expect(root.intent).toBe(`Report on ${HOSTILE} for Monday`);
    const [fetch, review, publish, later] = root.plan?.children ?? [];
    expect(fetch).toMatchObject({ title: `Fetch ${HOSTILE}`, action: { command: 'curl "https://x/{{inputs.city}}"', env: { CITY: '{{inputs.city}}' } } });
    expect(review).toMatchObject({ acceptance: { check: 'test -s {{inputs.city}}.json', judgment: { prompt: `Is ${HOSTILE} complete?`, rubric: 'All of Monday' } } });
    expect(publish).toMatchObject({ title: `Publish ${HOSTILE}`, plan: { children: [{ action: { url: 'https://example.com/{{inputs.city}}' } }] } });
    expect(later).toMatchObject({ title: 'Planned later', plan: null });
  });

  it('refuses an unresolved placeholder, naming where it is', () => {
    expect(() => instantiate(sample(), { city: 'Bern' })).toThrow(/intent: \{\{inputs.day\}\} has no value/);
  });
});
