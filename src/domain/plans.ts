import { z } from './zod';
import { ZAction } from './actions';
import { expressionError } from './expressions';
import { END_STATUSES } from './goals';

/**
 * Plans (SPEC §2): the children of one composite and the edges between them.
 * The same shape arrives inline in POST /api/goals, in POST /api/goals/{id}/plan,
 * and nested inside composite children. Structural checks zod cannot make
 * (unique keys, sibling edges, cycles, joins, limits, runtimes, expressions)
 * are in validatePlan, which names the rule each problem breaks.
 */

/**
 * Text limits of a goal's fields, live or saved alike. A run's texts with
 * their inputs substituted are held to the same limits (domain/frozenPlans.ts).
 */
export const MAX_TITLE_LENGTH = 200;
export const MAX_INTENT_LENGTH = 10_000;
export const MAX_JUDGMENT_TEXT_LENGTH = 10_000;
/** An input value: a run's or schedule's, a declared default, or one a child hands to a nested workflow. */
export const MAX_INPUT_VALUE_LENGTH = 10_000;

export const ZAcceptance = z
  .object({
    /** A deterministic command run in the tree's workspace; exit 0 passes. */
    check: z.string().min(1).max(16_384).optional(),
    /** A person or external judge accepts or rejects through the API. */
    judgment: z
      .object({ prompt: z.string().min(1).max(MAX_JUDGMENT_TEXT_LENGTH), rubric: z.string().max(MAX_JUDGMENT_TEXT_LENGTH).optional() })
      .strict()
      .optional(),
  })
  .strict();

/** Which acceptance steps a goal's stored acceptance asks for (none when it does not parse). */
export function acceptanceFlagsOf(stored: unknown): { check: boolean; judgment: boolean } {
  const acceptance = ZAcceptance.safeParse(stored ?? {});
  return { check: Boolean(acceptance.data?.check), judgment: Boolean(acceptance.data?.judgment) };
}

export const ZEdgeOn = z.union([
  z.enum([...END_STATUSES, 'always']),
  z.object({ when: z.string().min(1).max(2000) }).strict(),
]);

export const ZEdge = z.object({ from: z.string().max(64), to: z.string().max(64), on: ZEdgeOn.default('succeeded') }).strict();

export const ZJoin = z.union([z.literal('all'), z.number().int().positive()]);

export const KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const ZKey = z.string().regex(KEY_PATTERN, 'keys are 1-64 of a-z 0-9 _ - and start with a letter or digit');
const ZTitle = z.string().trim().min(1, 'title must not be empty').max(MAX_TITLE_LENGTH);

const ZLeafChild = z
  .object({
    key: ZKey,
    kind: z.literal('leaf'),
    title: ZTitle,
    intent: z.string().max(MAX_INTENT_LENGTH).optional(),
    action: ZAction,
    acceptance: ZAcceptance.optional(),
    join: ZJoin.optional(),
  })
  .strict();

/** A saved workflow's name: a slug, unique per owner (versions count up under it). */
export const WORKFLOW_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** `name@version`: a plan child that runs a saved workflow as a nested run. */
export const WORKFLOW_REF_PATTERN = /^([a-z0-9][a-z0-9_-]{0,63})@([1-9][0-9]{0,8})$/;

/** A workflow reference's parts. */
export function parseWorkflowRef(ref: string): { name: string; version: number } | undefined {
  const m = WORKFLOW_REF_PATTERN.exec(ref);
  return m ? { name: m[1] as string, version: Number(m[2]) } : undefined;
}

const ZCompositeChild = z
  .object({
    key: ZKey,
    kind: z.literal('composite'),
    title: ZTitle,
    intent: z.string().max(MAX_INTENT_LENGTH).optional(),
    acceptance: ZAcceptance.optional(),
    join: ZJoin.optional(),
    /** Runs this saved workflow (`name@version`, of the same owner) as a nested run; no `plan` then. */
    workflow: z
      .string()
      .regex(WORKFLOW_REF_PATTERN, 'a workflow reference is "name@version", e.g. "nightly-report@3"')
      .optional()
      .openapi({ description: 'Run a saved workflow of the same owner here, as a nested run: `name@version`. The child then has no `plan`.' }),
    /** The nested run's inputs (with `workflow`); `{{inputs.x}}` in them takes the enclosing run's values. */
    inputs: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'input names are letters, digits, _ and -'), z.string().max(MAX_INPUT_VALUE_LENGTH)).optional(),
    /** The composite's own plan; null or absent leaves it unplanned (it waits for one). */
    get plan(): z.ZodOptional<z.ZodNullable<typeof ZPlan>> {
      return ZPlan.nullable().optional();
    },
  })
  .strict();

