import { CancellationScope, condition, isCancellation, patched, sleep } from '@temporalio/workflow';
import type { TLayer, TLayerChild } from '../activities';
import { STEP_EVALUATION_BUDGET } from '../domain/expressions';
import { LayerGraph, type TChildEnd, type TDecisions } from '../domain/graph';
import type { TGoalCarry } from '../temporal/starts';
import type { TEnd } from './goalEnds';

/**
 * The walk of one composite's layer (pursueGoal): start children as their
 * joins are met, at most `parallelism` at once; skip what can no longer run;
 * record how each ended. Each activation does work in proportion to the
 * children that ended in it (a completion queue, never a race over every
 * running promise; the graph settles only the ended children's edges).
 *
 * The `when` edges settled in one activation share one step's evaluation
 * budget (domain/expressions.ts): when the children that ended together
 * would pass it, the rest wait for the next activation (a 1 ms timer), so
 * however many ended at once, no activation nears Temporal's deadline.
 *
 * When `shouldContinueAsNew` says the history has grown enough, the walk
 * stops starting children, lets the running ones finish, and returns what the
 * next execution needs (`carry`): the execution then continues as new.
 */

type TWalkCarry = Extract<TGoalCarry, { stage: 'walk' }>;

export type TWalkResult =
  | { finished: true; notDone: TWalkCarry['notDone']; faults: string[] }
  | { finished: false; carry: Pick<TWalkCarry, 'graph' | 'ready' | 'notDone'> };

export interface TWalkOptions {
  layer: TLayer;
  carry?: TWalkCarry;
  runChild: (child: TLayerChild) => Promise<TEnd>;
  skip: (goals: { goalId: string; because: string[] }[]) => Promise<void>;
  shouldContinueAsNew: () => boolean;
}

/** Skips recorded by one activity at most (each carries its reasons). */
const SKIP_BATCH = 500;

/**
 * Walks recorded before the step budget evaluated every ended child's edges
 * in the activation it ended in, each edge on its own budget: without this
 * marker they replay so. Asked only when a step's budget would be passed.
 */
export const WHEN_STEP_BUDGET_PATCH = 'when-step-evaluation-budget';
const enforceStepBudget = (): boolean => patched(WHEN_STEP_BUDGET_PATCH);

export type TEnded = { index: number; end: TEnd } | { index: number; error: unknown };

function childEnd(end: TEnd): TChildEnd {
  return end.status === 'cancelled' ? { skipped: true, cancelled: true } : { skipped: false, context: end.context };
}

/** How many of `ended` (in order) this activation settles: at least one, then while the step's budget lasts. */
export function stepOf(graph: LayerGraph, ended: TEnded[], enforce: () => boolean = enforceStepBudget): number {
  let spent = 0;
  for (let i = 0; i < ended.length; i++) {
    const item = ended[i] as TEnded;
    const cost = 'error' in item ? 0 : graph.cost(item.index, childEnd(item.end));
    if (i > 0 && spent + cost > STEP_EVALUATION_BUDGET && enforce()) return i;
    spent += cost;
  }
  return ended.length;
}

export async function walkLayer(options: TWalkOptions): Promise<TWalkResult> {
  const { layer, carry } = options;
  const children = layer.children;
  const graph = carry ? LayerGraph.restore(children, layer.edges, carry.graph) : new LayerGraph(children, layer.edges);
  const ready: number[] = carry ? [...carry.ready] : [];
  let head = 0;
  const skips: number[] = [];
  const ended: TEnded[] = [];
  const running = new Map<number, Promise<void>>();
  const notDone: TWalkCarry['notDone'] = carry ? { ...carry.notDone } : { count: 0 };
  let continuingAsNew = false;
  /** Children that ended in this execution: it continues as new only after progress, never in a loop of empty executions. */
  let endedHere = 0;
  /** Ends left for the next activation: the last one's evaluation budget was spent. */
  let deferred = false;

  const take = (decisions: TDecisions): void => {
    for (const i of decisions.start) ready.push(i);
    for (const i of decisions.skip) skips.push(i);
  };
  const start = (index: number): void => {
    running.set(
      index,
      options.runChild(children[index] as TLayerChild).then(
        (end) => void ended.push({ index, end }),
        (error: unknown) => void ended.push({ index, error }),
      ),
    );
  };
  if (!carry) take(graph.initial());

  try {
    for (;;) {
      while (skips.length) {
        // Reasons first (they read the skipped child's incoming edges), then its end, which may skip more.
        const batch = skips.splice(0, SKIP_BATCH);
        const goals = batch.map((i) => ({ goalId: (children[i] as TLayerChild).id, because: graph.deadReasons(i) }));
        for (const i of batch) take(graph.ended(i, { skipped: true }));
        await options.skip(goals);
      }
      if (!continuingAsNew && endedHere > 0 && options.shouldContinueAsNew()) continuingAsNew = true;
      while (!continuingAsNew && running.size < layer.parallelism && head < ready.length) start(ready[head++] as number);
      if (running.size === 0) {
        if (head < ready.length) return { finished: false, carry: { graph: graph.snapshot(), ready: ready.slice(head), notDone } };
        return { finished: true, notDone, faults: graph.faults };
      }
      if (deferred) await sleep(1);
      else await condition(() => ended.length > 0);
      const settling = stepOf(graph, ended);
      deferred = settling < ended.length;
      for (const item of ended.splice(0, settling)) {
        running.delete(item.index);
        endedHere += 1;
        if ('error' in item) throw item.error;
        const { index, end } = item;
        if (end.outcome.lifecycle !== 'done') {
          notDone.count += 1;
          if (!notDone.first || index < notDone.first.index) {
            notDone.first = { index, what: end.outcome.lifecycle === 'failed' ? `failed: ${end.outcome.failureReason}` : 'was cancelled' };
          }
        }
        take(graph.ended(index, childEnd(end), enforceStepBudget));
      }
    }
  } catch (err) {
    // On cancellation, let running children finish their own cleanup (kill
    // commands, close subtrees) before this workflow closes: closing first
    // would terminate child workflows mid-cleanup.
    if (isCancellation(err) || CancellationScope.current().consideredCancelled) await Promise.allSettled(running.values());
    throw err;
  }
}
