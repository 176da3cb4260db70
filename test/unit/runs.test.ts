import { FROZEN_FORMAT, frozenPlanAt, inputEnvName, instantiateLayer, isFullyFrozen, workflowRefsIn, type TFrozenPlan } from '../../src/domain/frozenPlans';
import { parseWorkflowRef, validatePlan, ZPlan } from '../../src/domain/plans';
import { currentWork, progressOfRun, progressOfTree } from '../../src/cli/waitForRun';
import { deriveRunStatus, describeRunProgress, isTerminalRunStatus, RUN_STATUSES, summarizeRunProgress, TERMINAL_RUN_STATUSES } from '../../src/domain/runs';
import { runSummary } from '../../src/temporal/starts';

const LIMITS = { maxDepth: 8, maxChildren: 100, maxGoals: 1000, allowedRuntimes: ['shell', 'manual'] };

function frozen(): TFrozenPlan {
  return {
    format: FROZEN_FORMAT,
    root: {
      title: 'Root {{inputs.team}}',
      intent: null,
      plan: ZPlan.parse({
        children: [
          { key: 'a', kind: 'leaf', title: 'A for {{inputs.team}}', action: { runtime: 'shell', command: 'echo "{{inputs.team}}"' } },
          {
            key: 'b',
            kind: 'composite',
            title: 'B {{inputs.team}}',
            plan: { children: [{ key: 'c', kind: 'leaf', title: 'C {{inputs.team}}', action: { runtime: 'manual' } }] },
          },
          { key: 'open', kind: 'composite', title: 'Open' },
          { key: 'ref', kind: 'composite', title: 'Ref', workflow: 'hello@2', inputs: { who: 'team {{inputs.team}}' } },
        ],
        edges: [{ from: 'a', to: 'b' }],
      }),
    },
  };
}

describe('one layer of a frozen plan', () => {
  it('finds the plan at a key path: saved, saved unplanned, or not a frozen composite', () => {
    const f = frozen();
    expect(frozenPlanAt(f, [])?.children).toHaveLength(4);
    expect(frozenPlanAt(f, ['b'])?.children.map((c) => c.key)).toEqual(['c']);
    expect(frozenPlanAt(f, ['open'])).toBeNull();
    expect(frozenPlanAt(f, ['a'])).toBeUndefined();
    expect(frozenPlanAt(f, ['ref'])).toBeUndefined();
    expect(frozenPlanAt(f, ['nope'])).toBeUndefined();
  });

  it('substitutes only this layer, and only in texts and nested inputs', () => {
    const layer = instantiateLayer(frozenPlanAt(frozen(), []) as NonNullable<TFrozenPlan['root']['plan']>, { team: 'x"; rm -rf /' });
    const [a, b, , ref] = layer.children;
    expect(a).toMatchObject({ title: 'A for x"; rm -rf /', action: { command: 'echo "{{inputs.team}}"' } });
    // A frozen composite keeps its saved plan as it is: its own step substitutes it.
    expect(b).toMatchObject({ title: 'B x"; rm -rf /', plan: { children: [{ title: 'C {{inputs.team}}' }] } });
    expect(ref).toMatchObject({ workflow: 'hello@2', inputs: { who: 'team x"; rm -rf /' } });
    expect(layer.edges).toEqual([{ from: 'a', to: 'b', on: 'succeeded' }]);
  });

  it('lists workflow references, and counts them as planned', () => {
    expect(workflowRefsIn(frozen().root.plan)).toEqual([{ path: 'plan.children[3]', ref: 'hello@2', inputs: { who: 'team {{inputs.team}}' } }]);
    expect(isFullyFrozen(frozen().root.plan)).toBe(false); // `open` has no plan
    expect(parseWorkflowRef('hello@2')).toEqual({ name: 'hello', version: 2 });
    expect(parseWorkflowRef('hello@0')).toBeUndefined();
    expect(parseWorkflowRef('Hello@1')).toBeUndefined();
  });

  it('refuses a reference with a plan, and inputs without a reference', () => {
    const plan = ZPlan.parse({
      children: [
        { key: 'x', kind: 'composite', title: 'X', workflow: 'hello@1', plan: { children: [{ key: 'y', kind: 'leaf', title: 'Y', action: { runtime: 'manual' } }] } },
        { key: 'z', kind: 'composite', title: 'Z', inputs: { a: 'b' } },
      ],
    });
    expect(validatePlan(plan, LIMITS, 0, 1).map((p) => [p.rule, p.path])).toEqual([
      ['workflow_ref', 'children[0].plan'],
      ['workflow_ref', 'children[1].inputs'],
    ]);
  });

  it('names input variables', () => {
    expect(inputEnvName('release-train')).toBe('REPRISE_INPUT_release_train');
  });
});

