import type { z } from '../domain/zod';
import { DomainError } from '../domain/errors';

/**
 * JSON read back from Postgres is parsed once, here, with the domain's zod
 * read schemas (lenient: structure only, no limits, see domain/frozenPlans.ts),
 * so callers get typed values and never cast. A row that still does not read
 * (its structure changed: a field was renamed, a kind removed) is a CONFLICT
 * naming the row and where it stops reading, never a 500 echoing zod: the row
 * is kept, and a caller can save it again or delete it.
 */
export function parseStored<S extends z.ZodType>(schema: S, value: unknown, what: string, remedy = 'save it again, or delete it'): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const at = parsed.error.issues[0]?.path.join('.') ?? '';
  throw new DomainError('CONFLICT', `${what} was stored in a form this version of Reprise cannot read${at ? ` (at ${at})` : ''}; ${remedy}`, {
    problems: parsed.error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}
