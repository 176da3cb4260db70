import type { RequestHandler } from 'express';
import { DomainError } from '../domain/errors';

/**
 * Refuses input Postgres cannot store or our parsers cannot walk, before any
 * handler sees it, naming where it is:
 * - NUL characters and lone UTF-16 surrogates in any string (Postgres `text`
 *   and `jsonb` reject both; stored later by an activity, they would wedge a
 *   goal in endless retries);
 * - JSON nested deeper than MAX_JSON_DEPTH (recursive validation and
 *   serialization would overflow the stack).
 */
export const MAX_JSON_DEPTH = 64;

// A NUL, a high surrogate not followed by a low one, or a low one not preceded by a high one.
// eslint-disable-next-line no-control-regex -- the NUL control character is exactly what this refuses
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function problem(value: unknown, path: string, depth: number): { path: string; message: string } | undefined {
  if (typeof value === 'string') {
    return UNSTORABLE.test(value) ? { path, message: 'contains a NUL character or an unpaired surrogate, which cannot be stored' } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_JSON_DEPTH) return { path, message: `is nested deeper than ${MAX_JSON_DEPTH} levels` };
  for (const [key, item] of Object.entries(value)) {
    const at = `${path}.${key}`;
    if (UNSTORABLE.test(key)) return { path: at, message: 'this key contains a NUL character or an unpaired surrogate' };
    const found = problem(item, at, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export const inputGuard: RequestHandler = (req, _res, next) => {
  const found = problem(req.body, 'body', 0) ?? problem(req.query, 'query', 0) ?? problem(req.params, 'params', 0);
  if (found) {
    next(new DomainError('VALIDATION_FAILED', `invalid request ${found.path}: ${found.message}`, [found]));
    return;
  }
  next();
};

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** A request with a body that is not JSON (text, a form, multipart) is a 415 naming the type expected, not a 400 about missing fields. */
export const jsonOnly: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  const type = req.headers['content-type'];
  if (hasBody && !JSON_TYPE.test(type ?? '')) {
    next(new DomainError('UNSUPPORTED_MEDIA_TYPE', `the request body must be JSON (Content-Type: application/json); got ${type ? `"${type.slice(0, 100)}"` : 'no Content-Type'}`));
    return;
  }
  next();
};
