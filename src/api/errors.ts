import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { type ZodError } from 'zod';
import { asDatabaseError } from '../db/client';
import { DomainError, httpStatusFor, isDomainError, retryAfterFor, type TErrorCode } from '../domain/errors';
import { z } from '../domain/zod';

/** The one error body: `{error: {code, message, details?, request_id}}`. */
export const ZErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'VALIDATION_FAILED' }),
      message: z.string(),
      details: z.unknown().optional(),
      request_id: z.string().optional(),
    }),
  })
  .openapi('Error');

export type TErrorBody = z.infer<typeof ZErrorBody>;

function body(code: TErrorCode, message: string, requestId: string | undefined, details?: unknown): TErrorBody {
  return { error: { code, message, ...(details === undefined ? {} : { details }), ...(requestId ? { request_id: requestId } : {}) } };
}

/** zod issues as `[{path: "body.action.command", message}]`. */
export function validationDetails(err: ZodError, prefix: string): { path: string; message: string }[] {
  return err.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));
}

/** At most this many problems are listed per error (then a count), and messages are cut to this many characters. */
export const MAX_ERROR_DETAILS = 50;
export const MAX_ERROR_MESSAGE = 2000;

/**
 * An error body is never much larger than what a person reads: the first
 * MAX_ERROR_DETAILS distinct problems, then how many more, and a message cut
 * at MAX_ERROR_MESSAGE characters, however many problems the input had.
 */
export function boundError(message: string, details: unknown): { message: string; details: unknown } {
  const cut = message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE)}… (${message.length - MAX_ERROR_MESSAGE} more characters)` : message;
  if (!Array.isArray(details)) return { message: cut, details };
  const seen = new Set<string>();
  const distinct: unknown[] = [];
  let total = 0;
  for (const d of details) {
    const key = JSON.stringify(d);
    if (seen.has(key)) continue;
    seen.add(key);
    total++;
    if (distinct.length < MAX_ERROR_DETAILS) distinct.push(d);
  }
  if (total > distinct.length) distinct.push({ path: '', message: `and ${total - distinct.length} more problems` });
  return { message: cut, details: distinct };
}

export function toDomainError(err: unknown): DomainError | undefined {
  if (isDomainError(err)) return err;
  const database = asDatabaseError(err);
  if (database) return database;
  const e = err as { type?: string; status?: number; expose?: boolean; message?: string; limit?: number };
  // body-parser's errors: a caller's mistake, never a 500.
  if (e?.type === 'entity.parse.failed') return new DomainError('MALFORMED_JSON', `request body is not valid JSON: ${e.message}`);
  if (e?.type === 'entity.too.large') return new DomainError('PAYLOAD_TOO_LARGE', `request body is larger than the ${e.limit} byte limit`);
  if (err instanceof URIError) return new DomainError('VALIDATION_FAILED', 'the URL has malformed percent-encoding');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new DomainError('VALIDATION_FAILED', e.expose ? (e.message ?? 'bad request') : 'bad request');
  }
  return undefined;
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new DomainError('ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = (req as { id?: string }).id;
    const known = toDomainError(err);
    if (known) {
      const status = httpStatusFor(known.code);
      if (status >= 500) logger.warn({ err, requestId }, known.message);
      // Our message is what the caller reads; what it stands for (a dependency's raw words) is for the log only.
      else if (known.cause !== undefined) logger.info({ err: known.cause, requestId, code: known.code }, known.message);
      const retryAfter = retryAfterFor(known.code);
      if (retryAfter !== undefined) res.setHeader('retry-after', String(retryAfter));
      const bounded = boundError(known.message, known.details);
      res.status(status).json(body(known.code, bounded.message, requestId, bounded.details));
      return;
    }
    // A 5xx never echoes internal text; the log has it, keyed by request id.
    logger.error({ err, requestId }, 'unhandled error');
    res.status(500).json(body('INTERNAL', `internal error; quote request id ${requestId ?? '(none)'} when reporting it`, requestId));
  };
}
