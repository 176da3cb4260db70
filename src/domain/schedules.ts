import { msToNumber } from '@temporalio/common';
import { z } from './zod';

/**
 * Schedules (SPEC §5), the pure part: how a schedule says when it fires and
 * the overlap policies it offers. A schedule is a Temporal Schedule (the
 * source of truth for its state); its fires become runs keyed by (schedule
 * id, nominal fire time) (`fireKey` in ids.ts), so a retried or duplicated
 * fire never mints a second tree.
 */

/** `skip` (ours, status-aware: a fire while the previous run's tree is active makes no tree, and says so), then Temporal's own. */
export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'allow_all'] as const;
export type TOverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** The shortest interval a schedule may fire at (Temporal's own minimum is one second). */
export const MIN_INTERVAL_MS = 1000;

/** An interval such as `15m`, `1h`, `90s` or `1d` (Temporal's duration syntax); an error message when it is not one. */
export function intervalError(every: string): string | undefined {
  let ms: number;
  try {
    ms = msToNumber(every as Parameters<typeof msToNumber>[0]);
  } catch {
    return `"${every}" is not an interval (try "30s", "15m", "1h" or "1d")`;
  }
  if (!Number.isFinite(ms) || ms < MIN_INTERVAL_MS) return `"${every}" is shorter than one second`;
  return undefined;
}

/**
 * The catch-up window (SPEC §5, issue 16): a fire whose nominal time fell
 * inside an outage of Temporal still runs when Temporal is back if it is at
 * most this late; an older one is missed (Temporal counts it). The default,
 * one day, covers a night's or a weekend night's outage, yet a schedule that
 * was down for weeks does not replay its backlog: that is a backfill, asked
 * for on purpose. Temporal itself raises any window under ten seconds to ten.
 */
export const DEFAULT_CATCHUP_WINDOW = '1d';
export const MIN_CATCHUP_WINDOW_MS = 10_000;
export const MAX_CATCHUP_WINDOW_MS = 7 * 24 * 3600_000;

/** A catch-up window such as `15m`, `6h` or `1d` (the syntax of `every`); an error message when it is not one between 10 seconds and 7 days. */
export function catchupWindowError(window: string): string | undefined {
  let ms: number;
  try {
    ms = msToNumber(window as Parameters<typeof msToNumber>[0]);
  } catch {
    return `"${window}" is not a duration (try "15m", "6h" or "1d")`;
  }
  if (!Number.isFinite(ms) || ms < MIN_CATCHUP_WINDOW_MS) return `"${window}" is shorter than 10 seconds (Temporal's minimum)`;
  if (ms > MAX_CATCHUP_WINDOW_MS) return `"${window}" is longer than 7 days: replay an older range with a backfill instead`;
  return undefined;
}

/** Milliseconds as the shortest exact duration in the syntax of `every`: `1d`, `6h`, `90m`, `45s` (`1500ms` when not whole seconds). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export const ZCatchupWindow = z
  .string()
  .superRefine((w, ctx) => {
    // One message per bad value, whatever is wrong with it.
    const error = w.length > 32 ? 'too long' : catchupWindowError(w);
    if (error) ctx.addIssue({ code: 'custom', message: `${error}; a catch-up window is between 10s and 7d, e.g. "15m", "6h", "1d"` });
  })
  .openapi({
    example: '6h',
    description:
      "How late a fire missed during an outage of Temporal may still run once it is back (e.g. \"15m\", \"6h\", \"1d\"; 10 seconds to 7 days). Older fires are missed and counted in `missed_catchup_window`. Default: the server's SCHEDULE_CATCHUP_WINDOW (1d unless set).",
  });

/** An IANA time zone such as `Europe/Paris`; an error message when the runtime does not know it. */
export function timeZoneError(timeZone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return undefined;
  } catch {
    return `"${timeZone}" is not a known time zone (an IANA name such as "Europe/Paris" or "UTC")`;
  }
}

/**
 * Why a cron string is refused, or undefined. Reprise crons have five fields.
 * Temporal also reads six fields (the sixth a *year*, not seconds as in
 * Quartz or node-cron) and seven (seconds first), so `*\/30 * * * * *`,
 * meant as every 30 seconds, would fire every 30 minutes: refused, rather
 * than run at a pace nobody asked for.
 */
