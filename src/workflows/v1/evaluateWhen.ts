// FROZEN: the first engine (runGoal), kept only so executions it started, and
// their recorded histories (test/histories/v1*), still replay. New work goes
// to runGoalV2; change this only to keep it compiling.
import { parse } from '@marcbachmann/cel-js';
import type { TEdgeContext } from '../../domain/expressions';

/**
 * `when` evaluation exactly as runGoal v1 did it (no cost limits): a replayed
 * v1 execution must decide every edge as it did when it ran. New executions
 * run on runGoalV2, whose evaluator (domain/expressions.ts) bounds the cost.
 */
export function evaluateWhen(expression: string, context: TEdgeContext): { fired: boolean; reason?: string } {
  try {
    const value = parse(expression)(context as unknown as Record<string, unknown>);
    if (typeof value !== 'boolean') return { fired: false, reason: `evaluated to ${typeof value}, not a boolean` };
    return { fired: value, ...(value ? {} : { reason: 'evaluated to false' }) };
  } catch (err) {
    return { fired: false, reason: (err instanceof Error ? err.message : String(err)).split('\n')[0] };
  }
}
