import { Client, Connection } from '@temporalio/client';
import { DomainError } from '../domain/errors';

/**
 * A lazy Temporal client: the API starts (and /healthz can say Temporal is
 * down) even when Temporal is not reachable yet.
 */
export function createTemporalClient(address: string, namespace: string): Client {
  const connection = Connection.lazy({ address });
  return new Client({ connection, namespace });
}

const UNAVAILABLE = /UNAVAILABLE|ECONNREFUSED|DEADLINE_EXCEEDED|Failed to connect|No connection established|connect ETIMEDOUT/i;

/** Turns "Temporal is unreachable" into TEMPORAL_UNAVAILABLE; anything else passes through. */
export function asTemporalError(err: unknown, what: string): unknown {
  const message = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err);
  if (UNAVAILABLE.test(message) || (err as { code?: number }).code === 14) {
    return new DomainError('TEMPORAL_UNAVAILABLE', `${what}: Temporal is unreachable; try again shortly`);
  }
  return err;
}