export const ZPlanChild = z.discriminatedUnion('kind', [ZLeafChild, ZCompositeChild]);

/**
 * Hard caps regardless of the agent's limits. A layer's children and edges
 * are loaded into its composite's Temporal workflow in one activity result
 * (kept well under Temporal's 2 MB payload limit), and at most
 * MAX_PARALLELISM run at once (under its 2,000 pending activities or children).
 */
export const MAX_PLAN_CHILDREN = 5000;
export const MAX_PLAN_EDGES = 20_000;
export const MAX_PARALLELISM = 1000;

export const ZParallelism = z.number().int().min(1).max(MAX_PARALLELISM);

export const ZPlan = z
  .object({
    children: z
      .array(ZPlanChild)
      .min(1, 'a plan needs at least one child')
      .max(MAX_PLAN_CHILDREN, `a plan has at most ${MAX_PLAN_CHILDREN} children`),
    edges: z.array(ZEdge).max(MAX_PLAN_EDGES, `a plan has at most ${MAX_PLAN_EDGES} edges`).default([]),
    /** Children running at once; the rest wait their turn. Default: the agent's `default_parallelism`. */
    parallelism: ZParallelism.optional().openapi({ description: `Children running at once (1-${MAX_PARALLELISM}); the rest wait their turn. Default: the agent's.` }),
  })
  .strict()
  .openapi('Plan');

export type TPlan = z.infer<typeof ZPlan>;
export type TPlanChild = z.infer<typeof ZPlanChild>;
export type TLeafChild = z.infer<typeof ZLeafChild>;
export type TCompositeChild = z.infer<typeof ZCompositeChild>;
export type TEdge = z.infer<typeof ZEdge>;
export type TEdgeOn = z.infer<typeof ZEdgeOn>;
export type TJoin = z.infer<typeof ZJoin>;
export type TAcceptance = z.infer<typeof ZAcceptance>;

export interface TAgentLimits {
  maxDepth: number;
  maxChildren: number;
  maxGoals: number;
  allowedRuntimes: string[];
}

export type TPlanRule =
  | 'keys_unique'
  | 'edge_endpoints'
  | 'edge_self'
  | 'edge_duplicate'
  | 'no_cycles'
  | 'join_satisfiable'
  | 'expression_valid'
  | 'max_children'
  | 'max_depth'
  | 'max_goals'
  | 'runtime_allowed'
  | 'workflow_ref';

export interface TPlanProblem {
  rule: TPlanRule;
  /** Where in the plan, e.g. `children[2].plan.edges[0]`. */
  path: string;
  message: string;
}

/** Number of goals a plan creates, nested plans included. */
export function countPlanGoals(plan: TPlan): number {
  return plan.children.reduce((n, c) => n + 1 + (c.kind === 'composite' && c.plan ? countPlanGoals(c.plan) : 0), 0);
}

/**
 * Checks a plan (and every nested plan) for the composite at `depth` (the
 * root goal is depth 0; its children are depth 1). `existingGoals` is the size
 * of the tree before this plan. Returns every problem, not just the first.
 */
export function validatePlan(plan: TPlan, limits: TAgentLimits, depth: number, existingGoals: number): TPlanProblem[] {
  const problems: TPlanProblem[] = [];
  const total = existingGoals + countPlanGoals(plan);
  if (total > limits.maxGoals) {
    problems.push({ rule: 'max_goals', path: '', message: `the tree would have ${total} goals; the agent allows at most ${limits.maxGoals}` });
  }
  validateLayer(plan, limits, depth, '', problems);
  return problems;
}

