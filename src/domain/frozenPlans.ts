import { createHash } from 'node:crypto';
import { DomainError } from './errors';
import { ZStoredAction } from './actions';
import { END_STATUSES } from './goals';
import { ZAcceptance, ZPlan, type TAcceptance, type TPlan, type TPlanChild } from './plans';
import { z } from './zod';

/**
 * Frozen plans (SPEC §3): the structural snapshot a saved workflow keeps of
 * an accepted goal tree, and what instantiating it needs: canonical JSON and
 * its hash, declared text inputs, and `{{inputs.name}}` substitution in
 * exactly four places (titles, intents, judgment prompts and rubrics), never
 * in commands, URLs or checks; and in the text inputs a child hands to a
 * nested workflow, which that workflow substitutes in the same four places. Pure; the save and run services build on it.
 */

export const FROZEN_FORMAT = 'frozen/v0';

export const INPUT_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

export const ZWorkflowInput = z
  .object({
    name: z.string().min(1).max(64).regex(INPUT_NAME_PATTERN, 'input names are letters, digits, _ and -'),
    description: z.string().max(2000).optional(),
    default: z.string().max(10_000).optional(),
    required: z.boolean().optional(),
  })
  .strict()
  .openapi('WorkflowInput');

export type TWorkflowInput = z.infer<typeof ZWorkflowInput>;

/** The root of a frozen tree: what its run root is made of (its plan null while it was never planned). */
export const ZFrozenPlan = z
  .object({
    format: z.literal(FROZEN_FORMAT),
    root: z.object({ title: z.string(), intent: z.string().nullable(), acceptance: ZAcceptance.optional(), plan: ZPlan.nullable() }).strict(),
  })
  .strict();

export type TFrozenPlan = z.infer<typeof ZFrozenPlan>;

/*
 * Reading stored rows back. The schemas above (and ZPlan, ZAction) validate
 * what a request may save today, limits included; a saved version is
 * immutable, and limits tighten over time (actions were once limited to 100
 * environment variables after workflows with more were saved). So a stored
 * frozen plan is read with the schemas below: structure only, the shapes the
 * code relies on (kinds, runtimes, value types; actions as ZStoredAction),
 * with no size limits, no patterns, no trimming and no defaults. Every row was written from a value
 * the strict schemas had already parsed (defaults applied), so a row that
 * was valid when saved always reads, and reads as it was stored. Unknown
 * keys are kept (loose objects), not refused: a field a later version stopped
 * accepting does not make an old row unreadable.
 */

const ZStoredAcceptance = z.looseObject({
  check: z.string().optional(),
  judgment: z.looseObject({ prompt: z.string(), rubric: z.string().optional() }).optional(),
});

const ZStoredEdge = z.looseObject({
  from: z.string(),
  to: z.string(),
  on: z.union([z.enum([...END_STATUSES, 'always']), z.looseObject({ when: z.string() })]),
});

const ZStoredJoin = z.union([z.literal('all'), z.number()]);

const ZStoredLeaf = z.looseObject({
  key: z.string(),
  kind: z.literal('leaf'),
  title: z.string(),
  intent: z.string().optional(),
  action: ZStoredAction,
  acceptance: ZStoredAcceptance.optional(),
  join: ZStoredJoin.optional(),
});

const ZStoredComposite = z
  .object({
    key: z.string(),
    kind: z.literal('composite'),
    title: z.string(),
    intent: z.string().optional(),
    acceptance: ZStoredAcceptance.optional(),
    join: ZStoredJoin.optional(),
    workflow: z.string().optional(),
    inputs: z.record(z.string(), z.string()).optional(),
    get plan(): z.ZodOptional<z.ZodNullable<typeof ZStoredPlan>> {
      return ZStoredPlan.nullable().optional();
    },
  })
  .loose();

const ZStoredChild = z.discriminatedUnion('kind', [ZStoredLeaf, ZStoredComposite]);

const ZStoredPlan = z
  .object({
    children: z.array(ZStoredChild),
    edges: z.array(ZStoredEdge),
    parallelism: z.number().optional(),
  })
  .loose();

/** A stored frozen plan, read leniently (see above); typed as the strict shape it was saved as. */
export const ZStoredFrozenPlan: z.ZodType<TFrozenPlan> = z.looseObject({
  format: z.literal(FROZEN_FORMAT),
  root: z.looseObject({ title: z.string(), intent: z.string().nullable(), acceptance: ZStoredAcceptance.optional(), plan: ZStoredPlan.nullable() }),
});

/** A stored declared input, read leniently (no name pattern, no length limits). */
export const ZStoredWorkflowInput: z.ZodType<TWorkflowInput> = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  default: z.string().optional(),
  required: z.boolean().optional(),
});

