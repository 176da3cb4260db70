import { createHash } from 'node:crypto';
import { DomainError } from './errors';
import { ZStoredAction } from './actions';
import { END_STATUSES } from './goals';
import {
  MAX_INPUT_VALUE_LENGTH,
  MAX_INTENT_LENGTH,
  MAX_JUDGMENT_TEXT_LENGTH,
  MAX_TITLE_LENGTH,
  ZAcceptance,
  ZPlan,
  type TAcceptance,
  type TPlan,
  type TPlanChild,
} from './plans';
import { z } from './zod';

/**
 * Frozen plans (SPEC §3): the structural snapshot a saved workflow keeps of
 * an accepted goal tree, and what instantiating it needs: canonical JSON and
 * its hash, declared text inputs, and `{{inputs.name}}` substitution in
 * exactly four places (titles, intents, judgment prompts and rubrics), never
 * in commands, URLs or checks; and in the text inputs a child hands to a
 * nested workflow, which that workflow substitutes in the same four places. Pure; the save and run services build on it.
 *
 * A substituted text is held to its field's own limit (a title 200
 * characters, an intent 10,000, …), and its length is counted before it is
 * built: a few placeholders and long inputs would otherwise multiply into
 * texts of megabytes per goal, built in one request and sent through
 * Temporal's payloads and summaries.
 */

export const FROZEN_FORMAT = 'frozen/v0';

export const INPUT_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

