import { countPlanGoals, findCycle, validatePlan, ZPlan, type TAgentLimits, type TPlan, type TPlanRule } from '../../src/domain/plans';

const LIMITS: TAgentLimits = { maxDepth: 5, maxChildren: 10, maxGoals: 100, allowedRuntimes: ['shell', 'http', 'manual', 'agent'] };

function limits(over: Partial<TAgentLimits> = {}): TAgentLimits {
  return { ...LIMITS, ...over };
}

/** Parses through ZPlan so defaults apply, as the API does; fails the test on a parse error. */
function plan(input: unknown): TPlan {
  return ZPlan.parse(input);
}

function leaf(key: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { key, kind: 'leaf', title: key, action: { runtime: 'shell', command: 'true' }, ...extra };
}

function composite(key: string, nested: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { key, kind: 'composite', title: key, plan: nested, ...extra };
}

function rulesOf(p: TPlan, l: TAgentLimits = LIMITS, depth = 0, existing = 1): TPlanRule[] {
  return validatePlan(p, l, depth, existing).map((x) => x.rule);
}

describe('ZPlan', () => {
  it('parses the documented shape, defaulting edges to [] and on to succeeded', () => {
    const parsed = ZPlan.parse({ children: [leaf('only')] });
    expect(parsed.edges).toEqual([]);

    const withEdge = ZPlan.parse({ children: [leaf('a'), leaf('b')], edges: [{ from: 'a', to: 'b' }] });
    expect(withEdge.edges).toEqual([{ from: 'a', to: 'b', on: 'succeeded' }]);
  });

  it('accepts every edge kind and both join forms', () => {
    const parsed = ZPlan.parse({
      children: [leaf('a'), leaf('b'), leaf('c', { join: 'all' }), leaf('d', { join: 2 })],
      edges: [
        { from: 'a', to: 'b', on: 'failed' },
        { from: 'a', to: 'c', on: 'timed_out' },
        { from: 'b', to: 'c', on: 'always' },
        { from: 'a', to: 'd', on: { when: 'exit_code == 0' } },
        { from: 'b', to: 'd', on: 'succeeded' },
      ],
    });
    expect(parsed.edges.map((e) => e.on)).toEqual(['failed', 'timed_out', 'always', { when: 'exit_code == 0' }, 'succeeded']);
    expect(parsed.children.map((c) => c.join)).toEqual([undefined, undefined, 'all', 2]);
  });

  it('parses nested composite plans, applying defaults at every level', () => {
    const parsed = ZPlan.parse({
      children: [
        leaf('fetch'),
        composite('pub', { children: [leaf('upload'), composite('inner', { children: [leaf('x'), leaf('y')], edges: [{ from: 'x', to: 'y' }] })] }),
      ],
      edges: [{ from: 'fetch', to: 'pub' }],
    });
    const pub = parsed.children[1];
    expect(pub?.kind).toBe('composite');
    if (pub?.kind !== 'composite' || !pub.plan) throw new Error('expected a planned composite');
    expect(pub.plan.edges).toEqual([]);
    const inner = pub.plan.children[1];
    if (inner?.kind !== 'composite' || !inner.plan) throw new Error('expected a planned composite');
    expect(inner.plan.edges).toEqual([{ from: 'x', to: 'y', on: 'succeeded' }]);
  });

  it('allows plan: null and an absent plan for unplanned composites', () => {
    const parsed = ZPlan.parse({ children: [composite('later', null), { key: 'also', kind: 'composite', title: 'Also later' }] });
    const [later, also] = parsed.children;
    expect(later?.kind === 'composite' && later.plan).toBeNull();
    expect(also?.kind === 'composite' && also.plan).toBeUndefined();
  });

  describe('is strict', () => {
    it.each([
      ['an unknown top-level field', { children: [leaf('a')], extra: 1 }],
      ['an unknown child field', { children: [leaf('a', { color: 'red' })] }],
      ['an unknown edge field', { children: [leaf('a'), leaf('b')], edges: [{ from: 'a', to: 'b', weight: 2 }] }],
      ['an unknown action field', { children: [{ key: 'a', kind: 'leaf', title: 'A', action: { runtime: 'shell', command: 'true', shell: 'zsh' } }] }],
      ['an action on a composite', { children: [composite('c', null, { action: { runtime: 'shell', command: 'true' } })] }],
      ['a plan on a leaf', { children: [leaf('a', { plan: { children: [leaf('b')] } })] }],
      ['an unknown field in a nested plan', { children: [composite('c', { children: [leaf('a')], bogus: true })] }],
      ['an unknown field in a when edge', { children: [leaf('a'), leaf('b')], edges: [{ from: 'a', to: 'b', on: { when: 'true', else: 'x' } }] }],
    ])('rejects %s', (_name, input) => {
      expect(ZPlan.safeParse(input).success).toBe(false);
    });
  });

  it.each([
    ['no children', { children: [] }],
    ['an unknown kind', { children: [{ key: 'a', kind: 'branch', title: 'A' }] }],
    ['a leaf without an action', { children: [{ key: 'a', kind: 'leaf', title: 'A' }] }],
    ['an unknown runtime', { children: [{ key: 'a', kind: 'leaf', title: 'A', action: { runtime: 'python' } }] }],
    ['an invalid key', { children: [leaf('Has Space')] }],
    ['an empty title', { children: [{ ...leaf('a'), title: '   ' }] }],
    ['join 0', { children: [leaf('a', { join: 0 })] }],
    ['a fractional join', { children: [leaf('a', { join: 1.5 })] }],
    ['an unknown on', { children: [leaf('a'), leaf('b')], edges: [{ from: 'a', to: 'b', on: 'sometimes' }] }],
    ['an empty when', { children: [leaf('a'), leaf('b')], edges: [{ from: 'a', to: 'b', on: { when: '' } }] }],
  ])('rejects %s', (_name, input) => {
    expect(ZPlan.safeParse(input).success).toBe(false);
  });
});

