import { planRows, type TPlanParent, type TPlanRows } from '../../src/db/planRows';
import { childGoalId, derivedId } from '../../src/domain/ids';
import { ZPlan, type TPlan } from '../../src/domain/plans';

const NOW = new Date('2025-01-02T03:04:05.000Z');

const ROOT: TPlanParent = {
  id: 'goal_root',
  rootId: 'goal_root',
  agentId: 'agent_default',
  ownerUserId: 'user_ada',
  ownerAgentId: null,
  depth: 0,
  temporalWorkflowId: 'goal-root-goal_root',
};

function leaf(key: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { key, kind: 'leaf', title: `Title ${key}`, action: { runtime: 'shell', command: `echo ${key}` }, ...extra };
}

/**
 * fetch ─┐
 *        ├→ pub (composite: upload → announce, plus inner composite deep: x)
 * check ─┘   later (composite, plan: null), draft (composite, no plan)
 */
function samplePlan(): TPlan {
  return ZPlan.parse({
    children: [
      leaf('fetch', { acceptance: { check: 'test -s data.json' } }),
      leaf('check', { intent: 'make sure' }),
      {
        key: 'pub',
        kind: 'composite',
        title: 'Publish',
        join: 1,
        plan: {
          children: [
            leaf('upload'),
            leaf('announce', { join: 'all' }),
            { key: 'deep', kind: 'composite', title: 'Deep', plan: { children: [leaf('x')] } },
          ],
          edges: [{ from: 'upload', to: 'announce', on: { when: 'exit_code == 0' } }],
        },
      },
      { key: 'later', kind: 'composite', title: 'Later', plan: null },
      { key: 'draft', kind: 'composite', title: 'Draft' },
    ],
    edges: [
      { from: 'fetch', to: 'pub' },
      { from: 'check', to: 'pub', on: 'failed' },
      { from: 'pub', to: 'later', on: 'always' },
    ],
  });
}

function goal(rows: TPlanRows, id: string) {
  const found = rows.goals.find((g) => g.id === id);
  if (!found) throw new Error(`no goal ${id}`);
  return found;
}

