import type * as Cel from '@marcbachmann/cel-js';
import type { TEndStatus } from './goals';

/**
 * `{ "when": "<expression>" }` edges are CEL (Common Expression Language):
 * non-Turing-complete, side-effect free, evaluated by @marcbachmann/cel-js,
 * which interprets a parsed tree (no eval, no Function), so it is also safe
 * and deterministic inside Temporal's workflow sandbox.
 *
 * An expression is evaluated inside a workflow activation, which the sandbox
 * gives a few seconds at most, so what it may cost is bounded twice:
 * - at submission (expressionError): length, syntax-tree size and depth, list
 *   and map literals, comprehension macros (`all`, `exists`, `exists_one`,
 *   `map`, `filter`) at most a few and never nested, and no `matches` (a
 *   backtracking regex can take exponential time on a short input);
 * - at evaluation (evaluateWhen): the same checks again (a stored plan may
 *   predate a rule), then an estimate of the work from the tree's size and
 *   the context's size; over the budget, the edge is not evaluated and the
 *   result says why (`overBudget`), so the composite fails with a reason
 *   instead of wedging its worker;
 * - per step (TStepBudget): the edges evaluated together, one goal's edges
 *   and the goals that ended in one activation, share STEP_EVALUATION_BUDGET.
 *   A per-edge budget alone lets a hundred near-budget edges out of one goal
 *   take seconds in a single activation. Over it, an edge out of the same
 *   goal is not evaluated (a fault, as above); the walk (workflows/walk.ts)
 *   leaves other goals' ends to the next activation instead.
 *
 * The context is the predecessor's result (TEdgeContext), itself bounded:
 * text tails of 4 KiB and a parsed `output` of at most 16 KiB.
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
export const MAX_EXPRESSION_NODES = 200;
export const MAX_EXPRESSION_DEPTH = 24;
export const MAX_EXPRESSION_COMPREHENSIONS = 4;
export const MAX_LITERAL_ELEMENTS = 100;
/** Estimated evaluation steps one `when` may take (tens of milliseconds of cel-js work). */
export const EVALUATION_BUDGET = 5_000_000;
/**
 * Estimated steps the `when` edges evaluated in one step may take together:
 * ten near-budget edges, a few hundred milliseconds, well inside the five
 * seconds the SDK gives a workflow activation (isolateExecutionTimeout)
 * even on a loaded machine.
 */
export const STEP_EVALUATION_BUDGET = 10 * EVALUATION_BUDGET;

/**
 * What is left of a step's budget; each evaluation charges its estimate.
 * `enforce` says whether going over refuses the edge: workflow code answers
 * with a patch, so histories recorded before the step budget replay as they
 * ran (workflows/walk.ts). It is asked only when the budget would be passed.
 */
export interface TStepBudget {
  left: number;
  enforce: () => boolean;
}

const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const REFUSED_FUNCTIONS: Record<string, string> = {
  matches: '`matches` is not allowed: a regular expression can take exponential time; use contains, startsWith or endsWith',
};

interface TAstNode {
  op: string;
  args: unknown;
}

function isNode(value: unknown): value is TAstNode {
  return typeof value === 'object' && value !== null && typeof (value as { op?: unknown }).op === 'string';
}

interface TShape {
  nodes: number;
  comprehensions: number;
  /** A comprehension's body reads the context (output, stdout, stderr): its cost grows with the context squared. */
  contextInBody: boolean;
}

const CONTEXT_COLLECTIONS = new Set(['output', 'stdout', 'stderr']);

/** Walks a parsed expression, returning its shape or the first rule it breaks. */
function inspect(ast: unknown): TShape | string {
  const shape: TShape = { nodes: 0, comprehensions: 0, contextInBody: false };
  let problem: string | undefined;
  const visit = (value: unknown, depth: number, inComprehension: boolean): void => {
    if (problem) return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item, depth, inComprehension);
      return;
    }
    if (!isNode(value)) return;
    shape.nodes += 1;
    if (shape.nodes > MAX_EXPRESSION_NODES) {
      problem = `more than ${MAX_EXPRESSION_NODES} terms`;
      return;
    }
    if (depth > MAX_EXPRESSION_DEPTH) {
      problem = `nested deeper than ${MAX_EXPRESSION_DEPTH} levels`;
      return;
    }
    const { op, args } = value;
    if (inComprehension && op === 'id' && typeof args === 'string' && CONTEXT_COLLECTIONS.has(args)) shape.contextInBody = true;
    if ((op === 'list' || op === 'map') && Array.isArray(args) && args.length > MAX_LITERAL_ELEMENTS) {
      problem = `a ${op} literal has more than ${MAX_LITERAL_ELEMENTS} elements`;
      return;
    }
    if ((op === 'call' || op === 'rcall') && Array.isArray(args) && typeof args[0] === 'string') {
      const name = args[0];
      const refused = REFUSED_FUNCTIONS[name];
      if (refused) {
        problem = refused;
        return;
      }
      if (op === 'rcall' && COMPREHENSIONS.has(name)) {
        if (inComprehension) {
          problem = `\`${name}\` inside another comprehension: comprehensions may not be nested`;
          return;
        }
        shape.comprehensions += 1;
        if (shape.comprehensions > MAX_EXPRESSION_COMPREHENSIONS) {
          problem = `more than ${MAX_EXPRESSION_COMPREHENSIONS} comprehensions (all, exists, exists_one, map, filter)`;
          return;
        }
        // The receiver is evaluated once; the body runs per element.
        visit(args[1], depth + 1, inComprehension);
        visit(args[2], depth + 1, true);
        return;
      }
      visit(args.slice(1), depth + 1, inComprehension);
      return;
    }
    visit(args, depth + 1, inComprehension);
    if (isNode(args)) return;
    if (typeof args === 'object' && args !== null && !Array.isArray(args)) visit(Object.values(args), depth + 1, inComprehension);
  };
  visit(ast, 0, false);
  return problem ?? shape;
}

