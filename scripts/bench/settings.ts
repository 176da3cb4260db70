// The benches' settings (BENCH_* environment variables), read once at start:
// a bad one is a line on stderr and exit 1, before anything is started,
// rather than NaN in the tables or a stack trace.

/** A setting the bench cannot use: says so in one line and exits 1. Only for errors found before any service or process is started. */
export function settingError(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(1);
}

/** A whole number of at least `min` (default 1) from `name`, or `fallback` when unset or empty. */
export function wholeNumber(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = parseWhole(raw);
  if (n === undefined || n < min) settingError(`${name}: a whole number of at least ${min} (got ${JSON.stringify(raw)})`);
  return n;
}

/** Comma-separated whole numbers of at least 1, each greater than the one before, from `name`, or `fallback`. */
export function increasingWholeNumbers(name: string, fallback: readonly number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  const ns = raw.split(',').map(parseWhole);
  if (ns.some((n, i) => n === undefined || n < 1 || (i > 0 && n <= (ns[i - 1] as number)))) {
    settingError(`${name}: increasing whole numbers of at least 1, comma-separated, e.g. ${fallback.join(',')} (got ${JSON.stringify(raw)})`);
  }
  return ns as number[];
}

function parseWhole(raw: string): number | undefined {
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** One of `allowed` from `name`, or `fallback` when unset or empty. */
export function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw.trim())) settingError(`${name}: ${allowed.join(' or ')} (got ${JSON.stringify(raw)})`);
  return raw.trim() as T;
}

/** A comma-separated list from `name` (or `fallback`), each item one of `allowed`. */
export function listOf(name: string, allowed: readonly string[], fallback: readonly string[]): string[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  const items = raw.split(',').map((item) => item.trim());
  const unknown = items.filter((item) => !allowed.includes(item));
  if (unknown.length) settingError(`${name}: unknown ${unknown.map((u) => JSON.stringify(u)).join(', ')} (one or more of ${allowed.join(', ')}, comma-separated)`);
  return items;
}

/**
 * Idle time before each side's batch of a scenario (engine and throughput).
 * The dev server hands workflow tasks over slower while it is still busy
 * from the batch before (measured with bare Temporal alone: 20-leaf chains
 * back to back took 0.44, 0.78, then 1.04 s each, every workflow task
 * waiting 33 ms to be picked up; with 2 s between them, 0.30-0.35 s each,
 * 1.6 ms), so without it whichever side ran second was timed on a slower
 * server (docs/performance/notes.md, "A settled server").
 */
export const SETTLE_MS = wholeNumber('BENCH_SETTLE_MS', 3000, 0);

/**
 * How often a tree's recorded end is polled for: as `reprise run wait` polls
 * (twice a second, src/cli/waitForRun.ts). The time is the recorded end
 * whatever the poll, so polling faster than a user's wait would only load
 * the machine measured (docs/performance/notes.md, "Polls as reprise run wait polls").
 */
export const RECORDED_POLL_MS = wholeNumber('BENCH_RECORDED_POLL_MS', 500, 10);
