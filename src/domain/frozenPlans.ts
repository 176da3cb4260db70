import { createHash } from 'node:crypto';
import { DomainError } from './errors';
import type { TAcceptance, TPlan, TPlanChild } from './plans';
import { z } from './zod';

/**
 * Frozen plans (SPEC §3): the structural snapshot a saved workflow keeps of
 * an accepted goal tree, and what instantiating it needs: canonical JSON and
 * its hash, declared text inputs, and `{{inputs.name}}` substitution in
 * exactly four places (titles, intents, judgment prompts and rubrics), never
 * in commands, URLs or checks. Pure; the save and run services build on it.
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
export interface TFrozenPlan {
  format: typeof FROZEN_FORMAT;
  root: { title: string; intent: string | null; acceptance?: TAcceptance; plan: TPlan | null };
}

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

/** True when every composite in the tree has its plan (a run then needs no planner). */
export function isFullyFrozen(plan: TPlan | null): boolean {
  if (!plan) return false;
  return plan.children.every((c) => c.kind === 'leaf' || isFullyFrozen(c.plan ?? null));
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
    if (child.kind === 'composite' && child.plan) yield* planTexts(child.plan, `${here}.plan`);
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

function substitutePlan(plan: TPlan, values: Record<string, string>, at: string): TPlan {
  return {
    ...plan,
    children: plan.children.map((child, i): TPlanChild => {
      const here = `${at}.children[${i}]`;
      const common = {
        title: substitute(child.title, values, `${here}.title`),
        ...(child.intent === undefined ? {} : { intent: substitute(child.intent, values, `${here}.intent`) }),
        ...(child.acceptance === undefined ? {} : { acceptance: substituteAcceptance(child.acceptance, values, `${here}.acceptance`) }),
      };
      if (child.kind === 'leaf') return { ...child, ...common };
      return { ...child, ...common, ...(child.plan ? { plan: substitutePlan(child.plan, values, `${here}.plan`) } : {}) };
    }),
  };
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
