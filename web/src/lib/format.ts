import type { TEdge, TGoalSummary } from './api';

/** `2026-12-03 15:04:05 UTC`: every time in the UI is shown in UTC (the local time is on hover). */
export function utc(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function local(iso: string): string {
  const d = new Date(iso);
  return `${d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })} (your local time, ${Intl.DateTimeFormat().resolvedOptions().timeZone})`;
}

/** A workflow name from a title, as the API accepts names (a slug). */
export function slugify(title: string): string {
  return (
    title
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}/g, '$1')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'workflow'
  );
}

/** Why a goal is where it is, in words (null when there is nothing to say). */
export function reasonOf(g: Pick<TGoalSummary, 'lifecycle' | 'done_reason' | 'failure_reason' | 'block_reason' | 'waiting_for' | 'kind' | 'planned_at'>): string | null {
  switch (g.lifecycle) {
    case 'done':
      return g.done_reason;
    case 'failed':
      return g.failure_reason;
    case 'blocked':
      return g.block_reason ?? (g.waiting_for ? waitingWords[g.waiting_for] : null);
    case 'draft':
      return g.kind === 'composite' && !g.planned_at ? 'unplanned' : null;
    case 'active':
      return g.waiting_for ? waitingWords[g.waiting_for] : null;
    case 'cancelled':
      return null;
  }
}

const waitingWords: Record<NonNullable<TGoalSummary['waiting_for']>, string> = {
  plan: 'waits for a plan',
  completion: 'waits for someone to complete it',
  agent: 'waits for an agent to claim it',
  judgment: 'waits for a judgment',
};

export function isRunning(lifecycle: TGoalSummary['lifecycle']): boolean {
  return lifecycle === 'active' || lifecycle === 'blocked';
}

export function isEnded(lifecycle: TGoalSummary['lifecycle']): boolean {
  return lifecycle === 'done' || lifecycle === 'failed' || lifecycle === 'cancelled';
}

/** An edge as a sentence: "Report runs when Fetch succeeded." (titles, not keys). */
export function edgeSentence(edge: TEdge, titleOf: (key: string) => string): string {
  const from = titleOf(edge.from);
  const to = titleOf(edge.to);
  const on = edge.on;
  if (typeof on === 'object') return `${to} runs when ${from} ended with ${on.when}`;
  switch (on) {
    case 'succeeded':
      return `${to} runs when ${from} succeeded`;
    case 'failed':
      return `${to} runs when ${from} failed`;
    case 'timed_out':
      return `${to} runs when ${from} timed out`;
    case 'always':
      return `${to} runs after ${from}, whatever happened`;
  }
}

export function joinSentence(title: string, join: 'all' | number, incoming: number): string | null {
  if (incoming < 2) return null;
  return join === 'all' ? `${title} waits for all ${incoming} of those` : `${title} runs once ${join} of its ${incoming} incoming edges fired`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** `{{inputs.x}}` placeholders in texts, in order of first appearance. */
export function placeholders(texts: Iterable<string | null | undefined>): string[] {
  const found = new Set<string>();
  for (const t of texts) for (const m of (t ?? '').matchAll(/\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}/g)) if (m[1]) found.add(m[1]);
  return [...found];
}

/** A fresh idempotency key: random, and made without crypto.randomUUID (which needs a secure context). */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  return `ui-${new Date().toISOString().slice(0, 10)}-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}