type TParsed = ReturnType<typeof Cel.parse>;

let cel: typeof Cel | undefined;
/**
 * CEL's parser, loaded at its first use. Workflow code imports this module,
 * and each workflow execution evaluates the modules it imports when it is
 * created (Temporal's reused V8 context keeps them apart per execution):
 * loading CEL there cost about 6 ms of the worker's CPU per execution, paid
 * now only by executions that evaluate a `when`.
 */
function parse(expression: string): TParsed {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- synchronous and lazy on purpose (above); still bundled
  cel ??= require('@marcbachmann/cel-js') as typeof Cel;
  return cel.parse(expression);
}

/** Parses and checks an expression: its evaluator and shape, or why it is refused. */
function compile(expression: string): { evaluate: TParsed; shape: TShape } | { error: string } {
  if (expression.length > MAX_EXPRESSION_LENGTH) return { error: `longer than ${MAX_EXPRESSION_LENGTH} characters` };
  let evaluate: TParsed;
  try {
    evaluate = parse(expression);
  } catch (err) {
    return { error: (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'invalid expression' };
  }
  const shape = inspect((evaluate as unknown as { ast: unknown }).ast);
  return typeof shape === 'string' ? { error: shape } : { evaluate, shape };
}

/** A parse or limit error message, or undefined when the expression may be submitted. */
export function expressionError(expression: string): string | undefined {
  const compiled = compile(expression);
  return 'error' in compiled ? compiled.error : undefined;
}

/** How many values a comprehension could iterate over or a function could scan in this context (bounded by the digest). */
function contextSize(context: TEdgeContext): number {
  let values = 0;
  const stack: unknown[] = [context.output];
  while (stack.length) {
    const value = stack.pop();
    values += 1;
    if (typeof value === 'string') values += Math.ceil(value.length / 64);
    else if (Array.isArray(value)) stack.push(...value);
    else if (value !== null && typeof value === 'object') stack.push(...Object.values(value));
  }
  return values + Math.ceil((context.stdout.length + context.stderr.length) / 64);
}

export interface TWhenResult {
  fired: boolean;
  reason?: string;
  /** Not evaluated: the expression breaks a limit, or would cost more than the budget. */
  overBudget?: true;
}

/** The estimated evaluation steps of a checked expression in this context. */
function estimate(shape: TShape, size: number): number {
  const { nodes, comprehensions, contextInBody } = shape;
  return nodes * (1 + size) * (comprehensions > 0 && contextInBody ? 1 + size : 1);
}

/** What evaluating the expression would charge a step's budget: 0 when it would not be evaluated at all. */
export function whenCost(expression: string, context: TEdgeContext): number {
  const compiled = compile(expression);
  if ('error' in compiled) return 0;
  const cost = estimate(compiled.shape, contextSize(context));
  return cost > EVALUATION_BUDGET ? 0 : cost;
}

/** Evaluates a `when` expression: fired, or not with the reason. With a step's budget, charges it. */
export function evaluateWhen(expression: string, context: TEdgeContext, step?: TStepBudget): TWhenResult {
  const compiled = compile(expression);
  if ('error' in compiled) return { fired: false, reason: `not evaluated: ${compiled.error}`, overBudget: true };
  const size = contextSize(context);
  const cost = estimate(compiled.shape, size);
  if (cost > EVALUATION_BUDGET) {
    return { fired: false, reason: `not evaluated: it would exceed its evaluation budget (${compiled.shape.nodes} terms over a ${size}-value result)`, overBudget: true };
  }
  if (step && cost > step.left && step.enforce()) {
    return { fired: false, reason: 'not evaluated: the when edges out of one goal would together exceed their evaluation budget', overBudget: true };
  }
  if (step) step.left -= cost;
  try {
    const value = compiled.evaluate(context as unknown as Record<string, unknown>);
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