/** JSON with object keys sorted at every level (undefined members left out): equal content, equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** sha256 of the canonical JSON: a saved workflow's `content_hash`. */
export function contentHash(frozen: TFrozenPlan): string {
  return createHash('sha256').update(canonicalJson(frozen)).digest('hex');
}

/**
 * True when every composite in the tree has its plan (a run then needs no
 * planner). A child naming another workflow counts as planned here; the save
 * also requires the workflows it names to be fully frozen.
 */
export function isFullyFrozen(plan: TPlan | null): boolean {
  if (!plan) return false;
  return plan.children.every((c) => c.kind === 'leaf' || c.workflow !== undefined || isFullyFrozen(c.plan ?? null));
}

/** Every `name@version` the tree names, with where (for error messages). */
export function workflowRefsIn(plan: TPlan | null, at = 'plan'): { path: string; ref: string; inputs: Record<string, string> }[] {
  if (!plan) return [];
  return plan.children.flatMap((c, i) => {
    const here = `${at}.children[${i}]`;
    if (c.kind !== 'composite') return [];
    if (c.workflow !== undefined) return [{ path: here, ref: c.workflow, inputs: c.inputs ?? {} }];
    return workflowRefsIn(c.plan ?? null, `${here}.plan`);
  });
}

/**
 * The environment variable an input reaches a run's shell leaves as:
 * `REPRISE_INPUT_<name>` with `-` as `_` (inputs never enter a command's text).
 */
export function inputEnvName(name: string): string {
  return `REPRISE_INPUT_${name.replace(/-/g, '_')}`;
}

const PLACEHOLDER = /\{\{\s*inputs\.([^}\s]*)\s*\}\}/g;

/** The input names a text refers to as `{{inputs.name}}` (a malformed name is returned as written, to be refused). */
export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

/** Every text input substitution may touch, with where it is (for error messages). */
function* substitutable(frozen: TFrozenPlan): Generator<{ path: string; text: string }> {
  const { root } = frozen;
  yield { path: 'title', text: root.title };
  if (root.intent) yield { path: 'intent', text: root.intent };
  yield* acceptanceTexts(root.acceptance, '');
  if (root.plan) yield* planTexts(root.plan, 'plan');
}

function* acceptanceTexts(acceptance: TAcceptance | undefined, at: string): Generator<{ path: string; text: string }> {
  const judgment = acceptance?.judgment;
  if (!judgment) return;
  const here = at ? `${at}.acceptance.judgment` : 'acceptance.judgment';
  yield { path: `${here}.prompt`, text: judgment.prompt };
  if (judgment.rubric) yield { path: `${here}.rubric`, text: judgment.rubric };
}

function* planTexts(plan: TPlan, at: string): Generator<{ path: string; text: string }> {
  for (const [i, child] of plan.children.entries()) {
    const here = `${at}.children[${i}]`;
    yield { path: `${here}.title`, text: child.title };
    if (child.intent) yield { path: `${here}.intent`, text: child.intent };
    yield* acceptanceTexts(child.acceptance, here);
    if (child.kind === 'composite') {
      for (const [name, value] of Object.entries(child.inputs ?? {})) yield { path: `${here}.inputs.${name}`, text: value };
      if (child.plan) yield* planTexts(child.plan, `${here}.plan`);
    }
  }
}

/** What is wrong with declared inputs (names, duplicates), and every placeholder that names no declared input. */
export function inputProblems(frozen: TFrozenPlan, declared: TWorkflowInput[]): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const names = new Set<string>();
  declared.forEach((input, i) => {
    if (!INPUT_NAME_PATTERN.test(input.name)) problems.push({ path: `inputs[${i}].name`, message: `"${input.name}" is not a valid input name (letters, digits, _ and -)` });
    else if (names.has(input.name)) problems.push({ path: `inputs[${i}].name`, message: `input "${input.name}" is declared twice` });
    names.add(input.name);
  });
  for (const { path, text } of substitutable(frozen)) {
    for (const name of placeholdersIn(text)) {
      if (!names.has(name)) problems.push({ path, message: `{{inputs.${name}}} names no declared input` });
    }
  }
  return problems;
}

/**
 * The values a run uses: the caller's, then declared defaults. Unknown
 * inputs and missing required ones are caller errors (400), before anything
 * is written.
 */
