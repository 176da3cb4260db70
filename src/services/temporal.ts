import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { DomainError } from '../domain/errors';
import { SEARCH_ATTRIBUTES } from '../domain/searchAttributes';

/**
 * The API's Temporal client. Lazy, so the API starts (and /healthz can say
 * Temporal is down) before Temporal is reachable. A caller is waiting on every
 * call, so transient failures get a short retry budget (about a second), not
 * the SDK's default of ten attempts over half a minute.
 */
export function createTemporalClient(address: string, namespace: string): Client {
  const connection = Connection.lazy({
    address,
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 4 }))],
  });
  return new Client({ connection, namespace });
}

const UNAVAILABLE = /UNAVAILABLE|ECONNREFUSED|Failed to connect|No connection established|connect ETIMEDOUT/i;
const DEADLINE = /DEADLINE_EXCEEDED|Deadline exceeded/i;

/** Turns "Temporal is unreachable" or "did not answer in time" into TEMPORAL_UNAVAILABLE; anything else passes through. */
export function asTemporalError(err: unknown, what: string): unknown {
  const message = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err);
  const code = (err as { code?: number }).code;
  if (DEADLINE.test(message) || code === 4) {
    return new DomainError('TEMPORAL_UNAVAILABLE', `${what}: Temporal did not answer in time (is a worker running?); try again shortly`);
  }
  if (UNAVAILABLE.test(message) || code === 14) {
    return new DomainError('TEMPORAL_UNAVAILABLE', `${what}: Temporal is unreachable; try again shortly`);
  }
  return err;
}

/**
 * Registers our search attributes on the namespace where missing (an external
 * Temporal; the dev server gets them at start). Idempotent; returns the names
 * it added. A name registered with another type is an error to fix by hand.
 */
export async function ensureSearchAttributes(address: string, namespace: string): Promise<string[]> {
  const connection = await Connection.connect({ address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const existing = customAttributes ?? {};
    const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
    for (const sa of SEARCH_ATTRIBUTES) {
      const want = INDEXED_TYPE[sa.type];
      if (want === undefined) throw new Error(`no Temporal index type for search attribute type ${sa.type}`);
      const have = existing[sa.name];
      if (have === undefined || have === null) missing[sa.name] = want;
      else if (have !== want) {
        throw new Error(
          `search attribute ${sa.name} exists on namespace ${namespace} with another type (${temporal.api.enums.v1.IndexedValueType[have]}); Reprise needs ${sa.type}`,
        );
      }
    }
    if (Object.keys(missing).length) {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    }
    return Object.keys(missing);
  } finally {
    await connection.close();
  }
}

const INDEXED_TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.KEYWORD]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};
