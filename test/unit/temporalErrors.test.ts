import { asTemporalError } from '../../src/temporal/errors';
import { retryAfterFor } from '../../src/domain/errors';

/** How Temporal's client errors reach callers: load is 429, unreachable or slow is 503, both with Retry-After; the rest passes through. */
describe('asTemporalError', () => {
  const grpc = (code: number, message: string) => Object.assign(new Error(message), { code });

  it.each([
    ['RESOURCE_EXHAUSTED (gRPC 8)', grpc(8, '8 RESOURCE_EXHAUSTED: limit on number of concurrent in-flight updates has been reached'), 'TEMPORAL_BUSY', 1],
    ['RESOURCE_EXHAUSTED named only in the cause', Object.assign(new Error('update failed'), { cause: '8 RESOURCE_EXHAUSTED: too many' }), 'TEMPORAL_BUSY', 1],
    ['UNAVAILABLE (gRPC 14)', grpc(14, '14 UNAVAILABLE: No connection established'), 'TEMPORAL_UNAVAILABLE', 2],
    ['DEADLINE_EXCEEDED (gRPC 4)', grpc(4, '4 DEADLINE_EXCEEDED: Deadline exceeded'), 'TEMPORAL_UNAVAILABLE', 2],
  ])('%s → %s', (_what, err, code, retryAfter) => {
    const mapped = asTemporalError(err, 'the completion could not be delivered') as { code: string; message: string };
    expect(mapped.code).toBe(code);
    expect(mapped.message).toMatch(/^the completion could not be delivered: /);
    expect(retryAfterFor(mapped.code as never)).toBe(retryAfter);
  });

  it('passes anything else through unchanged', () => {
    const other = grpc(3, '3 INVALID_ARGUMENT: nope');
    expect(asTemporalError(other, 'x')).toBe(other);
  });
});
