import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from './frozenPlans';
import type { TPlan, TPlanChild } from './plans';

/**
 * Every id Reprise mints, in one place: database ids, Temporal workflow ids,
 * task-queue-independent names. Call sites never paste strings together.
 *
 * Random ids are 26 lowercase Crockford base32 characters: 48 bits of
 * milliseconds then 80 random bits, so they sort by creation time (cursor
 * pagination relies on that only as a tiebreak). Derived ids hash their parts,
 * so the same inputs always give the same id: a crashed and resumed activity
 * re-creates the same rows instead of new ones.
 *
 * Uses node:crypto, so workflow code never imports it: activities mint ids
 * and store Temporal workflow ids on the rows the workflows read.
 */

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type TIdPrefix = 'goal' | 'wf' | 'run' | 'user' | 'agent' | 'tok';

function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0 && out.length < length) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** A fresh, time-ordered id such as `goal_01jd3v8k2m7q9x4w5y6z7a8b9c`. */
export function newId(prefix: TIdPrefix, now: number = Date.now()): string {
  const bytes = new Uint8Array(16);
  let t = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = t % 256;
    t = Math.floor(t / 256);
  }
  bytes.set(randomBytes(10), 6);
  return `${prefix}_${base32(bytes, 26)}`;
}

/** A deterministic id from its parts, e.g. a child goal from (parent id, key). */
export function derivedId(prefix: TIdPrefix, ...parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  return `${prefix}_${base32(digest, 26)}`;
}

/** The Crockford alphabet above, as a regex character class. */
const ALPHABET_CLASS = '0-9a-hjkmnp-tv-z';

/** The pattern of an id with this prefix: what routes and cursors accept. */
export function idPattern(prefix: TIdPrefix): RegExp {
  return new RegExp(`^${prefix}_[${ALPHABET_CLASS}]{26}$`);
}

export const GOAL_ID_PATTERN = idPattern('goal');
/** A goal id as people see it in examples and error messages. */
export const GOAL_ID_EXAMPLE = 'goal_01jd3v8k2m7q9x4w5y6z7a8b9c';

/** A child goal's id: derived from (parent id, key), so installing a plan twice creates nothing twice. */
export function childGoalId(parentId: string, key: string): string {
  return derivedId('goal', parentId, key);
}

/** The goal id of the child at `plan.children[i].plan.children[j]…` (a plan path such as a workflow reference's) under `parentId`. */
export function childGoalIdAt(parentId: string, plan: TPlan, path: string): string {
  let id = parentId;
  let layer: TPlan | null | undefined = plan;
  for (const m of path.matchAll(/children\[(\d+)\]/g)) {
    const child: TPlanChild | undefined = layer?.children[Number(m[1])];
    if (!child) throw new Error(`no child at ${path}`);
    id = childGoalId(id, child.key);
    layer = child.kind === 'composite' ? child.plan : undefined;
  }
  return id;
}

/**
 * The Temporal update id of a message to a running goal: the same request
 * retried (a lost response) is the same update and is not applied twice; a
 * different one for the same goal (a conflicting completion) is a new update,
 * which the workflow's validator refuses once the goal has stopped waiting.
 */
export function goalUpdateId(verb: 'complete' | 'judge' | 'cancel', goalId: string, content: unknown[]): string {
  return `${verb}-${goalId}-${createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16)}`;
}

/** Lowercase, dash-separated, at most `max` characters: for ids people read in the Temporal Web UI. */
export function slugify(text: string, max = 40): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, max).replace(/-+$/, '') || 'goal';
}

/**
 * The Temporal workflow id of the execution that runs a root goal:
 * `goal-<title slug>-<goal id>`. The slug makes the Web UI list readable; the
 * goal id keeps it unique. Stored on the goal row, so it is never re-derived
 * from a title.
 */
export function goalTemporalWorkflowId(goal: { id: string; title: string }): string {
  return `goal-${slugify(goal.title)}-${goal.id}`;
}

/**
 * A run's id (SPEC §4): derived from (saved workflow id, idempotency key), so
 * a replayed key lands on the same ledger row however often it is claimed.
 */
export function runId(savedWorkflowId: string, idempotencyKey: string): string {
  return derivedId('run', savedWorkflowId, idempotencyKey);
}

/** A run's root goal id: derived from the run id, so a crash between claim and creation never mints a second root. */
export function runRootGoalId(forRun: string): string {
  return derivedId('goal', forRun, 'root');
}

/** Keys short and plain enough to appear as they are in a Temporal workflow id. */
const PLAIN_KEY = /^[a-z0-9][a-z0-9._-]{0,39}$/;

/**
 * The Temporal workflow id of a run: `run-<workflow name>-v<version>-<key>-<hash>`,
 * readable in the Web UI. The key appears as it is when it is short and
 * plain, otherwise slugged; the hash of (saved workflow id, key) keeps the id
 * unique across owners whose workflows share a name, and across keys that
 * slug alike. Temporal refuses a second execution with this id.
 */