describe('validatePlan', () => {
  it('returns [] for a valid complex plan (fan-out, failure branch, join, nested composite)', () => {
    const p = plan({
      children: [
        leaf('fetch', { acceptance: { check: 'test -s data.json' } }),
        leaf('parse'),
        { key: 'review', kind: 'leaf', title: 'Review', action: { runtime: 'manual' }, acceptance: { judgment: { prompt: 'Complete?' } } },
        { key: 'notify', kind: 'leaf', title: 'Notify', action: { runtime: 'http', method: 'POST', url: 'https://example.com/hook' } },
        composite(
          'publish',
          {
            children: [leaf('upload'), { key: 'announce', kind: 'leaf', title: 'Announce', action: { runtime: 'agent', task: 'tell people' } }],
            edges: [{ from: 'upload', to: 'announce', on: { when: 'output.url != ""' } }],
          },
          { join: 'all' },
        ),
        leaf('summary', { join: 1 }),
        composite('later', null),
      ],
      edges: [
        { from: 'fetch', to: 'parse' },
        { from: 'fetch', to: 'review' },
        { from: 'fetch', to: 'notify', on: 'failed' },
        { from: 'parse', to: 'publish' },
        { from: 'review', to: 'publish', on: { when: 'exit_code == 0' } },
        { from: 'publish', to: 'summary', on: 'always' },
        { from: 'notify', to: 'summary', on: 'timed_out' },
      ],
    });
    expect(validatePlan(p, LIMITS, 0, 1)).toEqual([]);
  });

  describe('one rule at a time (rule and path)', () => {
    it('keys_unique: the second use of a key', () => {
      const problems = validatePlan(plan({ children: [leaf('a'), leaf('b'), leaf('a')] }), LIMITS, 0, 1);
      expect(problems).toEqual([expect.objectContaining({ rule: 'keys_unique', path: 'children[2].key' })]);
      expect(problems[0]?.message).toContain('"a"');
    });

    it('keys_unique inside a nested plan', () => {
      const p = plan({ children: [leaf('x'), composite('c', { children: [leaf('a'), leaf('a')] })] });
      expect(validatePlan(p, LIMITS, 0, 1)).toEqual([expect.objectContaining({ rule: 'keys_unique', path: 'children[1].plan.children[1].key' })]);
    });

    it('keys may repeat across levels (only siblings must differ)', () => {
      const p = plan({ children: [leaf('a'), composite('c', { children: [leaf('a')] })] });
      expect(validatePlan(p, LIMITS, 0, 1)).toEqual([]);
    });

    it('edge_endpoints: from and to must be siblings', () => {
      const p = plan({ children: [leaf('a'), leaf('b')], edges: [{ from: 'a', to: 'b' }, { from: 'ghost', to: 'b' }, { from: 'a', to: 'nowhere' }] });
      expect(validatePlan(p, LIMITS, 0, 1)).toEqual([
        expect.objectContaining({ rule: 'edge_endpoints', path: 'edges[1].from' }),
        expect.objectContaining({ rule: 'edge_endpoints', path: 'edges[2].to' }),
      ]);
    });

    it('edge_endpoints: an edge may not reach into a nested plan', () => {
      const p = plan({ children: [leaf('a'), composite('c', { children: [leaf('inner')] })], edges: [{ from: 'a', to: 'inner' }] });
      expect(validatePlan(p, LIMITS, 0, 1)).toEqual([expect.objectContaining({ rule: 'edge_endpoints', path: 'edges[0].to' })]);
    });

    it('edge_self: an edge from a child to itself', () => {
      const p = plan({ children: [leaf('a'), leaf('b')], edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'b', on: 'failed' }] });
      expect(validatePlan(p, LIMITS, 0, 1)).toEqual([expect.objectContaining({ rule: 'edge_self', path: 'edges[1]' })]);
    });

    it('edge_duplicate: a second edge between the same pair (even with another on)', () => {
      const p = plan({ children: [leaf('a'), leaf('b')], edges: [{ from: 'a', to: 'b' }, { from: 'a', to: 'b', on: 'failed' }] });
      expect(validatePlan(p, LIMITS, 0, 1)).toEqual([expect.objectContaining({ rule: 'edge_duplicate', path: 'edges[1]' })]);
    });

    it('edge_duplicate does not apply to the reverse direction (that is a cycle)', () => {
      const p = plan({ children: [leaf('a'), leaf('b')], edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }] });
      expect(rulesOf(p)).toEqual(['no_cycles']);
    });

    it('no_cycles: reports the cycle at the layer edges', () => {
      const p = plan({
        children: [leaf('start'), leaf('a'), leaf('b'), leaf('c')],
        edges: [{ from: 'start', to: 'a' }, { from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a', on: 'failed' }],
      });
      const problems = validatePlan(p, LIMITS, 0, 1);
      expect(problems).toEqual([expect.objectContaining({ rule: 'no_cycles', path: 'edges' })]);
      expect(problems[0]?.message).toContain('a → b → c → a');
    });

    it('no_cycles inside a nested plan', () => {
      const p = plan({ children: [composite('c', { children: [leaf('x'), leaf('y')], edges: [{ from: 'x', to: 'y' }, { from: 'y', to: 'x' }] })] });
      expect(validatePlan(p, LIMITS, 0, 1)).toEqual([expect.objectContaining({ rule: 'no_cycles', path: 'children[0].plan.edges' })]);
    });

    it('join_satisfiable: join N larger than the incoming edges', () => {
      const p = plan({
        children: [leaf('a'), leaf('b'), leaf('c', { join: 3 })],
        edges: [{ from: 'a', to: 'c' }, { from: 'b', to: 'c' }],
      });
      const problems = validatePlan(p, LIMITS, 0, 1);
      expect(problems).toEqual([expect.objectContaining({ rule: 'join_satisfiable', path: 'children[2].join' })]);
      expect(problems[0]?.message).toContain('2 incoming edges');
    });

    it('join_satisfiable: join N on a child with no incoming edges', () => {
      const p = plan({ children: [leaf('a', { join: 1 })] });
      expect(validatePlan(p, LIMITS, 0, 1)).toEqual([expect.objectContaining({ rule: 'join_satisfiable', path: 'children[0].join' })]);
    });

    it('join_satisfiable: invalid and duplicate edges do not count toward the join', () => {
      const p = plan({
        children: [leaf('a'), leaf('c', { join: 2 })],
        edges: [{ from: 'a', to: 'c' }, { from: 'a', to: 'c', on: 'failed' }],
      });
      expect(validatePlan(p, LIMITS, 0, 1)).toEqual([
        expect.objectContaining({ rule: 'edge_duplicate', path: 'edges[1]' }),
        expect.objectContaining({ rule: 'join_satisfiable', path: 'children[1].join' }),
      ]);
    });

    it('join N equal to the incoming edges is fine, and join all never fails', () => {
      const p = plan({
        children: [leaf('a'), leaf('b'), leaf('c', { join: 2 }), leaf('d', { join: 'all' })],
        edges: [{ from: 'a', to: 'c' }, { from: 'b', to: 'c' }],
      });
      expect(validatePlan(p, LIMITS, 0, 1)).toEqual([]);
    });

    it('expression_valid: a when that is not valid CEL', () => {
      const p = plan({ children: [leaf('a'), leaf('b')], edges: [{ from: 'a', to: 'b', on: { when: 'exit_code ==' } }] });
      const problems = validatePlan(p, LIMITS, 0, 1);
      expect(problems).toEqual([expect.objectContaining({ rule: 'expression_valid', path: 'edges[0].on.when' })]);
      expect(problems[0]?.message).toMatch(/^invalid expression: /);
    });

    it('max_children: too many children in one composite', () => {
      const p = plan({ children: [leaf('a'), leaf('b'), leaf('c')] });
      expect(validatePlan(p, limits({ maxChildren: 3 }), 0, 1)).toEqual([]);
      expect(validatePlan(p, limits({ maxChildren: 2 }), 0, 1)).toEqual([expect.objectContaining({ rule: 'max_children', path: 'children' })]);
    });

    it('max_children inside a nested plan', () => {
      const p = plan({ children: [leaf('x'), composite('c', { children: [leaf('a'), leaf('b'), leaf('d')] })] });
      expect(validatePlan(p, limits({ maxChildren: 2 }), 0, 1)).toEqual([
        expect.objectContaining({ rule: 'max_children', path: 'children[1].plan.children' }),
      ]);
    });

    it('runtime_allowed: a nested leaf whose runtime the agent may not use', () => {
      const p = plan({
        children: [leaf('a'), composite('c', { children: [leaf('ok'), { key: 'call', kind: 'leaf', title: 'Call', action: { runtime: 'http', url: 'https://example.com' } }] })],
      });
      const problems = validatePlan(p, limits({ allowedRuntimes: ['shell'] }), 0, 1);
      expect(problems).toEqual([expect.objectContaining({ rule: 'runtime_allowed', path: 'children[1].plan.children[1].action.runtime' })]);
      expect(problems[0]?.message).toContain('"http"');
    });

    it('runtime_allowed at the top level, with no runtime allowed', () => {
      const p = plan({ children: [leaf('a')] });
      expect(validatePlan(p, limits({ allowedRuntimes: [] }), 0, 1)).toEqual([
        expect.objectContaining({ rule: 'runtime_allowed', path: 'children[0].action.runtime' }),
      ]);
    });
  });

  describe('max_depth (root is depth 0, its children depth 1)', () => {
    const flat = () => plan({ children: [leaf('a')] });
    const nested = () => plan({ children: [composite('c', { children: [leaf('a')] })] });
    const twiceNested = () => plan({ children: [composite('c', { children: [composite('d', { children: [leaf('a')] })] })] });

    it("a root's plan puts children at depth 1", () => {
      expect(validatePlan(flat(), limits({ maxDepth: 1 }), 0, 1)).toEqual([]);
      expect(validatePlan(flat(), limits({ maxDepth: 0 }), 0, 1)).toEqual([expect.objectContaining({ rule: 'max_depth', path: 'children' })]);
    });

    it('the depth parameter is the composite being planned', () => {
      expect(validatePlan(flat(), limits({ maxDepth: 2 }), 1, 2)).toEqual([]);
      expect(validatePlan(flat(), limits({ maxDepth: 2 }), 2, 3)).toEqual([expect.objectContaining({ rule: 'max_depth', path: 'children' })]);
    });

    it('a nested plan adds a level', () => {
      expect(validatePlan(nested(), limits({ maxDepth: 2 }), 0, 1)).toEqual([]);
      expect(validatePlan(nested(), limits({ maxDepth: 1 }), 0, 1)).toEqual([
        expect.objectContaining({ rule: 'max_depth', path: 'children[0].plan.children' }),
      ]);
      expect(validatePlan(twiceNested(), limits({ maxDepth: 3 }), 0, 1)).toEqual([]);
      expect(validatePlan(twiceNested(), limits({ maxDepth: 2 }), 0, 1)).toEqual([
        expect.objectContaining({ rule: 'max_depth', path: 'children[0].plan.children[0].plan.children' }),
      ]);
    });

    it('an unplanned composite adds no level', () => {
      const p = plan({ children: [composite('c', null)] });
      expect(validatePlan(p, limits({ maxDepth: 1 }), 0, 1)).toEqual([]);
    });
  });

  describe('max_goals (existing goals count)', () => {
    // 2 top-level children + 2 nested = 4 new goals.
    const p = () => plan({ children: [leaf('a'), composite('c', { children: [leaf('x'), leaf('y')] })] });

    it('counts nested goals', () => {
      expect(countPlanGoals(p())).toBe(4);
      expect(countPlanGoals(plan({ children: [composite('c', null), leaf('a')] }))).toBe(2);
    });

    it('adds the existing tree to the new goals', () => {
      expect(validatePlan(p(), limits({ maxGoals: 5 }), 0, 1)).toEqual([]);
      expect(validatePlan(p(), limits({ maxGoals: 5 }), 0, 2)).toEqual([expect.objectContaining({ rule: 'max_goals', path: '' })]);
      expect(validatePlan(p(), limits({ maxGoals: 4 }), 0, 1)[0]?.message).toContain('5 goals');
      expect(validatePlan(p(), limits({ maxGoals: 10 }), 1, 6)).toEqual([]);
      expect(validatePlan(p(), limits({ maxGoals: 10 }), 1, 7)).toEqual([expect.objectContaining({ rule: 'max_goals' })]);
    });
  });

  it('reports every problem at once, not just the first', () => {
    const p = plan({
      children: [
        leaf('a'),
        leaf('a'),
        leaf('b', { join: 5 }),
        { key: 'h', kind: 'leaf', title: 'H', action: { runtime: 'http', url: 'https://example.com' } },
        composite('c', { children: [leaf('x'), leaf('y')], edges: [{ from: 'x', to: 'y' }, { from: 'y', to: 'x' }] }),
      ],
      edges: [
        { from: 'a', to: 'missing' },
        { from: 'b', to: 'b' },
        { from: 'a', to: 'b' },
        { from: 'a', to: 'b' },
        { from: 'h', to: 'c', on: { when: '((' } },
      ],
    });
    const problems = validatePlan(p, limits({ maxChildren: 4, maxDepth: 1, maxGoals: 5, allowedRuntimes: ['shell'] }), 0, 1);
    const byRule = (rule: TPlanRule) => problems.filter((x) => x.rule === rule).map((x) => x.path);
    expect(byRule('max_goals')).toEqual(['']);
    expect(byRule('max_children')).toEqual(['children']);
    expect(byRule('max_depth')).toEqual(['children[4].plan.children']);
    expect(byRule('keys_unique')).toEqual(['children[1].key']);
    expect(byRule('runtime_allowed')).toEqual(['children[3].action.runtime']);
    expect(byRule('no_cycles')).toEqual(['children[4].plan.edges']);
    expect(byRule('edge_endpoints')).toEqual(['edges[0].to']);
    expect(byRule('edge_self')).toEqual(['edges[1]']);
    expect(byRule('edge_duplicate')).toEqual(['edges[3]']);
    expect(byRule('expression_valid')).toEqual(['edges[4].on.when']);
    expect(byRule('join_satisfiable')).toEqual(['children[2].join']);
    expect(new Set(problems.map((x) => x.rule)).size).toBe(11);
    for (const problem of problems) expect(problem.message.length).toBeGreaterThan(0);
  });
});

describe('findCycle', () => {
  it('returns undefined for a DAG', () => {
    expect(findCycle(['a', 'b', 'c', 'd'], [{ from: 'a', to: 'b' }, { from: 'a', to: 'c' }, { from: 'b', to: 'd' }, { from: 'c', to: 'd' }])).toBeUndefined();
    expect(findCycle([], [])).toBeUndefined();
  });

  it('returns the cycle path with the first key repeated at the end', () => {
    expect(findCycle(['a', 'b', 'c'], [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }])).toEqual(['a', 'b', 'c', 'a']);
  });

  it('returns only the cycle, not the path that led to it', () => {
    expect(findCycle(['s', 'x', 'y'], [{ from: 's', to: 'x' }, { from: 'x', to: 'y' }, { from: 'y', to: 'x' }])).toEqual(['x', 'y', 'x']);
  });

  it('finds a self loop and a cycle in a later component', () => {
    expect(findCycle(['a'], [{ from: 'a', to: 'a' }])).toEqual(['a', 'a']);
    expect(findCycle(['a', 'b', 'p', 'q'], [{ from: 'a', to: 'b' }, { from: 'p', to: 'q' }, { from: 'q', to: 'p' }])).toEqual(['p', 'q', 'p']);
  });
});
