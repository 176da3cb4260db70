/**
 * The closed set of error codes Reprise reports. Services throw DomainError
 * with one of these; the API maps each to one HTTP status (src/api/errors.ts);
 * activities turn them into non-retryable Temporal failures. Code strings, not
 * classes, tell errors apart: `instanceof` breaks across the workflow sandbox
 * and jest module registries.
 */
export const ERROR_CODES = {
  /** The request's params, query or body failed validation; details list the problems. */
  VALIDATION_FAILED: 400,
  /** The request body is not valid JSON. */
  MALFORMED_JSON: 400,
  /** A leaf uses an action runtime its agent may not use, or a workflow needs one the acting agent may not use. */
  RUNTIME_NOT_ALLOWED: 400,
  /** A plan breaks a structural rule or a limit; details list {rule, path, message}. */
  PLAN_INVALID: 400,
  /** No or bad bearer token. */
  UNAUTHENTICATED: 401,
  /** The token lacks the scope this route needs. */
  FORBIDDEN: 403,
  /** The object does not exist, or is not the caller's. */
  NOT_FOUND: 404,
  /** No route matches the method and path. */
  ROUTE_NOT_FOUND: 404,
  /** The object is not in a state that allows this. */
  CONFLICT: 409,
  /** The composite already has a plan; plans install once. */
  PLAN_ALREADY_INSTALLED: 409,
  /** complete/accept/reject/claim on a goal that is not waiting for that. */
  GOAL_NOT_WAITING: 409,
  /** The goal already ended (done, failed or cancelled). */
  GOAL_ENDED: 409,
  /** Another agent holds the leaf's lease, or the caller's lease has expired. */
  LEASE_CONFLICT: 409,
  /** The owner already has as many of these as a configured quota allows (e.g. SCHEDULE_MAX_PER_OWNER); the message names it. */
  QUOTA_EXCEEDED: 409,
  /** The request body exceeds API_BODY_LIMIT. */
  PAYLOAD_TOO_LARGE: 413,
  /** A request body that is not JSON (text, a form, multipart). */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** Temporal refused the call for load (e.g. too many updates in flight on one workflow); retry after `Retry-After` seconds. */
  TEMPORAL_BUSY: 429,
  /** Postgres could not be reached. */
  DATABASE_UNAVAILABLE: 503,
  /** The Temporal frontend could not be reached. */
  TEMPORAL_UNAVAILABLE: 503,
  /** Anything unexpected; the message never echoes internals. */
  INTERNAL: 500,
} as const;

export type TErrorCode = keyof typeof ERROR_CODES;

export class DomainError extends Error {
  /** `cause`: the error this one stands for (e.g. Temporal's own), logged with the request, never shown to the caller. */
  constructor(
    readonly code: TErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DomainError';
  }
}

/** True for a DomainError from any module registry (duck-typed on the code). */
export function isDomainError(err: unknown): err is DomainError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'DomainError' &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (err as { code: string }).code in ERROR_CODES
  );
}

export function httpStatusFor(code: TErrorCode): number {
  return ERROR_CODES[code];
}

/** Busy or down (a database or Temporal outage, backpressure): retried, never anyone's own failure. */
export function isTransientCode(code: TErrorCode): boolean {
  return retryAfterFor(code) !== undefined;
}

/** Seconds a caller should wait before retrying, for answers that mean "busy or down, try again" (the `Retry-After` header). */
export function retryAfterFor(code: TErrorCode): number | undefined {
  if (code === 'TEMPORAL_BUSY') return 1;
  if (code === 'DATABASE_UNAVAILABLE' || code === 'TEMPORAL_UNAVAILABLE') return 2;
  return undefined;
}

/**
 * The `type` strings of the Temporal failures activities throw and workflows
 * read, as one closed list: workflows tell failures apart by these strings
 * (never `instanceof` on our classes), and activity proxies list the
 * non-retryable ones from here.
 */
export const FAILURE_TYPES = {
  /** The goal row is gone: nothing to run, never retried. */
  GoalNotFound: 'GoalNotFound',
  /** The stored action does not parse, or is of another runtime: never retried. */
  InvalidAction: 'InvalidAction',
  /** A shell command exited non-zero or was killed by a signal. */
  CommandFailed: 'CommandFailed',
  /** An http request failed at the network level or answered a non-success status. */
  HttpFailed: 'HttpFailed',
  /** The leaf's own timeout stopped it (fires `timed_out` edges). */
  LeafTimedOut: 'LeafTimedOut',
  /** A command was killed by a cancellation: never retried. */
  CommandCancelled: 'CommandCancelled',
  /** The worker shut down while the leaf ran: another worker retries it. */
  WorkerShutdown: 'WorkerShutdown',
  /** A goal failed: its Temporal workflow fails with the goal's reason. */
  GoalFailed: 'GoalFailed',
  /** The goal's agent may no longer use a runtime the leaf (or its check) needs: it failed before anything ran, never retried. */
  RuntimeNotAllowed: 'RuntimeNotAllowed',
  /** A run could not be instantiated (its row is gone, or a layer cannot be written as saved): never retried. */
  RunInvalid: 'RunInvalid',
  /** Postgres was down, unreachable, overloaded or in a transient conflict: retried for the engine's infrastructure window, never a leaf's own retry. */
  InfrastructureUnavailable: 'InfrastructureUnavailable',
  /** Another fire of the same schedule is deciding right now: retried shortly, never a failure. */
  ScheduleBusy: 'ScheduleBusy',
  /** Anything unexpected: the message names a reference the worker logged the detail under (never the detail). */
  Internal: 'Internal',
} as const;

/** Whether a Temporal failure's type is one of ours: its message was written by us for users (never stack or ORM text). */
export function isOurFailureType(type: string | undefined | null): boolean {
  return type !== undefined && type !== null && Object.prototype.hasOwnProperty.call(FAILURE_TYPES, type);
}

/**
 * The reason users see for an unexpected error: a reference to the log entry
 * that holds the detail, never the detail itself.
 */
export function internalReason(ref: string): string {
  return `internal error (ref ${ref}): see the worker log`;
}

/**
 * Text that must never reach a stored or returned reason: stack frames, file
 * paths with line numbers, ORM invocation text. A last guard where a message
 * of unknown origin could otherwise be stored.
 */
export function looksInternal(text: string): boolean {
  return /prisma|invocation|\bat \/|\.[cm]?[jt]s:\d+|node_modules|\n\s+at /i.test(text);
}

export type TFailureType = keyof typeof FAILURE_TYPES;

/**
 * A stored reason as users may see it: one recorded before reasons were
 * cleaned (raw driver text, a source path) reads as an internal error.
 */
export function userReason(reason: string | null): string | null {
  return reason !== null && looksInternal(reason) ? 'internal error (recorded before reasons were cleaned): see the worker log' : reason;
}