describe('planRows', () => {
  const pubId = childGoalId(ROOT.id, 'pub');
  const deepId = childGoalId(pubId, 'deep');

  it('derives child ids from (parent id, key)', () => {
    expect(childGoalId('goal_p', 'fetch')).toBe(derivedId('goal', 'goal_p', 'fetch'));
    expect(childGoalId('goal_p', 'fetch')).toBe(childGoalId('goal_p', 'fetch'));
    expect(childGoalId('goal_p', 'fetch')).not.toBe(childGoalId('goal_q', 'fetch'));
    expect(childGoalId('goal_p', 'fetch')).not.toBe(childGoalId('goal_p', 'check'));
    expect(childGoalId('goal_p', 'fetch')).toMatch(/^goal_[0-9a-hjkmnp-tv-z]{26}$/);
  });

  it('creates one row per goal, nested plans included, with ids from (parent, key)', () => {
    const rows = planRows(ROOT, samplePlan(), NOW);
    expect(rows.goals).toHaveLength(9);
    const expected = [
      ...['fetch', 'check', 'pub', 'later', 'draft'].map((k) => childGoalId(ROOT.id, k)),
      ...['upload', 'announce', 'deep'].map((k) => childGoalId(pubId, k)),
      childGoalId(deepId, 'x'),
    ];
    expect(new Set(rows.goals.map((g) => g.id))).toEqual(new Set(expected));
    expect(goal(rows, childGoalId(pubId, 'upload')).parentId).toBe(pubId);
    expect(goal(rows, childGoalId(deepId, 'x')).parentId).toBe(deepId);
    expect(goal(rows, pubId).parentId).toBe(ROOT.id);
  });

  it('is deterministic: the same plan twice gives the same rows', () => {
    const a = planRows(ROOT, samplePlan(), NOW);
    const b = planRows(ROOT, samplePlan(), NOW);
    expect(b).toEqual(a);
    // Another parent gives other ids.
    const c = planRows({ ...ROOT, id: 'goal_other', rootId: 'goal_other' }, samplePlan(), NOW);
    const ids = new Set(a.goals.map((g) => g.id));
    expect(c.goals.some((g) => ids.has(g.id))).toBe(false);
  });

  it('sets depth and position among siblings', () => {
    const rows = planRows(ROOT, samplePlan(), NOW);
    ['fetch', 'check', 'pub', 'later', 'draft'].forEach((k, i) => {
      const g = goal(rows, childGoalId(ROOT.id, k));
      expect([g.key, g.depth, g.position]).toEqual([k, 1, i]);
    });
    ['upload', 'announce', 'deep'].forEach((k, i) => {
      const g = goal(rows, childGoalId(pubId, k));
      expect([g.key, g.depth, g.position]).toEqual([k, 2, i]);
    });
    const x = goal(rows, childGoalId(deepId, 'x'));
    expect([x.depth, x.position]).toEqual([3, 0]);
  });

  it('depth follows the parent depth', () => {
    const rows = planRows({ ...ROOT, id: 'goal_mid', depth: 2 }, ZPlan.parse({ children: [leaf('a')] }), NOW);
    expect(rows.goals.map((g) => g.depth)).toEqual([3]);
  });

  it("gives composites their own Temporal workflow id; leaves carry their parent's", () => {
    const rows = planRows(ROOT, samplePlan(), NOW);
    expect(goal(rows, childGoalId(ROOT.id, 'fetch')).temporalWorkflowId).toBe(ROOT.temporalWorkflowId);
    expect(goal(rows, childGoalId(ROOT.id, 'check')).temporalWorkflowId).toBe(ROOT.temporalWorkflowId);

    const pubWf = goal(rows, pubId).temporalWorkflowId;
    expect(pubWf).toBe(`goal-pub-${pubId}`);
    expect(pubWf?.startsWith('goal-pub-')).toBe(true);
    expect(goal(rows, childGoalId(pubId, 'upload')).temporalWorkflowId).toBe(pubWf);
    expect(goal(rows, childGoalId(pubId, 'announce')).temporalWorkflowId).toBe(pubWf);

    const deepWf = goal(rows, deepId).temporalWorkflowId;
    expect(deepWf).toBe(`goal-deep-${deepId}`);
    expect(goal(rows, childGoalId(deepId, 'x')).temporalWorkflowId).toBe(deepWf);

    // Unplanned composites still get their own id, ready for when a plan arrives.
    expect(goal(rows, childGoalId(ROOT.id, 'later')).temporalWorkflowId).toMatch(/^goal-later-goal_/);
    expect(goal(rows, childGoalId(ROOT.id, 'draft')).temporalWorkflowId).toMatch(/^goal-draft-goal_/);

    const ids = rows.goals.filter((g) => g.kind === 'composite').map((g) => g.temporalWorkflowId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sets plannedAt only for composites that have a plan', () => {
    const rows = planRows(ROOT, samplePlan(), NOW);
    expect(goal(rows, pubId).plannedAt).toBe(NOW);
    expect(goal(rows, deepId).plannedAt).toBe(NOW);
    expect(goal(rows, childGoalId(ROOT.id, 'later')).plannedAt).toBeNull();
    expect(goal(rows, childGoalId(ROOT.id, 'draft')).plannedAt).toBeNull();
    for (const g of rows.goals.filter((r) => r.kind === 'leaf')) expect(g.plannedAt).toBeNull();
  });

  it('edges reference the right goal ids, per layer, in order', () => {
    const rows = planRows(ROOT, samplePlan(), NOW);
    const top = rows.edges.filter((e) => e.parentId === ROOT.id);
    expect(top).toEqual([
      { parentId: ROOT.id, fromGoalId: childGoalId(ROOT.id, 'fetch'), toGoalId: pubId, on: 'succeeded', position: 0 },
      { parentId: ROOT.id, fromGoalId: childGoalId(ROOT.id, 'check'), toGoalId: pubId, on: 'failed', position: 1 },
      { parentId: ROOT.id, fromGoalId: pubId, toGoalId: childGoalId(ROOT.id, 'later'), on: 'always', position: 2 },
    ]);
    const nested = rows.edges.filter((e) => e.parentId === pubId);
    expect(nested).toEqual([
      {
        parentId: pubId,
        fromGoalId: childGoalId(pubId, 'upload'),
        toGoalId: childGoalId(pubId, 'announce'),
        on: { when: 'exit_code == 0' },
        position: 0,
      },
    ]);
    expect(rows.edges).toHaveLength(4);
    const goalIds = new Set(rows.goals.map((g) => g.id));
    for (const e of rows.edges) {
      expect(goalIds.has(e.fromGoalId)).toBe(true);
      expect(goalIds.has(e.toGoalId)).toBe(true);
    }
  });

  it('copies the fields of each child and inherits ownership from the parent', () => {
    const rows = planRows(ROOT, samplePlan(), NOW);
    const fetch = goal(rows, childGoalId(ROOT.id, 'fetch'));
    expect(fetch).toMatchObject({
      kind: 'leaf',
      title: 'Title fetch',
      intent: null,
      action: { runtime: 'shell', command: 'echo fetch' },
      acceptance: { check: 'test -s data.json' },
      joinCount: null,
    });
    expect(goal(rows, childGoalId(ROOT.id, 'check')).intent).toBe('make sure');
    expect(goal(rows, childGoalId(ROOT.id, 'check')).acceptance).toBeUndefined();
    expect(goal(rows, pubId)).toMatchObject({ kind: 'composite', title: 'Publish', joinCount: 1, action: undefined });
    expect(goal(rows, childGoalId(pubId, 'announce')).joinCount).toBeNull();
    for (const g of rows.goals) {
      expect(g).toMatchObject({
        rootId: ROOT.rootId,
        agentId: ROOT.agentId,
        ownerUserId: ROOT.ownerUserId,
        ownerAgentId: null,
        savedWorkflowId: null,
        savedWorkflowVersion: null,
        runId: null,
      });
    }
  });

  it('carries run attribution to every row', () => {
    const rows = planRows({ ...ROOT, savedWorkflowId: 'wf_x', savedWorkflowVersion: 3, runId: 'run_y' }, samplePlan(), NOW);
    for (const g of rows.goals) expect([g.savedWorkflowId, g.savedWorkflowVersion, g.runId]).toEqual(['wf_x', 3, 'run_y']);
  });

  it('appends to the rows it is given', () => {
    const into: TPlanRows = { goals: [], edges: [] };
    const out = planRows(ROOT, ZPlan.parse({ children: [leaf('a')] }), NOW, {}, into);
    expect(out).toBe(into);
    planRows(ROOT, ZPlan.parse({ children: [leaf('b')] }), NOW, {}, into);
    expect(into.goals.map((g) => g.key)).toEqual(['a', 'b']);
  });
});

describe('planRows for a run layer', () => {
  const nestedPlan = ZPlan.parse({
    children: [
      leaf('a'),
      { key: 'frozen', kind: 'composite', title: 'Frozen', plan: { children: [leaf('x')] } },
      { key: 'open', kind: 'composite', title: 'Open' },
      { key: 'ref', kind: 'composite', title: 'Ref', workflow: 'other@2' },
    ],
  });

  it('writes one layer: a composite with a saved plan is frozen and unplanned, one without stays open', () => {
    const rows = planRows(ROOT, nestedPlan, NOW, { layerOnly: true });
    expect(rows.goals.map((g) => [g.key, g.plannedAt ?? null, g.planFrozen])).toEqual([
      ['a', null, false],
      ['frozen', null, true],
      ['open', null, false],
      ['ref', null, false],
    ]);
  });

  it('stamps a nested run root with the named workflow and its run', () => {
    const refId = planRows(ROOT, nestedPlan, NOW).goals.find((g) => g.key === 'ref')?.id as string;
    const nestedRuns = new Map([[refId, { runId: 'run_n', savedWorkflowId: 'wf_other', savedWorkflowVersion: 2, planned: true }]]);
    const ref = planRows(ROOT, nestedPlan, NOW, { nestedRuns }).goals.find((g) => g.key === 'ref');
    expect([ref?.runId, ref?.savedWorkflowId, ref?.savedWorkflowVersion, ref?.planFrozen, ref?.plannedAt ?? null]).toEqual(['run_n', 'wf_other', 2, true, null]);
  });

  it('records the planner its saved version names for a child (review r6 #2), and none for the others', () => {
    const rows = planRows(ROOT, nestedPlan, NOW, { layerOnly: true, plannedByKey: new Map([['a', 'agent_p'], ['ref', 'agent_q']]) });
    expect(rows.goals.map((g) => [g.key, g.plannedByAgentId])).toEqual([
      ['a', 'agent_p'],
      ['frozen', null],
      ['open', null],
      ['ref', 'agent_q'],
    ]);
  });
});