export function cronError(cron: string): string | undefined {
  const text = cron.replace(/#.*$/, '').replace(/^\s*(CRON_TZ|TZ)=\S+\s*/, '').trim();
  const fields = text.startsWith('@') ? [] : text.split(/\s+/);
  if (fields.length === 6 || fields.length === 7) {
    return `has ${fields.length} fields: a Reprise cron has five (minute hour day-of-month month day-of-week), e.g. "0 8 * * 1-5"; seconds are not supported (the shortest step is a minute: "* * * * *")`;
  }
  if (fields.length === 5) {
    for (const [i, field] of fields.entries()) {
      const error = cronFieldError(field, CRON_FIELDS[i] as TCronField);
      if (error) return error;
    }
  }
  // Other malformed strings are left to Temporal's parser, whose refusal is told in our words (temporal/schedules.ts).
  return undefined;
}

interface TCronField {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const CRON_FIELDS: readonly TCronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

/**
 * A number in a cron field out of its range ("25" as an hour), said in words
 * before Temporal's parser sees it (its refusal does not say which field).
 * Only plain numbers are checked: names, `*`, `?`, `L`, `#` and other forms
 * are Temporal's to read.
 */
function cronFieldError(field: string, spec: TCronField): string | undefined {
  for (const item of field.split(',')) {
    const [range = '', step] = item.split('/');
    if (step !== undefined && (!/^\d+$/.test(step) || Number(step) === 0)) return `has "${item}" as its ${spec.name}: a step after "/" is a whole number of at least 1`;
    for (const bound of range.split('-')) {
      if (!/^\d+$/.test(bound)) continue;
      const n = Number(bound);
      if (n < spec.min || n > spec.max) return `has ${bound} as its ${spec.name}: the ${spec.name} is ${spec.min}-${spec.max}${spec.names ? ` (or ${spec.names[0]}-${spec.names[spec.names.length - 1]})` : ''}`;
    }
  }
  return undefined;
}

export const ZScheduleSpec = z
  .union([
    z
      .object({
        cron: z
          .string()
          .min(1)
          .max(200)
          .superRefine((cron, ctx) => {
            const error = cronError(cron);
            if (error) ctx.addIssue({ code: 'custom', message: error });
          })
          .openapi({
            example: '0 8 * * 1-5',
            description: 'Five fields (minute hour day-of-month month day-of-week), or @daily, @hourly…; six or seven fields (seconds, years) are refused.',
          }),
        timezone: z
          .string()
          .max(64)
          .refine((tz) => timeZoneError(tz) === undefined, { message: 'not a known time zone (an IANA name such as "Europe/Paris" or "UTC")' })
          .optional(),
      })
      .strict(),
    z.object({ every: z.string().min(1).max(32).refine((e) => intervalError(e) === undefined, { message: 'not an interval of at least one second (e.g. "30s", "15m", "1h", "1d")' }) }).strict(),
    z.object({ at: z.iso.datetime({ offset: true }).openapi({ example: '2026-12-01T08:00:00Z', description: 'Fires once at this time, then shows as spent.' }) }).strict(),
  ])
  .openapi('ScheduleSpec');

export type TScheduleSpec = z.infer<typeof ZScheduleSpec>;

/** A one-shot spec's time (`{at}`), or undefined for a recurring spec. */
export function oneShotAt(spec: unknown): Date | undefined {
  return spec !== null && typeof spec === 'object' && 'at' in spec ? new Date(String((spec as { at: unknown }).at)) : undefined;
}

/** A one-shot that has fired (Temporal's remaining actions are used up): kept with its runs, it fires no more. */
export function isSpent(spec: unknown, remainingActions: number | undefined): boolean {
  return oneShotAt(spec) !== undefined && (remainingActions ?? 0) === 0;
}

/**
 * What one owner may make fire (SPEC §6, "quotas bound what one owner can
 * make fire"): at most `maxPerOwner` schedules; for tokens without `admin`,
 * no schedule firing more often than once per `minIntervalMs`; and at most
 * `backfillMaxFires` fires per backfill request.
 */
export interface TScheduleLimits {
  maxPerOwner: number;
  minIntervalMs: number;
  backfillMaxFires: number;
}

export const DEFAULT_SCHEDULE_LIMITS: TScheduleLimits = { maxPerOwner: 100, minIntervalMs: 60_000, backfillMaxFires: 1000 };

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * The values 0-59 one cron field (seconds or minutes) allows: `*`, `*\/n`,
 * `a`, `a-b`, `a-b/n`, `a/n`, and lists of them. Undefined when the field
 * uses anything else (Temporal reads more than this; the caller then
 * assumes the worst).
 */
export function sixtyField(field: string): number[] | undefined {
  const values = new Set<number>();
  for (const item of field.split(',')) {
    const m = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(item);
    if (!m) return undefined;
    const step = m[4] === undefined ? 1 : Number(m[4]);
    const from = m[1] === '*' ? 0 : Number(m[2]);
    // `a/n` runs from a to the end, as `a-59/n`.
    const to = m[1] === '*' || (m[3] === undefined && m[4] !== undefined) ? 59 : Number(m[3] ?? m[2]);
    if (step < 1 || from > 59 || to > 59 || from > to) return undefined;
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

/** The shortest gap between allowed values of a field that wraps every 60 units, in units (60 when only one value is allowed). */
function shortestGap(values: number[]): number {
  if (values.length <= 1) return 60;
  let gap = 60 - (values[values.length - 1] as number) + (values[0] as number);
  for (let i = 1; i < values.length; i++) gap = Math.min(gap, (values[i] as number) - (values[i - 1] as number));
  return gap;
}

/**
 * A lower bound of the time between two fires of a cron string as Temporal
 * reads it (5 fields: minute first; 6: plus a year; 7: a second first;
 * `@hourly`-style shorthands; `@every <interval>[/<phase>]`; an optional
 * `CRON_TZ=`/`TZ=` prefix and `#` comment). Conservative: where this cannot
 * tell, it assumes the shortest gap the string's form allows (a second with a
 * seconds field, a minute without), so a schedule is never let through
 * faster than the limit, though a rare one may be refused that fires slower.
 */
export function cronMinimumGapMs(cron: string): number {
  const text = cron.replace(/#.*$/, '').replace(/^\s*(CRON_TZ|TZ)=\S+\s*/, '').trim();
  const every = /^@every\s+([^/\s]+)/.exec(text);
  if (every) return goDurationMs(every[1] as string) ?? 1000;
  if (text.startsWith('@')) return HOUR_MS; // @hourly is the most frequent shorthand
  const fields = text.split(/\s+/);
  if (fields.length === 7) {
    const seconds = sixtyField(fields[0] as string);
    if (!seconds) return 1000;
    if (seconds.length > 1) return shortestGap(seconds) * 1000;
    // One fire per minute at most; fewer when the minute field says so.
  }
  const minutes = sixtyField(fields[fields.length === 7 ? 1 : 0] ?? '*');
  if (!minutes) return MINUTE_MS;
  // One allowed minute: an hour at the least (the hour field may allow every hour).
  return minutes.length === 1 ? HOUR_MS : shortestGap(minutes) * MINUTE_MS;
}

const GO_DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: MINUTE_MS, h: HOUR_MS, d: 24 * HOUR_MS };

/**
 * A Go duration as `@every` takes it (`1h30m`, `90m`, `1.5h`, `2h45m30s`):
 * every unit counted, not only the last. Undefined when it is not one.
 */
export function goDurationMs(text: string): number | undefined {
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/gy;
  let total = 0;
  let at = 0;
  for (let m = part.exec(text); m; m = part.exec(text)) {
    total += Number(m[1]) * (GO_DURATION_UNITS[m[2] as string] as number);
    at = part.lastIndex;
  }
  return at === text.length && at > 0 ? total : undefined;
}

/**
 * How far ahead a one-shot (`at`) may be: ten years. Further is surely a
 * mistake (9999-12-31), and Temporal refuses such a calendar with a bare
 * "invalid argument"; a 400 naming the field says what to change.
 */
export const MAX_AT_AHEAD_MS = 10 * 365.25 * 24 * HOUR_MS;

/** Why a one-shot's time may not be used now (in the past, or beyond the horizon), or undefined. */
export function atError(at: Date, now: number = Date.now()): string | undefined {
  if (at.getTime() <= now) return `spec.at ${at.toISOString()} is in the past; give a future time`;
  if (at.getTime() > now + MAX_AT_AHEAD_MS) return `spec.at ${at.toISOString()} is more than 10 years ahead; a one-shot fires within 10 years`;
  return undefined;
}

/** A lower bound of the time between two fires of a spec (Infinity for a one-shot). */
export function minimumGapMs(spec: TScheduleSpec): number {
  if ('at' in spec) return Infinity;
  if ('every' in spec) return msToNumber(spec.every as Parameters<typeof msToNumber>[0]);
  return cronMinimumGapMs(spec.cron);
}

/**
 * How many fires a range holds, for a backfill refused as too large: exact
 * when it was counted to the end, otherwise extrapolated from the part
 * counted (`counted` fires from `start` to `lastAt`).
 */
export function firesInRange(range: { start: Date; end: Date }, counted: { counted: number; complete: boolean; lastAt: Date | undefined }): { fires: number; exact: boolean } {
  if (counted.complete || !counted.lastAt) return { fires: counted.counted, exact: counted.complete };
  const covered = counted.lastAt.getTime() - range.start.getTime();
  const whole = range.end.getTime() - range.start.getTime();
  if (covered <= 0) return { fires: counted.counted, exact: false };
  return { fires: Math.max(counted.counted, Math.round((counted.counted * whole) / covered)), exact: false };
}