function validateLayer(plan: TPlan, limits: TAgentLimits, depth: number, at: string, problems: TPlanProblem[]): void {
  const here = (p: string) => (at ? `${at}.${p}` : p);
  const childDepth = depth + 1;
  // Past the limit, this layer is still checked, but deeper ones are not:
  // they would only repeat the depth problem at ever longer paths.
  const tooDeep = childDepth > limits.maxDepth;
  if (tooDeep) {
    problems.push({ rule: 'max_depth', path: here('children'), message: `goals at depth ${childDepth} exceed the agent's maximum depth of ${limits.maxDepth}` });
  }
  if (plan.children.length > limits.maxChildren) {
    problems.push({
      rule: 'max_children',
      path: here('children'),
      message: `${plan.children.length} children; the agent allows at most ${limits.maxChildren} per composite`,
    });
  }

  const keys = new Map<string, number>();
  plan.children.forEach((child, i) => {
    if (keys.has(child.key)) {
      problems.push({ rule: 'keys_unique', path: here(`children[${i}].key`), message: `key "${child.key}" is used twice among siblings` });
    } else {
      keys.set(child.key, i);
    }
    if (child.kind === 'leaf' && !limits.allowedRuntimes.includes(child.action.runtime)) {
      problems.push({
        rule: 'runtime_allowed',
        path: here(`children[${i}].action.runtime`),
        message: `the agent may not run "${child.action.runtime}" actions (allowed: ${limits.allowedRuntimes.join(', ') || 'none'})`,
      });
    }
    if (child.acceptance?.check !== undefined && !limits.allowedRuntimes.includes('shell')) {
      problems.push({
        rule: 'runtime_allowed',
        path: here(`children[${i}].acceptance.check`),
        message: 'an acceptance check runs as a shell command, and the agent may not run "shell" actions',
      });
    }
    if (child.kind === 'composite' && child.workflow === undefined && child.inputs !== undefined) {
      problems.push({ rule: 'workflow_ref', path: here(`children[${i}].inputs`), message: 'inputs are given only with a `workflow` reference' });
    }
    if (child.kind === 'composite' && child.workflow !== undefined && child.plan) {
      problems.push({ rule: 'workflow_ref', path: here(`children[${i}].plan`), message: `"${child.key}" runs workflow ${child.workflow}; it takes no plan of its own` });
    }
    if (child.kind === 'composite' && child.plan && !tooDeep) validateLayer(child.plan, limits, childDepth, here(`children[${i}].plan`), problems);
  });

  const incoming = new Map<string, number>();
  const seen = new Set<string>();
  plan.edges.forEach((edge, i) => {
    const path = here(`edges[${i}]`);
    let ok = true;
    for (const end of ['from', 'to'] as const) {
      if (!keys.has(edge[end])) {
        problems.push({ rule: 'edge_endpoints', path: `${path}.${end}`, message: `"${edge[end]}" is not a child of this composite` });
        ok = false;
      }
    }
    if (edge.from === edge.to) {
      problems.push({ rule: 'edge_self', path, message: `edge from "${edge.from}" to itself` });
      ok = false;
    }
    const id = `${edge.from}\u0000${edge.to}`;
    if (seen.has(id)) {
      problems.push({ rule: 'edge_duplicate', path, message: `a second edge from "${edge.from}" to "${edge.to}"` });
      ok = false;
    }
    seen.add(id);
    if (typeof edge.on === 'object') {
      const error = expressionError(edge.on.when);
      if (error) problems.push({ rule: 'expression_valid', path: `${path}.on.when`, message: `invalid expression: ${error}` });
    }
    if (ok) incoming.set(edge.to, (incoming.get(edge.to) ?? 0) + 1);
  });

  plan.children.forEach((child, i) => {
    if (typeof child.join !== 'number') return;
    const n = incoming.get(child.key) ?? 0;
    if (child.join > n) {
      problems.push({
        rule: 'join_satisfiable',
        path: here(`children[${i}].join`),
        message: `join ${child.join} can never be met: "${child.key}" has ${n} incoming edge${n === 1 ? '' : 's'}`,
      });
    }
  });

  const cycle = findCycle(
    [...keys.keys()],
    plan.edges.filter((e) => keys.has(e.from) && keys.has(e.to) && e.from !== e.to),
  );
  if (cycle) problems.push({ rule: 'no_cycles', path: here('edges'), message: `edges form a cycle: ${cycle.join(' → ')}` });
}

/** One cycle as a list of keys (first repeated at the end), or undefined. */
export function findCycle(keys: string[], edges: { from: string; to: string }[]): string[] | undefined {
  const out = new Map<string, string[]>(keys.map((k) => [k, []]));
  for (const e of edges) out.get(e.from)?.push(e.to);
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (k: string): string[] | undefined => {
    state.set(k, 'visiting');
    stack.push(k);
    for (const next of out.get(k) ?? []) {
      if (state.get(next) === 'visiting') return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(k, 'done');
    return undefined;
  };
  for (const k of keys) {
    if (!state.has(k)) {
      const found = visit(k);
      if (found) return found;
    }
  }
  return undefined;
}
