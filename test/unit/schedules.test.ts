import { fireKey } from '../../src/domain/ids';
import { catchupWindowError, cronError, formatDuration, intervalError, isSpent, oneShotAt, timeZoneError, ZCatchupWindow, ZScheduleSpec } from '../../src/domain/schedules';
import { fireTemporalWorkflowId, scheduleId, SCHEDULE_ID_PATTERN } from '../../src/domain/ids';

describe('schedule specs', () => {
  it.each([['30s'], ['15m'], ['1h'], ['1d'], ['90 minutes']])('takes the interval %s', (every) => {
    expect(intervalError(every)).toBeUndefined();
  });
  it.each([['often'], ['0s'], ['500ms'], ['-5m']])('refuses the interval %s', (every) => {
    expect(intervalError(every)).toEqual(expect.any(String));
  });
  it('knows time zones by their IANA names', () => {
    expect(timeZoneError('Europe/Paris')).toBeUndefined();
    expect(timeZoneError('UTC')).toBeUndefined();
    expect(timeZoneError('Mars/Olympus')).toMatch(/not a known time zone/);
  });
  it('is exactly one of cron (with a time zone), every and at', () => {
    expect(ZScheduleSpec.safeParse({ cron: '0 8 * * 1-5', timezone: 'Europe/Paris' }).success).toBe(true);
    expect(ZScheduleSpec.safeParse({ every: '15m' }).success).toBe(true);
    expect(ZScheduleSpec.safeParse({ at: '2026-12-01T08:00:00Z' }).success).toBe(true);
    expect(ZScheduleSpec.safeParse({ every: '15m', cron: '* * * * *' }).success).toBe(false);
    expect(ZScheduleSpec.safeParse({ at: 'tomorrow' }).success).toBe(false);
    expect(ZScheduleSpec.safeParse({}).success).toBe(false);
  });
});

describe('cron strings', () => {
  it.each([['0 8 * * 1-5'], ['*/15 * * * *'], ['@daily'], ['CRON_TZ=Europe/Paris 0 8 * * *'], ['0 8 * * * # mornings']])('takes %s', (cron) => {
    expect(cronError(cron)).toBeUndefined();
    expect(ZScheduleSpec.safeParse({ cron }).success).toBe(true);
  });
  it.each([['*/30 * * * * *'], ['0 */5 * * * * *']])('refuses %s: Temporal would read a year or a seconds field', (cron) => {
    const parsed = ZScheduleSpec.safeParse({ cron });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['cron'], message: expect.stringMatching(/a Reprise cron has five \(minute hour day-of-month month day-of-week\).*seconds are not supported/) });
  });  it.each([
    ['0 25 * * *', /has 25 as its hour: the hour is 0-23/],
    ['60 8 * * *', /has 60 as its minute: the minute is 0-59/],
    ['0 8 0 * *', /has 0 as its day of month: the day of month is 1-31/],
    ['0 8 * 13 *', /has 13 as its month: the month is 1-12 \(or JAN-DEC\)/],
    ['0 8 * * 1-9', /has 9 as its day of week: the day of week is 0-7/],
    ['0 8,30 * * *', /has 30 as its hour/],
    ['*/0 * * * *', /a step after "\/" is a whole number of at least 1/],
  ])('refuses %s, naming the field out of range', (cron, message) => {
    expect(cronError(cron)).toMatch(message);
    expect(ZScheduleSpec.safeParse({ cron }).success).toBe(false);
  });
  it.each([['0 8 * JAN-MAR MON-FRI'], ['0 0 L * *'], ['0 8 * * 7'], ['0-59/5 0-23 1-31 1-12 0-7']])('leaves %s (names, L, 7 for Sunday, full ranges) to Temporal', (cron) => {
    expect(cronError(cron)).toBeUndefined();
  });
});

describe('schedule ids and fire keys', () => {
  it('names the workflow in the schedule id, readable in `temporal schedule list`', () => {
    const id = scheduleId('Weekly Report!');
    expect(id).toMatch(/^sched-weekly-report-[0-9a-z]{10}$/);
    expect(SCHEDULE_ID_PATTERN.test(id)).toBe(true);
    expect(scheduleId('Weekly Report!')).not.toBe(id);
    expect(fireTemporalWorkflowId(id)).toBe(`fire-${id}`);
  });
  it('keys a fire by its schedule and nominal time', () => {
    expect(fireKey('sched-x-0123456789', new Date('2026-11-22T08:00:00Z'))).toBe('sched-x-0123456789@2026-11-22T08:00:00.000Z');
  });
});

describe('one-shot schedules', () => {
  it('are spent once Temporal has no action left for them; recurring ones never are', () => {
    expect(oneShotAt({ at: '2026-12-01T08:00:00Z' })?.toISOString()).toBe('2026-12-01T08:00:00.000Z');
    expect(oneShotAt({ every: '1h' })).toBeUndefined();
    expect([isSpent({ at: '2026-12-01T08:00:00Z' }, 0), isSpent({ at: '2026-12-01T08:00:00Z' }, 1), isSpent({ every: '1h' }, 0), isSpent(undefined, undefined)]).toEqual([true, false, false, false]);
  });
});

describe('catch-up windows', () => {
  it.each([['10s'], ['15m'], ['6h'], ['1d'], ['7d'], ['90 minutes']])('takes %s', (window) => {
    expect(catchupWindowError(window)).toBeUndefined();
    expect(ZCatchupWindow.safeParse(window).success).toBe(true);
  });
  it.each([
    ['soon', /not a duration/],
    ['9s', /shorter than 10 seconds/],
    ['0s', /shorter than 10 seconds/],
    ['8d', /longer than 7 days: replay an older range with a backfill/],
    ['-1h', /shorter than 10 seconds/],
  ])('refuses %s, saying why', (window, why) => {
    expect(catchupWindowError(window)).toMatch(why);
    const parsed = ZCatchupWindow.safeParse(window);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/between 10s and 7d/);
  });
  it('reads back as the shortest exact duration', () => {
    expect([86_400_000, 6 * 3_600_000, 90 * 60_000, 45_000, 60_000, 1500, 36 * 3_600_000].map(formatDuration)).toEqual(['1d', '6h', '90m', '45s', '1m', '1500ms', '36h']);
  });
});
