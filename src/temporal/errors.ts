import { ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { DomainError } from '../domain/errors';

/**
 * Temporal's client errors mapped to domain errors, in one place. Services
 * never look at gRPC codes or SDK error classes themselves.
 */

const UNAVAILABLE = /UNAVAILABLE|ECONNREFUSED|Failed to connect|No connection established|connect ETIMEDOUT/i;
const DEADLINE = /DEADLINE_EXCEEDED|Deadline exceeded/i;
const EXHAUSTED = /RESOURCE_EXHAUSTED/;

/** gRPC status codes Temporal answers with (the client puts them on `code`, sometimes on `cause.code`). */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNAVAILABLE = 14;
const GRPC_NOT_FOUND = 5;
const GRPC_FAILED_PRECONDITION = 9;

/**
 * Turns "Temporal is overloaded" into TEMPORAL_BUSY (429), and "unreachable"
 * or "did not answer in time" into TEMPORAL_UNAVAILABLE (503); anything else
 * passes through.
 */
export function asTemporalError(err: unknown, what: string): unknown {
  const message = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err);
  const code = (err as { code?: number }).code ?? (err as { cause?: { code?: number } }).cause?.code;
  if (code === GRPC_RESOURCE_EXHAUSTED || EXHAUSTED.test(message)) {
    return new DomainError('TEMPORAL_BUSY', `${what}: Temporal is busy with this goal's workflow (too many requests at once); retry in a moment`);
  }
  if (DEADLINE.test(message) || code === GRPC_DEADLINE_EXCEEDED) {
    return new DomainError('TEMPORAL_UNAVAILABLE', `${what}: Temporal did not answer in time (is it up? a message to a running goal also needs a worker); try again shortly`);
  }
  if (UNAVAILABLE.test(message) || code === GRPC_UNAVAILABLE) {
    return new DomainError('TEMPORAL_UNAVAILABLE', `${what}: Temporal is unreachable; try again shortly`);
  }
  return err;
}

/** True when a start found an execution with that id already (running, or closed under REJECT_DUPLICATE). */
export function isAlreadyStarted(err: unknown): boolean {
  return err instanceof WorkflowExecutionAlreadyStartedError;
}

/** True when the Temporal workflow is not there (never started, or closed and gone). */
export function isWorkflowNotFound(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError;
}

/**
 * An update to a running goal's workflow that did not take: its validator
 * refused it (the goal is not waiting for it) or the workflow is not running.
 * Both are GOAL_NOT_WAITING; anything else is mapped by asTemporalError.
 */
export function asGoalMessageError(err: unknown, goalId: string, what: string): unknown {
  if (err instanceof WorkflowUpdateFailedError) {
    return new DomainError('GOAL_NOT_WAITING', (err.cause?.message ?? err.message).replace(/^.*?: /, '') || `goal ${goalId} is not waiting for ${what}`);
  }
  // A workflow that ended meanwhile (Temporal says "not found" or "already completed", depending on the call).
  const code = (err as { cause?: { code?: number } }).cause?.code;
  if (err instanceof WorkflowNotFoundError || (err instanceof ServiceError && (code === GRPC_NOT_FOUND || code === GRPC_FAILED_PRECONDITION))) {
    return new DomainError('GOAL_NOT_WAITING', `goal ${goalId} is not running, so it cannot take ${what}`);
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return new DomainError('TEMPORAL_UNAVAILABLE', `${what} could not be delivered: Temporal did not answer in time; try again shortly`);
  }
  return asTemporalError(err, `${what} could not be delivered`);
}

/** True for an update refused by the workflow's validator. */
export function isUpdateRefused(err: unknown): boolean {
  return err instanceof WorkflowUpdateFailedError;
}