export function resolveInputs(declared: TWorkflowInput[], given: Record<string, string>): Record<string, string> {
  const known = new Map(declared.map((d) => [d.name, d]));
  const problems: { path: string; message: string }[] = [];
  for (const name of Object.keys(given)) {
    if (!known.has(name)) problems.push({ path: `inputs.${name}`, message: `unknown input "${name}" (declared: ${[...known.keys()].join(', ') || 'none'})` });
  }
  const values: Record<string, string> = {};
  for (const input of declared) {
    const value = given[input.name] ?? input.default;
    if (value !== undefined) values[input.name] = value;
    else if (input.required) problems.push({ path: `inputs.${input.name}`, message: `input "${input.name}" is required` });
  }
  if (problems.length) throw new DomainError('VALIDATION_FAILED', `invalid inputs: ${problems.map((p) => p.message).join('; ')}`, problems);
  return values;
}

function substitute(text: string, values: Record<string, string>, path: string): string {
  return text.replace(PLACEHOLDER, (_m, name: string) => {
    const value = values[name];
    if (value === undefined) throw new DomainError('VALIDATION_FAILED', `${path}: {{inputs.${name}}} has no value`, [{ path, message: `{{inputs.${name}}} has no value` }]);
    return value;
  });
}

function substituteAcceptance(acceptance: TAcceptance | undefined, values: Record<string, string>, at: string): TAcceptance | undefined {
  if (!acceptance?.judgment) return acceptance;
  const { prompt, rubric } = acceptance.judgment;
  return {
    ...acceptance,
    judgment: { prompt: substitute(prompt, values, `${at}.judgment.prompt`), ...(rubric === undefined ? {} : { rubric: substitute(rubric, values, `${at}.judgment.rubric`) }) },
  };
}

/** One child with its texts substituted; its nested plan too when `deep`, otherwise kept as saved. */
function substituteChild(child: TPlanChild, values: Record<string, string>, here: string, deep: boolean): TPlanChild {
  const common = {
    title: substitute(child.title, values, `${here}.title`),
    ...(child.intent === undefined ? {} : { intent: substitute(child.intent, values, `${here}.intent`) }),
    ...(child.acceptance === undefined ? {} : { acceptance: substituteAcceptance(child.acceptance, values, `${here}.acceptance`) }),
  };
  if (child.kind === 'leaf') return { ...child, ...common };
  const inputs = child.inputs && Object.fromEntries(Object.entries(child.inputs).map(([k, v]) => [k, substitute(v, values, `${here}.inputs.${k}`)]));
  const plan = deep && child.plan ? substitutePlan(child.plan, values, `${here}.plan`) : child.plan;
  return { ...child, ...common, ...(inputs ? { inputs } : {}), ...(plan ? { plan } : {}) };
}

function substitutePlan(plan: TPlan, values: Record<string, string>, at: string): TPlan {
  return { ...plan, children: plan.children.map((child, i) => substituteChild(child, values, `${at}.children[${i}]`, true)) };
}

/**
 * The tree a run materializes: placeholders replaced in titles, intents and
 * judgment texts only. Commands, URLs, headers, bodies and checks are left
 * exactly as saved (inputs reach actions only as environment the action
 * declares). An unresolved placeholder is a caller error.
 */
export function instantiate(frozen: TFrozenPlan, values: Record<string, string>): TFrozenPlan['root'] {
  const { root } = frozen;
  return {
    title: substitute(root.title, values, 'title'),
    intent: root.intent === null ? null : substitute(root.intent, values, 'intent'),
    ...(root.acceptance === undefined ? {} : { acceptance: substituteAcceptance(root.acceptance, values, 'acceptance') }),
    plan: root.plan ? substitutePlan(root.plan, values, 'plan') : null,
  };
}

/**
 * The frozen plan of the composite at `path` (child keys from the root), as
 * saved: `null` when it was saved unplanned, `undefined` when the path does
 * not lead to a composite of the frozen tree.
 */
export function frozenPlanAt(frozen: TFrozenPlan, path: readonly string[]): TPlan | null | undefined {
  let plan: TPlan | null = frozen.root.plan;
  for (const key of path) {
    const child = plan?.children.find((c) => c.key === key);
    if (!child || child.kind !== 'composite' || child.workflow !== undefined) return undefined;
    plan = child.plan ?? null;
  }
  return plan;
}

/**
 * One layer of a run's tree: the children of a frozen plan with inputs
 * substituted (titles, intents, judgment texts, nested workflow inputs). A
 * composite child keeps its frozen plan unsubstituted: it only says the child
 * is frozen; its own layer is instantiated by its own materialization step.
 */
export function instantiateLayer(plan: TPlan, values: Record<string, string>, at = 'plan'): TPlan {
  return { ...plan, children: plan.children.map((child, i) => substituteChild(child, values, `${at}.children[${i}]`, false)) };
}
