import { ApplicationFailure } from '@temporalio/activity';
import { toActivityFailure, UNEXPECTED_ERROR_ATTEMPTS } from '../../src/activities/errorBoundary';
import { FAILURE_TYPES, looksInternal, userReason } from '../../src/domain/errors';

/**
 * Reasons are for users: what the activities' error boundary lets through,
 * and what the API shows of a stored reason. The database shapes below are
 * the ones a real Postgres produced when SIGKILLed (recorded from
 * test/integration/databaseOutage.test.ts, which checks them live).
 */

/** What the user saw on leaf `a`. */
const PRISMA_TEXT =
  "\nInvalid `prisma.goal.update()` invocation in\n/work/main/src/db/goals.ts:197:30\n\n  194 export async function loadGoalForRun(\n→ 197   return await prisma.goal.update(\nCan't reach database server at 127.0.0.1:54329";

function prismaP1001(): Error {
  return Object.assign(new Error(PRISMA_TEXT), {
    name: 'PrismaClientKnownRequestError',
    code: 'P1001',
    meta: { modelName: 'Goal', driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 54329 } } },
  });
}

const logged: unknown[] = [];
const logger = { warn: (o: unknown) => void logged.push(o), error: (o: unknown) => void logged.push(o) };
const where = { activityType: 'runLeaf' };

describe('reasons are for users', () => {
  it('flags internal text', () => {
    expect(looksInternal(PRISMA_TEXT)).toBe(true);
    expect(looksInternal('Error: boom\n    at run (/app/src/x.ts:3:9)')).toBe(true);
    expect(looksInternal('the command exited with code 2 (after 3 attempts)')).toBe(false);
    expect(userReason(PRISMA_TEXT)).not.toMatch(/prisma|invocation|at \/|\.ts:/i);
    expect(userReason('child "a" failed: the command exited with code 1')).toBe('child "a" failed: the command exited with code 1');
  });

  it('turns a database outage into a retryable InfrastructureUnavailable with our sentence', () => {
    const failure = toActivityFailure(prismaP1001(), logger, where) as ApplicationFailure;
    expect({ type: failure.type, nonRetryable: failure.nonRetryable, message: failure.message }).toEqual({
      type: FAILURE_TYPES.InfrastructureUnavailable,
      nonRetryable: false,
      message: 'Postgres is unreachable; try again shortly',
    });
    const deadlock = toActivityFailure(Object.assign(new Error('x'), { code: 'P2010', meta: { driverAdapterError: { cause: { kind: 'TransactionWriteConflict' } } } }), logger, where) as ApplicationFailure;
    expect(deadlock.type).toBe(FAILURE_TYPES.InfrastructureUnavailable);
  });

  it('names an unexpected error only by a reference the log holds', () => {
    logged.length = 0;
    const failure = toActivityFailure(new TypeError("Cannot read properties of undefined (reading 'x')"), logger, where) as ApplicationFailure;
    expect(failure.type).toBe(FAILURE_TYPES.Internal);
    const ref = /^internal error \(ref (err_[0-9a-f]{12})\): see the worker log$/.exec(failure.message)?.[1];
    expect(ref).toBeDefined();
    expect(logged).toEqual([expect.objectContaining({ ref })]);
  });

  it('retries an unexpected error for a while, then ends it (a bug must not hold a goal running for the whole window)', () => {
    const bug = () => new TypeError("Cannot read properties of undefined (reading 'x')");
    const early = toActivityFailure(bug(), logger, { ...where, attempt: UNEXPECTED_ERROR_ATTEMPTS - 1 }) as ApplicationFailure;
    const last = toActivityFailure(bug(), logger, { ...where, attempt: UNEXPECTED_ERROR_ATTEMPTS }) as ApplicationFailure;
    expect([early.nonRetryable, last.nonRetryable, last.type]).toEqual([false, true, FAILURE_TYPES.Internal]);
    // Postgres down is never final, however long it lasts.
    expect((toActivityFailure(prismaP1001(), logger, { ...where, attempt: 10_000 }) as ApplicationFailure).nonRetryable).toBe(false);
  });

  it('lets our own failures through, unless their text is internal', () => {
    const ours = ApplicationFailure.nonRetryable('goal g does not exist', FAILURE_TYPES.GoalNotFound);
    expect(toActivityFailure(ours, logger, where)).toBe(ours);
    const leaked = ApplicationFailure.retryable(PRISMA_TEXT, FAILURE_TYPES.CommandFailed);
    expect((toActivityFailure(leaked, logger, where) as ApplicationFailure).message).toBe('Postgres is unreachable; try again shortly');
  });
});
