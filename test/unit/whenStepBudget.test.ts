import { EVALUATION_BUDGET, STEP_EVALUATION_BUDGET, whenCost, type TEdgeContext } from '../../src/domain/expressions';
import { LayerGraph, type TGraphEdge } from '../../src/domain/graph';
import { context, succeeded } from '../../src/workflows/goalEnds';
import { stepOf, type TEnded } from '../../src/workflows/walk';

/**
 * The `when` budget per step, not per edge: a goal with a hundred
 * near-budget edges (each some 20 ms of cel-js work here) once took seconds
 * in one workflow activation, past Temporal's deadline. Now one goal's edges
 * share a step's budget, and ends that arrive together are settled in steps.
 */

// A body that rescans the output per element: its cost grows with the output squared.
const NEAR_BUDGET = 'output.items.all(i, i in output.items)';
const nearBudgetContext: TEdgeContext = context('succeeded', { output: { items: Array.from({ length: 760 }, (_, i) => i) } });

it('the expression used here is near (and within) its own budget', () => {
  const cost = whenCost(NEAR_BUDGET, nearBudgetContext);
  expect(cost).toBeGreaterThan(EVALUATION_BUDGET * 0.8);
  expect(cost).toBeLessThanOrEqual(EVALUATION_BUDGET);
});

function fanOut(n: number): LayerGraph {
  const targets = Array.from({ length: n }, (_, i) => `b${i}`);
  const edges: TGraphEdge[] = targets.map((to) => ({ from: 'a', to, on: { when: NEAR_BUDGET } }));
  const graph = new LayerGraph([{ key: 'a', joinCount: null }, ...targets.map((key) => ({ key, joinCount: null }))], edges);
  graph.initial();
  return graph;
}

describe("one goal's when edges share a step's budget", () => {
  const perStep = Math.floor(STEP_EVALUATION_BUDGET / whenCost(NEAR_BUDGET, nearBudgetContext));

  it('evaluates a hundred near-budget edges out of one goal only as far as the budget goes; the rest are faults', () => {
    const graph = fanOut(100);
    const decided = graph.ended(0, { skipped: false, context: nearBudgetContext });
    expect(decided.start).toHaveLength(perStep);
    expect(decided.skip).toHaveLength(100 - perStep);
    expect(graph.faults).toHaveLength(100 - perStep);
    expect(graph.faults[0]).toBe(`edge a → b${perStep}: when "${NEAR_BUDGET}" was not evaluated: the when edges out of one goal would together exceed their evaluation budget`);
    expect(graph.cost(0, { skipped: false, context: nearBudgetContext })).toBe(STEP_EVALUATION_BUDGET);
  });

  it('evaluates them all, each on its own budget, where the step budget is not enforced (histories recorded before it)', () => {
    const graph = fanOut(perStep + 2);
    expect(graph.ended(0, { skipped: false, context: nearBudgetContext }, () => false).start).toHaveLength(perStep + 2);
    expect(graph.faults).toEqual([]);
  });
});

describe('ends that arrive in one activation', () => {
  const children = Array.from({ length: 30 }, (_, i) => [{ key: `a${i}`, joinCount: null }, { key: `b${i}`, joinCount: null }]).flat();
  const edges: TGraphEdge[] = Array.from({ length: 30 }, (_, i) => ({ from: `a${i}`, to: `b${i}`, on: { when: NEAR_BUDGET } }));
  const ended: TEnded[] = Array.from({ length: 30 }, (_, i) => ({ index: 2 * i, end: succeeded(nearBudgetContext) }));

  it('are settled as many at a time as the step budget allows, at least one', () => {
    const graph = new LayerGraph(children, edges);
    const perStep = Math.floor(STEP_EVALUATION_BUDGET / whenCost(NEAR_BUDGET, nearBudgetContext));
    expect(stepOf(graph, ended, () => true)).toBe(perStep);
    expect(stepOf(graph, ended.slice(0, 1), () => true)).toBe(1);
    const cheap: TEnded[] = ended.map((e) => ({ ...e, end: succeeded(context('succeeded')) }));
    expect(stepOf(graph, cheap, () => true)).toBe(30);
  });

  it('are settled all at once where the step budget is not enforced', () => {
    expect(stepOf(new LayerGraph(children, edges), ended, () => false)).toBe(30);
  });
});
