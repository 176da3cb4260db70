import { parse } from '@marcbachmann/cel-js';
import type { TEndStatus } from './goals';

/**
 * `{ "when": "<expression>" }` edges are CEL (Common Expression Language):
 * non-Turing-complete, side-effect free, evaluated by @marcbachmann/cel-js,
 * which interprets a parsed tree (no eval, no Function), so it is also safe
 * and deterministic inside Temporal's workflow sandbox.
 *
 * The context is the predecessor's result (TEdgeContext). Plan submission
 * parses every expression; evaluation that fails at run time (a missing
 * field, a non-boolean result) means the edge does not fire, with the reason
 * recorded.
 */

export interface TEdgeContext {
  /** How the predecessor ended. */
  status: TEndStatus;
  /** Shell leaves; null elsewhere. */
  exit_code: number | null;
  stdout: string;
  stderr: string;
  /** HTTP leaves: the response status; null elsewhere. */
  http_status: number | null;
  /** stdout or an HTTP body parsed as a JSON object, a manual/agent completion's output; {} otherwise. */
  output: Record<string, unknown>;
}

export const MAX_EXPRESSION_LENGTH = 2000;

/** A parse error message, or undefined when the expression is valid CEL. */
export function expressionError(expression: string): string | undefined {
  if (expression.length > MAX_EXPRESSION_LENGTH) return `longer than ${MAX_EXPRESSION_LENGTH} characters`;
  try {
    parse(expression);
    return undefined;
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).split('\n')[0];
  }
}

/** Evaluates a `when` expression: fired, or not with the reason. */
export function evaluateWhen(expression: string, context: TEdgeContext): { fired: boolean; reason?: string } {
  try {
    const value = parse(expression)(context as unknown as Record<string, unknown>);
    if (typeof value !== 'boolean') return { fired: false, reason: `evaluated to ${typeof value}, not a boolean` };
    return { fired: value, ...(value ? {} : { reason: 'evaluated to false' }) };
  } catch (err) {
    return { fired: false, reason: (err instanceof Error ? err.message : String(err)).split('\n')[0] };
  }
}

/** A JSON object parsed from text, or {} when the text is not one. */
export function parseOutputObject(text: string | undefined): Record<string, unknown> {
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
