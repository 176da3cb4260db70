import { FROZEN_FORMAT, type TFrozenPlan } from '../../src/domain/frozenPlans';
import { ZPlan } from '../../src/domain/plans';
import { diffFrozenPlans } from '../../src/domain/workflowDiff';

/** A fresh copy each call, so a test can change one version freely. */
function sample(): TFrozenPlan {
  return {
    format: FROZEN_FORMAT,
    root: {
      title: 'Release',
      intent: 'Ship it',
      plan: ZPlan.parse({
        children: [
          {
            key: 'build',
            kind: 'composite',
            title: 'Build',
            plan: {
              children: [
                { key: 'compile', kind: 'leaf', title: 'Compile', action: { runtime: 'shell', command: 'make' } },
                { key: 'lint', kind: 'leaf', title: 'Lint', action: { runtime: 'shell', command: 'make lint' } },
              ],
              edges: [{ from: 'compile', to: 'lint' }],
              parallelism: 2,
            },
          },
          { key: 'test', kind: 'leaf', title: 'Test', action: { runtime: 'shell', command: 'make test' }, acceptance: { check: 'test -f ok' } },
          { key: 'deploy', kind: 'leaf', title: 'Deploy', action: { runtime: 'manual' }, join: 'all' },
          { key: 'later', kind: 'composite', title: 'Planned later', plan: null },
        ],
        edges: [
          { from: 'build', to: 'test' },
          { from: 'test', to: 'deploy' },
        ],
      }),
    },
  };
}

/** The root plan of a sample, known to be there. */
function planOf(frozen: TFrozenPlan) {
  const { plan } = frozen.root;
  if (!plan) throw new Error('sample has a root plan');
  return plan;
}

function child(frozen: TFrozenPlan, key: string) {
  const found = planOf(frozen).children.find((c) => c.key === key);
  if (!found) throw new Error(`no child ${key}`);
  return found;
}

const EMPTY = { goals: { added: [], removed: [], changed: [] }, edges: { added: [], removed: [] }, identical: true };