export const ZWorkflowInput = z
  .object({
    name: z.string().min(1).max(64).regex(INPUT_NAME_PATTERN, 'input names are letters, digits, _ and -'),
    description: z.string().max(2000).optional(),
    default: z.string().max(MAX_INPUT_VALUE_LENGTH).optional(),
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

/** An input's value; own keys only, so an input named like an Object member (`constructor`) without a value has none. */
function valueOf(values: Record<string, string>, name: string): string | undefined {
  return Object.hasOwn(values, name) ? values[name] : undefined;
}

const PLACEHOLDER = /\{\{\s*inputs\.([^}\s]*)\s*\}\}/g;

/** The input names a text refers to as `{{inputs.name}}` (a malformed name is returned as written, to be refused). */
export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

/**
 * At most this many placeholders in one text, refused at save. Prose names
 * an input a few times; a text made of hundreds of placeholders only exists
 * to multiply its inputs (the length limit below refuses each run of it; this
 * refuses the workflow itself, up front).
 */
export const MAX_PLACEHOLDERS_PER_TEXT = 100;

/** One text substitution may touch: where it is (for error messages) and its field's length limit. */
interface TSubstitutable {
  path: string;
  text: string;
  limit: number;
}

/** Every text input substitution may touch, the whole tree (as `instantiate` substitutes it). */
function* substitutable(frozen: TFrozenPlan): Generator<TSubstitutable> {
  const { root } = frozen;
  yield { path: 'title', text: root.title, limit: MAX_TITLE_LENGTH };
  if (root.intent) yield { path: 'intent', text: root.intent, limit: MAX_INTENT_LENGTH };
  yield* acceptanceTexts(root.acceptance, '');
  if (root.plan) yield* planTexts(root.plan, 'plan');
}

function* acceptanceTexts(acceptance: TAcceptance | undefined, at: string): Generator<TSubstitutable> {
  const judgment = acceptance?.judgment;
  if (!judgment) return;
  const here = at ? `${at}.acceptance.judgment` : 'acceptance.judgment';
  yield { path: `${here}.prompt`, text: judgment.prompt, limit: MAX_JUDGMENT_TEXT_LENGTH };
  if (judgment.rubric) yield { path: `${here}.rubric`, text: judgment.rubric, limit: MAX_JUDGMENT_TEXT_LENGTH };
}

function* planTexts(plan: TPlan, at: string): Generator<TSubstitutable> {
  for (const [i, child] of plan.children.entries()) {
    const here = `${at}.children[${i}]`;
    yield { path: `${here}.title`, text: child.title, limit: MAX_TITLE_LENGTH };
    if (child.intent) yield { path: `${here}.intent`, text: child.intent, limit: MAX_INTENT_LENGTH };
    yield* acceptanceTexts(child.acceptance, here);
    if (child.kind === 'composite') {
      for (const [name, value] of Object.entries(child.inputs ?? {})) yield { path: `${here}.inputs.${name}`, text: value, limit: MAX_INPUT_VALUE_LENGTH };
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
    const placeholders = placeholdersIn(text);
    if (placeholders.length > MAX_PLACEHOLDERS_PER_TEXT) {
      problems.push({ path, message: `${placeholders.length} placeholders; a text has at most ${MAX_PLACEHOLDERS_PER_TEXT}` });
    }
    for (const name of placeholders) {
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
    const value = valueOf(given, input.name) ?? input.default;
    if (value !== undefined) values[input.name] = value;
    else if (input.required) problems.push({ path: `inputs.${input.name}`, message: `input "${input.name}" is required` });
  }
  if (problems.length) throw new DomainError('VALIDATION_FAILED', `invalid inputs: ${problems.map((p) => p.message).join('; ')}`, problems);
  return values;
}

/**
 * The length `text` has with `values` filled in, counted without building it
 * (an unresolved placeholder counts as written). Checked against the field's
 * limit before any substituted text exists.
 */
export function substitutedLength(text: string, values: Record<string, string>): number {
  let length = text.length;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const value = valueOf(values, match[1] ?? '');
    if (value !== undefined) length += value.length - match[0].length;
  }
  return length;
}

/** Why `text` cannot be substituted with `values`: a placeholder without a value, or a result over its field's limit. */
function textProblem({ path, text, limit }: TSubstitutable, values: Record<string, string>): { path: string; message: string } | undefined {
  const missing = placeholdersIn(text).find((name) => valueOf(values, name) === undefined);
  if (missing !== undefined) return { path, message: `{{inputs.${missing}}} has no value` };
  const length = substitutedLength(text, values);
  // A text saved under looser limits than today's keeps its stored length: it ran then, it runs now.
  const bound = Math.max(limit, text.length);
  if (length > bound) return { path, message: `with its inputs substituted it would be ${length} characters; this field holds at most ${bound}` };
  return undefined;
}

function substitute(text: string, values: Record<string, string>, path: string, limit: number): string {
  const problem = textProblem({ path, text, limit }, values);
  if (problem) throw new DomainError('VALIDATION_FAILED', `${path}: ${problem.message}`, [problem]);
  return text.replace(PLACEHOLDER, (_m, name: string) => valueOf(values, name) as string);
}

/** Problems named in one message before "and N more": a tree of thousands of goals must not make a reason of megabytes. */
const MAX_PROBLEMS_IN_MESSAGE = 5;

/**
 * Refuses `values` for the whole frozen tree when any text would not
 * substitute (a placeholder without a value, a result over its field's
 * limit), naming every such text, without building any: what a run's
 * creation and a schedule's fire check before anything is written.
 */
export function checkSubstitution(frozen: TFrozenPlan, values: Record<string, string>): void {
  const problems: { path: string; message: string }[] = [];
  for (const text of substitutable(frozen)) {
    const problem = textProblem(text, values);
    if (problem) problems.push(problem);
  }
  if (!problems.length) return;
  const named = problems.slice(0, MAX_PROBLEMS_IN_MESSAGE).map((p) => `${p.path}: ${p.message}`);
  const more = problems.length > named.length ? `; and ${problems.length - named.length} more` : '';
  throw new DomainError('VALIDATION_FAILED', `invalid inputs: ${named.join('; ')}${more}`, problems);
}

function substituteAcceptance(acceptance: TAcceptance | undefined, values: Record<string, string>, at: string): TAcceptance | undefined {
  if (!acceptance?.judgment) return acceptance;
  const { prompt, rubric } = acceptance.judgment;
  return {
    ...acceptance,
    judgment: {
      prompt: substitute(prompt, values, `${at}.judgment.prompt`, MAX_JUDGMENT_TEXT_LENGTH),
      ...(rubric === undefined ? {} : { rubric: substitute(rubric, values, `${at}.judgment.rubric`, MAX_JUDGMENT_TEXT_LENGTH) }),
    },
  };
}

/** One child with its texts substituted; its nested plan too when `deep`, otherwise kept as saved. */
function substituteChild(child: TPlanChild, values: Record<string, string>, here: string, deep: boolean): TPlanChild {
  const common = {
    title: substitute(child.title, values, `${here}.title`, MAX_TITLE_LENGTH),
    ...(child.intent === undefined ? {} : { intent: substitute(child.intent, values, `${here}.intent`, MAX_INTENT_LENGTH) }),
    ...(child.acceptance === undefined ? {} : { acceptance: substituteAcceptance(child.acceptance, values, `${here}.acceptance`) }),
  };
  if (child.kind === 'leaf') return { ...child, ...common };
  const inputs =
    child.inputs && Object.fromEntries(Object.entries(child.inputs).map(([k, v]) => [k, substitute(v, values, `${here}.inputs.${k}`, MAX_INPUT_VALUE_LENGTH)]));
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
 * declares). An unresolved placeholder, or a text longer than its field's
 * limit once substituted, is a caller error (naming the first; checkSubstitution names them all).
 */
export function instantiate(frozen: TFrozenPlan, values: Record<string, string>): TFrozenPlan['root'] {
  const { root } = frozen;
  return {
    title: substitute(root.title, values, 'title', MAX_TITLE_LENGTH),
    intent: root.intent === null ? null : substitute(root.intent, values, 'intent', MAX_INTENT_LENGTH),
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
