import { randomBytes } from 'node:crypto';
import { ApplicationFailure, CancelledFailure, type Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Logger } from 'pino';
import { asDatabaseError } from '../db/client';
import { asTemporalError } from '../temporal/errors';
import { FAILURE_TYPES, internalReason, isDomainError, isOurFailureType, looksInternal } from '../domain/errors';

/**
 * The one place an activity's error becomes a Temporal failure, so what a
 * workflow reads (and may write on a goal or a run as its reason) is always
 * text we wrote for users:
 *
 * - Postgres down, unreachable, overloaded or in a transient conflict, or
 *   Temporal unreachable or busy (an activity that starts a nested run): a
 *   retryable `InfrastructureUnavailable` with our sentence. The proxies
 *   retry it for the engine's infrastructure window (INFRA_RETRY_HOURS); it
 *   never spends a leaf's own retries (those count only action outcomes).
 * - Our own failures (a FAILURE_TYPES type) and cancellations pass as they are.
 * - Anything else is logged in full under a fresh reference, and the failure
 *   names only that reference: `internal error (ref err_…): see the worker log`.
 *   It is retried for UNEXPECTED_ERROR_ATTEMPTS attempts (about ten minutes
 *   of backoff: long enough for a passing condition), then final: a bug must
 *   end its goal with that reference, not keep it silently `running` for the
 *   whole infrastructure window.
 */
export function toActivityFailure(err: unknown, logger: Pick<Logger, 'warn' | 'error'>, where: { activityType: string; workflowId?: string; attempt?: number }): unknown {
  if (err instanceof CancelledFailure) return err;
  if (err instanceof ApplicationFailure && isOurFailureType(err.type) && !looksInternal(err.message)) return err;
  const database = asDatabaseError(err);
  if (database) {
    logger.warn({ err, ...where }, `activity ${where.activityType}: ${database.message}`);
    return ApplicationFailure.retryable(database.message, FAILURE_TYPES.InfrastructureUnavailable);
  }
  const temporal = asTemporalError(err, 'Temporal');
  if (isDomainError(temporal)) {
    logger.warn({ err, ...where }, `activity ${where.activityType}: ${temporal.message}`);
    return ApplicationFailure.retryable(temporal.message, FAILURE_TYPES.InfrastructureUnavailable);
  }
  // A DomainError's message is ours; its code is not a Temporal failure type.
  if (isDomainError(err) && !looksInternal(err.message)) {
    return ApplicationFailure.retryable(err.message, FAILURE_TYPES.Internal, { code: err.code });
  }
  const ref = newErrorRef();
  const final = (where.attempt ?? 1) >= UNEXPECTED_ERROR_ATTEMPTS;
  logger.error({ err, ref, ...where }, `activity ${where.activityType} failed unexpectedly (ref ${ref})${final ? '; not retried again' : ''}`);
  return final
    ? ApplicationFailure.nonRetryable(internalReason(ref), FAILURE_TYPES.Internal, { ref })
    : ApplicationFailure.retryable(internalReason(ref), FAILURE_TYPES.Internal, { ref });
}

/** Attempts an activity gets for an error nobody classified: 1 s doubling to 30 s, about ten minutes in all. */
export const UNEXPECTED_ERROR_ATTEMPTS = 25;

/** A short reference a reason can name and the log can be searched for. */
export function newErrorRef(): string {
  return `err_${randomBytes(6).toString('hex')}`;
}

/** The worker's activity interceptor: every activity's errors go through toActivityFailure. */
export function activityErrorBoundary(logger: Pick<Logger, 'warn' | 'error'>): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (err) {
          throw toActivityFailure(err, logger, { activityType: ctx.info.activityType, workflowId: ctx.info.workflowExecution?.workflowId, attempt: ctx.info.attempt });
        }
      },
    },
  });
}
