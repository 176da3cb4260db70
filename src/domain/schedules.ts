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

export const ZScheduleSpec = z
  .union([
    z
      .object({
        cron: z.string().min(1).max(200).openapi({ example: '0 8 * * 1-5', description: 'Five-field cron (minute hour day-of-month month day-of-week), or @daily, @hourly…' }),
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
