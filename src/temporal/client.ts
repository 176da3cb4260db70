import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';

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
    // gRPC's reconnect backoff grows to 2 minutes by default: after a Temporal
    // restart the API would say "down" that long. Capped, it is back within seconds.
    channelArgs: { 'grpc.initial_reconnect_backoff_ms': 500, 'grpc.max_reconnect_backoff_ms': 5000 },
  });
  return new Client({ connection, namespace });
}

/** Bounded: a caller should hear "Temporal is down" in seconds, not after the client's own retries. */
export const TEMPORAL_CALL_DEADLINE_MS = 5000;

/**
 * A Schedule's description is a query its scheduler workflow answers inside
 * Temporal: on a busy server (many schedules changing at once) it can take
 * longer than a plain read, so these reads wait longer before a 503.
 */
export const TEMPORAL_SCHEDULE_READ_DEADLINE_MS = 15_000;

/**
 * Updates need a worker to run the validator. After a worker dies, Temporal
 * hands its workflows to a live worker once the sticky queue times out
 * (about 10s), so an update may legitimately take that long.
 */
export const TEMPORAL_UPDATE_DEADLINE_MS = 20_000;

/** Runs one call to Temporal with a deadline (default: TEMPORAL_CALL_DEADLINE_MS). */
export function withDeadline<T>(client: Client, fn: () => Promise<T>, ms = TEMPORAL_CALL_DEADLINE_MS): Promise<T> {
  return client.connection.withDeadline(Date.now() + ms, fn);
}