describe('a run status, derived', () => {
  const root = { id: 'goal_r', lifecycle: 'active', doneReason: null, blockReason: null, failureReason: null };
  it.each([
    [{ state: 'claimed', error: null, root: null, blocked: null }, 'pending', 'instantiation claimed'],
    [{ state: 'failed', error: 'workflow gone', root: null, blocked: null }, 'failed', 'instantiation failed: workflow gone'],
    [{ state: 'materialized', error: null, root: { ...root, lifecycle: 'done', doneReason: 'accepted' }, blocked: null }, 'done', 'accepted'],
    [{ state: 'materialized', error: null, root: { ...root, lifecycle: 'failed', failureReason: 'child "a" failed' }, blocked: null }, 'failed', 'child "a" failed'],
    [{ state: 'materialized', error: null, root: { ...root, lifecycle: 'cancelled' }, blocked: null }, 'cancelled', 'cancelled'],
    [{ state: 'materialized', error: null, root, blocked: { id: 'goal_b', key: 'deep', blockReason: 'needs a plan' } }, 'blocked', 'goal "deep" needs a plan'],
    [{ state: 'materialized', error: null, root, blocked: null }, 'running', null],
    [{ state: 'materializing', error: null, root: { ...root, lifecycle: 'draft' }, blocked: null }, 'pending', 'instantiation materializing'],
    [{ state: 'materialized', error: null, root: { ...root, lifecycle: 'draft' }, blocked: null }, 'pending', 'materialized; the tree is starting'],
    [{ state: 'skipped', error: 'the previous run is still active', root: null, blocked: null }, 'skipped', 'the previous run is still active'],
  ] as const)('%j → %s', (input, status, reason) => {
    expect(deriveRunStatus(input)).toMatchObject({ status, reason });
  });

  it('has ended exactly in the terminal statuses, and a failed or skipped instantiation shows as one', () => {
    expect(TERMINAL_RUN_STATUSES).toEqual(['done', 'failed', 'cancelled', 'skipped']);
    expect(RUN_STATUSES.filter(isTerminalRunStatus)).toEqual(TERMINAL_RUN_STATUSES);
    // A materialized run whose tree still runs has not ended; one whose instantiation failed has, whatever its root says.
    expect(isTerminalRunStatus(deriveRunStatus({ state: 'materialized', error: null, root, blocked: null }).status)).toBe(false);
    expect(isTerminalRunStatus(deriveRunStatus({ state: 'failed', error: 'gone', root, blocked: null }).status)).toBe(true);
    expect(isTerminalRunStatus(deriveRunStatus({ state: 'skipped', error: 'overlap', root: null, blocked: null }).status)).toBe(true);
  });
});

describe('a run summary in the Web UI', () => {
  it('names the workflow, version, inputs and key, bounded', () => {
    expect(runSummary({ name: 'report', version: 3 }, { team: 'payments' }, 'k1')).toBe('report v3 (team=payments) · key k1');
    expect(runSummary({ name: 'report', version: 3 }, { team: 'x'.repeat(500) }, 'k1').length).toBeLessThanOrEqual(200);
  });
});

describe('summarizeRunProgress', () => {
  it('counts goals, ended ones, and finds the deepest layer with work', () => {
    const p = summarizeRunProgress([
      { lifecycle: 'active', depth: 0, goals: 1 },
      { lifecycle: 'active', depth: 1, goals: 1 },
      { lifecycle: 'done', depth: 1, goals: 2 },
      { lifecycle: 'blocked', depth: 2, goals: 1 },
      { lifecycle: 'draft', depth: 3, goals: 4 },
      { lifecycle: 'failed', depth: 2, goals: 1 },
    ]);
    expect(p).toEqual({ goals: 10, ended: 3, byLifecycle: { active: 2, done: 2, blocked: 1, draft: 4, failed: 1 }, currentLayer: 2, layers: 4 });
    expect(summarizeRunProgress([])).toEqual({ goals: 0, ended: 0, byLifecycle: {}, currentLayer: null, layers: 0 });
  });
});

describe('the progress line of run --wait', () => {
  type TTree = Parameters<typeof progressOfTree>[0];
  const goal = (title: string, kind: 'leaf' | 'composite', lifecycle: string, children: TTree[] = []): TTree =>
    ({ id: `goal_${title}`, title, kind, lifecycle, children, edges: [] }) as unknown as TTree;

  // The release example as the user saw it: Build (Compile, Test) is done and Ship runs.
  const shipping = goal('Release prod', 'composite', 'active', [
    goal('Build', 'composite', 'done', [goal('Compile', 'leaf', 'done'), goal('Test', 'leaf', 'done')]),
    goal('Ship to prod', 'leaf', 'active'),
  ]);

  it('counts layers from 1, and names the layer of the goal it says is running', () => {
    const p = progressOfTree(shipping);
    expect(p).toEqual({ goals: 5, ended: 3, byLifecycle: { active: 2, done: 3 }, currentLayer: 1, layers: 3 });
    expect(`${describeRunProgress(p, false)}  ${currentWork(shipping)}`).toBe('3/5 goals done, layer 2 of 3  running Ship to prod');
    const compiling = goal('Release prod', 'composite', 'active', [
      goal('Build', 'composite', 'active', [goal('Compile', 'leaf', 'active'), goal('Test', 'leaf', 'draft')]),
      goal('Ship to prod', 'leaf', 'draft'),
    ]);
    expect(`${describeRunProgress(progressOfTree(compiling), false)}  ${currentWork(compiling)}`).toBe('0/5 goals done, layer 3 of 3  running Compile');
  });

  it('leaves the layer out once the run ended or while nothing is active, and counts failures', () => {
    const ended = { goals: 5, ended: 5, byLifecycle: { done: 4, failed: 1 }, currentLayer: null, layers: 3 };
    expect(describeRunProgress(ended, true)).toBe('4/5 goals done, 1 failed or cancelled');
    expect(describeRunProgress({ ...ended, currentLayer: 0 }, true)).toBe('4/5 goals done, 1 failed or cancelled');
    expect(describeRunProgress({ goals: 1, ended: 0, byLifecycle: { draft: 1 }, currentLayer: null, layers: 1 }, false)).toBe('0/1 goals done');
  });

  it("reads the API's progress in the same shape as the tree's", () => {
    const api = { goals: 5, ended: 3, by_lifecycle: { active: 2, done: 3 }, current_layer: 1, layers: 3 };
    expect(progressOfRun(api)).toEqual(progressOfTree(shipping));
    expect(describeRunProgress(progressOfRun(api), false)).toBe('3/5 goals done, layer 2 of 3');
  });
});