describe('workflow diff', () => {
  it('finds nothing between equal plans, key order aside', () => {
    expect(diffFrozenPlans(sample(), sample())).toEqual(EMPTY);
    // The same content with every object's keys in reverse order.
    const reversed = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reversed) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    expect(diffFrozenPlans(sample(), reversed(sample()) as TFrozenPlan)).toEqual(EMPTY);
  });

  it('reports changed fields of a goal with their old and new values, absent as null', () => {
    const to = sample();
    const test = child(to, 'test');
    const deploy = child(to, 'deploy');
    if (test.kind !== 'leaf' || deploy.kind !== 'leaf') throw new Error('leaves expected');
    test.title = 'Unit tests';
    test.action = { runtime: 'shell', command: 'npm test' };
    test.acceptance = { check: 'test -f ok', judgment: { prompt: 'Good?' } };
    delete deploy.join;
    deploy.intent = 'Roll out';

    const diff = diffFrozenPlans(sample(), to);
    expect(diff.identical).toBe(false);
    expect(diff.goals.changed).toEqual([
      {
        path: 'deploy',
        fields: [
          { field: 'intent', from: null, to: 'Roll out' },
          { field: 'join', from: 'all', to: null },
        ],
      },
      {
        path: 'test',
        fields: [
          { field: 'acceptance', from: { check: 'test -f ok' }, to: { check: 'test -f ok', judgment: { prompt: 'Good?' } } },
          { field: 'action', from: { runtime: 'shell', command: 'make test' }, to: { runtime: 'shell', command: 'npm test' } },
          { field: 'title', from: 'Test', to: 'Unit tests' },
        ],
      },
    ]);
    expect(diff.goals.added).toEqual([]);
    expect(diff.goals.removed).toEqual([]);
    expect(diff.edges).toEqual({ added: [], removed: [] });
  });

  it('compares fields generically, so fields the schema gains later are covered', () => {
    const to = sample();
    Object.assign(child(to, 'test'), { workflow: { name: 'nightly', version: 3 } });
    expect(diffFrozenPlans(sample(), to).goals.changed).toEqual([{ path: 'test', fields: [{ field: 'workflow', from: null, to: { name: 'nightly', version: 3 } }] }]);
  });

  it("reports the root's title, intent and acceptance at path \"\"", () => {
    const to = sample();
    to.root.title = 'Release 2';
    to.root.intent = null;
    to.root.acceptance = { check: 'true' };
    expect(diffFrozenPlans(sample(), to).goals.changed).toEqual([
      {
        path: '',
        fields: [
          { field: 'acceptance', from: null, to: { check: 'true' } },
          { field: 'intent', from: 'Ship it', to: null },
          { field: 'title', from: 'Release', to: 'Release 2' },
        ],
      },
    ]);
  });

  it('lists every goal of added and removed subtrees, sorted by path, with their edges', () => {
    const to = sample();
    const plan = planOf(to);
    // Remove the whole build subtree (3 goals, 1 inner edge, 1 edge into test).
    plan.children = plan.children.filter((c) => c.key !== 'build');
    plan.edges = plan.edges.filter((e) => e.from !== 'build');
    // Add a nested subtree under a new composite (4 goals, 1 inner edge).
    plan.children.push(
      ...ZPlan.parse({
        children: [
          {
            key: 'docs',
            kind: 'composite',
            title: 'Docs',
            plan: {
              children: [
                { key: 'write', kind: 'leaf', title: 'Write', action: { runtime: 'manual' } },
                { key: 'site', kind: 'composite', title: 'Site', plan: { children: [{ key: 'publish', kind: 'leaf', title: 'Publish', action: { runtime: 'manual' } }] } },
              ],
              edges: [{ from: 'write', to: 'site' }],
            },
          },
        ],
      }).children,
    );

    const diff = diffFrozenPlans(sample(), to);
    expect(diff.goals.removed).toEqual([
      { path: 'build', kind: 'composite', title: 'Build' },
      { path: 'build/compile', kind: 'leaf', title: 'Compile' },
      { path: 'build/lint', kind: 'leaf', title: 'Lint' },
    ]);
    expect(diff.goals.added).toEqual([
      { path: 'docs', kind: 'composite', title: 'Docs' },
      { path: 'docs/site', kind: 'composite', title: 'Site' },
      { path: 'docs/site/publish', kind: 'leaf', title: 'Publish' },
      { path: 'docs/write', kind: 'leaf', title: 'Write' },
    ]);
    expect(diff.goals.changed).toEqual([]);
    expect(diff.edges.removed).toEqual([
      { parent_path: '', from: 'build', to: 'test', on: 'succeeded' },
      { parent_path: 'build', from: 'compile', to: 'lint', on: 'succeeded' },
    ]);
    expect(diff.edges.added).toEqual([{ parent_path: 'docs', from: 'write', to: 'site', on: 'succeeded' }]);
    // And the other way round, everything swaps sides.
    const back = diffFrozenPlans(to, sample());
    expect(back.goals.added).toEqual(diff.goals.removed);
    expect(back.goals.removed).toEqual(diff.goals.added);
    expect(back.edges).toEqual({ added: diff.edges.removed, removed: diff.edges.added });
  });

  it('keeps each subtree together in path order ("-" sorts before "/")', () => {
    const to = sample();
    planOf(to).children.push(...ZPlan.parse({ children: [{ key: 'build-extra', kind: 'leaf', title: 'Extra', action: { runtime: 'manual' } }] }).children);
    const from = sample();
    planOf(from).children = planOf(from).children.filter((c) => c.key !== 'build');
    planOf(from).edges = [];
    expect(diffFrozenPlans(from, to).goals.added.map((g) => g.path)).toEqual(['build', 'build/compile', 'build/lint', 'build-extra']);
  });

  it('reports edges added and removed, and a changed condition as one of each', () => {
    const to = sample();
    const build = child(to, 'build');
    if (build.kind !== 'composite' || !build.plan) throw new Error('planned composite expected');
    build.plan.edges = [];
    planOf(to).edges = [
      { from: 'build', to: 'test', on: 'succeeded' },
      { from: 'test', to: 'deploy', on: { when: 'status == "failed"' } },
      { from: 'build', to: 'later', on: 'always' },
    ];
    const diff = diffFrozenPlans(sample(), to);
    expect(diff.edges.added).toEqual([
      { parent_path: '', from: 'build', to: 'later', on: 'always' },
      { parent_path: '', from: 'test', to: 'deploy', on: { when: 'status == "failed"' } },
    ]);
    expect(diff.edges.removed).toEqual([
      { parent_path: '', from: 'test', to: 'deploy', on: 'succeeded' },
      { parent_path: 'build', from: 'compile', to: 'lint', on: 'succeeded' },
    ]);
    expect(diff.goals).toEqual({ added: [], removed: [], changed: [] });
    expect(diff.identical).toBe(false);
  });

  it('reports a composite planned since as planned false → true, with its new children and edges', () => {
    const to = sample();
    const later = child(to, 'later');
    if (later.kind !== 'composite') throw new Error('composite expected');
    later.plan = ZPlan.parse({
      children: [
        { key: 'a', kind: 'leaf', title: 'A', action: { runtime: 'manual' } },
        { key: 'b', kind: 'leaf', title: 'B', action: { runtime: 'manual' } },
      ],
      edges: [{ from: 'a', to: 'b' }],
      parallelism: 4,
    });
    const diff = diffFrozenPlans(sample(), to);
    expect(diff.goals.changed).toEqual([
      {
        path: 'later',
        fields: [
          { field: 'parallelism', from: null, to: 4 },
          { field: 'planned', from: false, to: true },
        ],
      },
    ]);
    expect(diff.goals.added).toEqual([
      { path: 'later/a', kind: 'leaf', title: 'A' },
      { path: 'later/b', kind: 'leaf', title: 'B' },
    ]);
    expect(diff.edges.added).toEqual([{ parent_path: 'later', from: 'a', to: 'b', on: 'succeeded' }]);
    expect(diff.goals.removed).toEqual([]);
  });

  it('reports a root planned since at path "", and a parallelism change', () => {
    const from = sample();
    from.root.plan = null;
    const to = sample();
    const build = child(to, 'build');
    if (build.kind !== 'composite' || !build.plan) throw new Error('planned composite expected');
    build.plan.parallelism = 8;
    const diff = diffFrozenPlans(from, to);
    expect(diff.goals.changed).toEqual([{ path: '', fields: [{ field: 'planned', from: false, to: true }] }]);
    expect(diff.goals.added.map((g) => g.path)).toEqual(['build', 'build/compile', 'build/lint', 'test', 'deploy', 'later'].sort());
    expect(diffFrozenPlans(sample(), to).goals.changed).toEqual([{ path: 'build', fields: [{ field: 'parallelism', from: 2, to: 8 }] }]);
  });

  it('stays fast on 10,000 goals', () => {
    const wide = (title: string): TFrozenPlan => ({
      format: FROZEN_FORMAT,
      root: {
        title,
        intent: null,
        plan: ZPlan.parse({
          children: Array.from({ length: 100 }, (_, i) => ({
            key: `g${i}`,
            kind: 'composite',
            title: `G${i}`,
            plan: {
              children: Array.from({ length: 99 }, (_, j) => ({ key: `l${j}`, kind: 'leaf', title: `${title} ${i}.${j}`, action: { runtime: 'manual' } })),
              edges: Array.from({ length: 98 }, (_, j) => ({ from: `l${j}`, to: `l${j + 1}` })),
            },
          })),
        }),
      },
    });
    const a = wide('A');
    const b = wide('B');

    const diff = diffFrozenPlans(a, b);

    expect(diff.goals.changed).toHaveLength(1 + 100 * 99);
    expect(diff.edges).toEqual({ added: [], removed: [] });
    expect(diffFrozenPlans(a, a).identical).toBe(true);
  });
});
