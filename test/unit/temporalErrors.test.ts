import type { Logger } from 'pino';
import { errorHandler } from '../../src/api/errors';
import { DomainError, retryAfterFor } from '../../src/domain/errors';
import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { asGoalMessageError, asTemporalError } from '../../src/temporal/errors';
import { asScheduleError } from '../../src/temporal/schedules';

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

/** Temporal refusing a schedule as invalid: our words for the caller, Temporal's kept as the cause for the log. */
describe('asGoalMessageError', () => {
  const codeOf = (err: unknown) => (err as DomainError).code;
  it('reads a workflow that ended meanwhile as a goal not waiting (409), and an update that timed out as Temporal unavailable (503): never a 500', () => {
    const grpc = (code: number) => Object.assign(new Error('workflow execution already completed'), { code });
    expect(codeOf(asGoalMessageError(new ServiceError('Workflow Update failed', { cause: grpc(5) }), 'goal_x', 'a judgment'))).toBe('GOAL_NOT_WAITING');
    expect(codeOf(asGoalMessageError(new ServiceError('Workflow Update failed', { cause: grpc(9) }), 'goal_x', 'a judgment'))).toBe('GOAL_NOT_WAITING');
    expect(codeOf(asGoalMessageError(new WorkflowUpdateRPCTimeoutOrCancelledError('Workflow update call timeout or cancelled'), 'goal_x', 'a judgment'))).toBe('TEMPORAL_UNAVAILABLE');
  });
});

describe('asScheduleError', () => {
  const raw = Object.assign(new Error('3 INVALID_ARGUMENT: CronString does not have 5-7 fields'), { code: 3 });

  it('names the cron expression in our words, keeping the raw error only as its cause', () => {
    const mapped = asScheduleError(raw, 'the schedule could not be created in Temporal', { cron: 'every morning' }) as DomainError;
    expect([mapped.code, mapped.message]).toEqual(['VALIDATION_FAILED', expect.stringMatching(/^spec\.cron "every morning" is not a cron expression: give five fields/)]);
    expect(mapped.message).not.toMatch(/INVALID_ARGUMENT|CronString/);
    expect(mapped.cause).toBe(raw);
  });

  it('says what was refused when there is no cron to blame', () => {
    const mapped = asScheduleError(new TypeError('Invalid calendar spec'), 'schedule s could not be backfilled') as DomainError;
    expect(mapped.message).toBe('schedule s could not be backfilled: Temporal refused the request as invalid');
  });

  it('maps load and outages as every Temporal error is mapped', () => {
    expect((asScheduleError(Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }), 'x') as DomainError).code).toBe('TEMPORAL_UNAVAILABLE');
  });
});

describe('the API error handler', () => {
  it("answers with our message and logs the cause it stands for, with the request id", () => {
    const logged: { obj: Record<string, unknown>; msg: string }[] = [];
    const logger = { info: (obj: Record<string, unknown>, msg: string) => logged.push({ obj, msg }), warn: () => undefined, error: () => undefined } as unknown as Logger;
    const raw = new Error('3 INVALID_ARGUMENT: CronString does not have 5-7 fields');
    const sent: { status?: number; body?: unknown } = {};
    const res = { setHeader: () => undefined, status: (s: number) => ((sent.status = s), res), json: (b: unknown) => (sent.body = b) };
    errorHandler(logger)(new DomainError('VALIDATION_FAILED', 'spec.cron "x" is not a cron expression', undefined, { cause: raw }), { id: 'req-1' } as never, res as never, () => undefined);
    expect(sent).toEqual({ status: 400, body: { error: { code: 'VALIDATION_FAILED', message: 'spec.cron "x" is not a cron expression', request_id: 'req-1' } } });
    expect(logged).toEqual([{ obj: { err: raw, requestId: 'req-1', code: 'VALIDATION_FAILED' }, msg: 'spec.cron "x" is not a cron expression' }]);
  });
});
