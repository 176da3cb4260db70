import {
  canonicalJson,
  checkSubstitution,
  contentHash,
  FROZEN_FORMAT,
  inputProblems,
  instantiate,
  instantiateLayer,
  isFullyFrozen,
  MAX_PLACEHOLDERS_PER_TEXT,
  placeholdersIn,
  resolveInputs,
  substitutedLength,
  type TFrozenPlan,
} from '../../src/domain/frozenPlans';
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

describe("substitution is bounded by each field's own limit", () => {
  const a1000 = 'x'.repeat(1000);
  /** A frozen tree with these root texts and one leaf child. */
  const tree = (root: { title?: string; intent?: string }, child: Record<string, unknown> = {}): TFrozenPlan => ({
    format: FROZEN_FORMAT,
    root: {
      title: root.title ?? 'Root',
      intent: root.intent ?? null,
      plan: ZPlan.parse({ children: [{ key: 'c', kind: 'leaf', title: 'C', action: { runtime: 'manual' }, ...child }] }),
    },
  });

  it('counts the substituted length without building the text', () => {
    expect(substitutedLength('{{inputs.a}}-{{ inputs.a }}', { a: 'abc' })).toBe(7);
    expect(substitutedLength('no placeholders', { a: 'abc' })).toBe(15);
    // An unresolved placeholder counts as written (it is refused on its own).
    expect(substitutedLength('{{inputs.b}}', { a: 'abc' })).toBe(12);
    // The measured case: 833 placeholders (9,996 characters) and a 1,000-character input.
    expect(substitutedLength('{{inputs.a}}'.repeat(833), { a: a1000 })).toBe(833_000);
    // Object members are not inputs.
    expect(substitutedLength('{{inputs.constructor}}', {})).toBe(22);
  });

  it('refuses a text over its limit once substituted, naming the field and its path, and takes one exactly at it', () => {
    const intent = '{{inputs.a}}'.repeat(833);
    expect(() => instantiate(tree({ intent }), { a: a1000 })).toThrow(/^intent: with its inputs substituted it would be 833000 characters; this field holds at most 10000$/);
    expect(() => instantiate(tree({}, { intent }), { a: a1000 })).toThrow(/^plan\.children\[0\]\.intent: .* 833000 characters; .* at most 10000$/);
    expect(() => instantiate(tree({}, { title: 'T {{inputs.a}}' }), { a: 'y'.repeat(199) })).toThrow(/^plan\.children\[0\]\.title: .* 201 characters; .* at most 200$/);
    expect(instantiate(tree({}, { title: 'T {{inputs.a}}' }), { a: 'y'.repeat(198) }).plan?.children[0]?.title).toHaveLength(200);
    expect(() => instantiate(tree({}, { acceptance: { judgment: { prompt: 'ok', rubric: '{{inputs.a}}'.repeat(11) } } }), { a: a1000 })).toThrow(
      /^plan\.children\[0\]\.acceptance\.judgment\.rubric: .* 11000 characters/,
    );
    // A layer is held to the same limits (what a run's materialization writes, nested runs included).
    const nested = tree({}, {}).root.plan as NonNullable<TFrozenPlan['root']['plan']>;
    const layer = { ...nested, children: [{ key: 'n', kind: 'composite' as const, title: 'N', workflow: 'inner@1', inputs: { who: '{{inputs.a}}'.repeat(11) } }] };
    expect(() => instantiateLayer(layer, { a: a1000 })).toThrow(/^plan\.children\[0\]\.inputs\.who: .* 11000 characters; .* at most 10000$/);
  });

  it('checks a whole tree without building it, naming every text that does not fit, with a bounded message', () => {
    const intent = '{{inputs.a}}'.repeat(20);
    const frozen: TFrozenPlan = {
      format: FROZEN_FORMAT,
      root: {
        title: 'Root {{inputs.a}}',
        intent,
        plan: ZPlan.parse({ children: Array.from({ length: 30 }, (_, i) => ({ key: `c${i}`, kind: 'leaf', title: 'C', intent, action: { runtime: 'manual' } })) }),
      },
    };
    expect(() => checkSubstitution(frozen, { a: 'short' })).not.toThrow();
    let caught: unknown;
    try {
      checkSubstitution(frozen, { a: a1000 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'VALIDATION_FAILED' });
    const { message, details } = caught as { message: string; details: { path: string }[] };
    expect(details.map((d) => d.path)).toEqual(['title', 'intent', ...Array.from({ length: 30 }, (_, i) => `plan.children[${i}].intent`)]);
    expect(message).toMatch(/^invalid inputs: title: .* 1005 characters; this field holds at most 200; intent: .* 20000 characters/);
    expect(message).toMatch(/; and 27 more$/);
    expect(() => checkSubstitution(frozen, {})).toThrow(/title: \{\{inputs\.a\}\} has no value/);
  });

  it('refuses an input named like an Object member that has no value, instead of filling in the member', () => {
    expect(() => instantiate(tree({ title: 'Hi {{inputs.constructor}}' }), {})).toThrow(/title: \{\{inputs\.constructor\}\} has no value/);
    expect(instantiate(tree({ title: 'Hi {{inputs.constructor}}' }), { constructor: 'there' }).title).toBe('Hi there');
    expect(resolveInputs([{ name: 'constructor', default: 'd' }, { name: 'toString' }], {})).toEqual({ constructor: 'd' });
  });

  it(`refuses at save a text with more than ${MAX_PLACEHOLDERS_PER_TEXT} placeholders`, () => {
    const declared = [{ name: 'a' }];
    expect(inputProblems(tree({ intent: '{{inputs.a}}'.repeat(MAX_PLACEHOLDERS_PER_TEXT) }), declared)).toEqual([]);
    expect(inputProblems(tree({}, { intent: '{{inputs.a}}'.repeat(833) }), declared)).toEqual([{ path: 'plan.children[0].intent', message: `833 placeholders; a text has at most ${MAX_PLACEHOLDERS_PER_TEXT}` }]);
  });
});
