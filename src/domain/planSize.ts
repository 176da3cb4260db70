import { DomainError } from './errors';
import { countPlanGoals, parseWorkflowRef, type TAgentLimits, type TPlan, type TPlanProblem } from './plans';

/**
 * How big a plan's tree grows once its nested runs are in it (SPEC §2: a
 * child naming `"workflow": "name@version"` runs that workflow as a nested
 * run, whose goals are written under the child, in the same tree, under the
 * same agent's limits). validatePlan counts such a child as one goal; this
 * adds what the named version brings, transitively, so `max_goals` and
 * `max_depth` hold for the tree as it will be, not as it is submitted.
 */

/** A composite's plan as it will be: the goals below the composite, and how many levels they go down (0 without a plan). */
export interface TPlanFootprint {
  goals: number;
  depth: number;
}

export const NO_FOOTPRINT: TPlanFootprint = { goals: 0, depth: 0 };

/**
 * The footprint of a plan, nested runs included: each child naming a
 * workflow brings its version's footprint (`refs`, by `name@version`; one
 * missing counts as nothing, being refused elsewhere).
 */
export function planFootprint(plan: TPlan | null | undefined, refs: ReadonlyMap<string, TPlanFootprint>): TPlanFootprint {
  if (!plan) return NO_FOOTPRINT;
  let goals = 0;
  let depth = 0;
  for (const child of plan.children) {
    const below = child.kind === 'leaf' ? NO_FOOTPRINT : child.workflow !== undefined ? (refs.get(child.workflow) ?? NO_FOOTPRINT) : planFootprint(child.plan, refs);
    goals += 1 + below.goals;
    depth = Math.max(depth, 1 + below.depth);
  }
  return { goals, depth };
}

/**
 * What the nested runs of a plan for the composite at `depth` break that the
 * plan alone does not (validatePlan reports the rest): the tree's size with
 * them past `max_goals`, and children whose nested run goes deeper than
 * `max_depth`. `existingGoals` is the tree's size before this plan.
 */
export function nestedRunProblems(plan: TPlan, refs: ReadonlyMap<string, TPlanFootprint>, limits: TAgentLimits, depth: number, existingGoals: number): TPlanProblem[] {
  const problems: TPlanProblem[] = [];
  const plain = existingGoals + countPlanGoals(plan);
  const total = existingGoals + planFootprint(plan, refs).goals;
  if (total > limits.maxGoals && plain <= limits.maxGoals) {
    problems.push({
      rule: 'max_goals',
      path: '',
      message: `with the goals of the workflows it runs as nested runs, the tree would have ${total} goals; the agent allows at most ${limits.maxGoals}`,
    });
  }
  nestedDepthProblems(plan, refs, limits, depth, '', problems);
  return problems;
}

function nestedDepthProblems(plan: TPlan, refs: ReadonlyMap<string, TPlanFootprint>, limits: TAgentLimits, depth: number, at: string, problems: TPlanProblem[]): void {
  const childDepth = depth + 1;
  // Deeper than the limit already: validatePlan says so.
  if (childDepth > limits.maxDepth) return;
  plan.children.forEach((child, i) => {
    if (child.kind !== 'composite') return;
    const here = `${at ? `${at}.` : ''}children[${i}]`;
    if (child.workflow === undefined) {
      if (child.plan) nestedDepthProblems(child.plan, refs, limits, childDepth, `${here}.plan`, problems);
      return;
    }
    const below = refs.get(child.workflow);
    if (below && childDepth + below.depth > limits.maxDepth) {
      problems.push({
        rule: 'max_depth',
        path: `${here}.workflow`,
        message: `"${child.key}" runs workflow ${child.workflow}, whose goals go ${below.depth} levels below it: depth ${childDepth + below.depth} exceeds the agent's maximum depth of ${limits.maxDepth}`,
      });
    }
  });
}

/**
 * A saved workflow's tree as a run makes it (its root, its frozen plan and
 * the nested runs it names) against its agent's limits as they are now:
 * limits may have tightened since the save.
 */
export function runSizeProblems(plan: TPlan | null, refs: ReadonlyMap<string, TPlanFootprint>, limits: TAgentLimits): TPlanProblem[] {
  const { goals, depth } = planFootprint(plan, refs);
  const problems: TPlanProblem[] = [];
  if (1 + goals > limits.maxGoals) {
    problems.push({ rule: 'max_goals', path: 'plan', message: `a run's tree would have ${1 + goals} goals (nested runs included); the agent allows at most ${limits.maxGoals}` });
  }
  if (depth > limits.maxDepth) {
    problems.push({ rule: 'max_depth', path: 'plan', message: `a run's tree would go ${depth} levels deep (nested runs included); the agent allows at most ${limits.maxDepth}` });
  }
  return problems;
}

/** The distinct `name@version` references a footprint needs, parsed (malformed ones left out: they are refused elsewhere). */
export function parsedRefs(refs: readonly string[]): { ref: string; name: string; version: number }[] {
  return [...new Set(refs)].flatMap((ref) => {
    const parsed = parseWorkflowRef(ref);
    return parsed ? [{ ref, ...parsed }] : [];
  });
}

/** The PLAN_INVALID error (400) for size problems, each as `rule at path: message`. */
export function planSizeInvalid(what: string, problems: TPlanProblem[]): DomainError {
  return new DomainError('PLAN_INVALID', `${what}: ${problems.map((p) => `${p.rule} at ${p.path || 'plan'}: ${p.message}`).join('; ')}`, problems);
}