export function runTemporalWorkflowId(workflow: { id: string; name: string; version: number }, idempotencyKey: string): string {
  const key = PLAIN_KEY.test(idempotencyKey) ? idempotencyKey : slugify(idempotencyKey, 24);
  const hash = createHash('sha256').update(`${workflow.id}\u0000${idempotencyKey}`).digest('hex').slice(0, 10);
  return `run-${slugify(workflow.name, 40)}-v${workflow.version}-${key}-${hash}`;
}

const SCHEDULE_ID_PREFIX = 'sched-';

/**
 * A schedule's id, which is also its Temporal Schedule id:
 * `sched-<workflow name>-<10 random characters>`, readable in
 * `temporal schedule list` and the Web UI.
 */
export function scheduleId(workflowName: string): string {
  return `${SCHEDULE_ID_PREFIX}${slugify(workflowName, 40)}-${newId('run').slice(-10)}`;
}

/**
 * The Temporal Schedule a preview of a spec's fires lives in for one request
 * (created paused, read, deleted): never one of ours (no `sched-` prefix), so
 * a leftover is never listed as a schedule.
 */
export function schedulePreviewId(): string {
  return `preview-${newId('run').slice(-16)}`;
}

export const SCHEDULE_ID_PATTERN = new RegExp(`^${SCHEDULE_ID_PREFIX}[a-z0-9-]{1,40}-[${ALPHABET_CLASS}]{10}$`);
/** A schedule id as people see it in examples and error messages. */
export const SCHEDULE_ID_EXAMPLE = 'sched-weekly-report-7q9x4w5y6z';

/** The idempotency key of one fire: the schedule and its nominal time (Temporal gives a scheduled start both). */
export function fireKey(forSchedule: string, nominalTime: Date): string {
  return `${forSchedule}@${nominalTime.toISOString()}`;
}

const NESTED_RUN_KEY_PREFIX = 'nested:';

/** The idempotency key of a nested run: one per child goal, so a retried layer claims the same run. */
export function nestedRunKey(childId: string): string {
  return `${NESTED_RUN_KEY_PREFIX}${childId}`;
}

/**
 * Idempotency keys Reprise mints itself start with these: a fire's key starts
 * with its schedule id (fireKey), a nested run's with `nested:`. A caller may
 * not use them, or a key chosen to match a coming fire (or a child goal)
 * would claim that run first, with the caller's inputs.
 */
export const RESERVED_KEY_PREFIXES = [SCHEDULE_ID_PREFIX, NESTED_RUN_KEY_PREFIX] as const;

/**
 * The reserved prefix a caller's idempotency key starts with, if any, in any
 * case: `SCHED-…` is refused too, since a key is slugged (lower-cased) into
 * its Temporal workflow id and people cannot tell the two apart in a list.
 */
export function reservedKeyPrefix(key: string): string | undefined {
  const lower = key.toLowerCase();
  return RESERVED_KEY_PREFIXES.find((prefix) => lower.startsWith(prefix));
}

/** sha256 of the canonical inputs a caller gave to a run: a replayed key must give the same. */
export function inputsHash(inputs: Record<string, string>): string {
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex');
}

/** The Temporal workflow id prefix of a schedule's fires (Temporal appends each fire's time). */
export function fireTemporalWorkflowId(forSchedule: string): string {
  return `fire-${forSchedule}`;
}

export const TOKEN_ID_PATTERN = idPattern('tok');

/** Every bearer token starts with this, so secret scanners and people can tell one at a glance. */
export const TOKEN_SECRET_PREFIX = 'rpr_';
/** `rpr_` then 43 base64url characters (256 random bits). */
export const TOKEN_SECRET_PATTERN = /^rpr_[A-Za-z0-9_-]{43}$/;

/** A new bearer token's secret. Shown once; only its hash is stored. */
export function newTokenSecret(): string {
  return `${TOKEN_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * What is stored of a token: its sha256. The secret is 256 random bits, so a
 * plain hash is enough (there is nothing to guess); lookup is one indexed read.
 */
export function tokenHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The part of a secret lists show, so people can tell their tokens apart. */
export function tokenDisplayPrefix(secret: string): string {
  return secret.slice(0, TOKEN_SECRET_PREFIX.length + 8);
}

/**
 * The agent ids routes and cursors accept: minted ones are `agent_` + 26
 * characters, but the seeded local agent is `agent_default` and operators
 * made agents with SQL before the agents API existed, so any `agent_` id of
 * plain characters is accepted (an unknown one is a 404).
 */
export const AGENT_ID_PATTERN = /^agent_[A-Za-z0-9_-]{1,100}$/;
