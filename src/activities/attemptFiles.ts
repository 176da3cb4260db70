import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm, rmdir, unlink } from 'node:fs/promises';
import { constants } from 'node:os';
import path from 'node:path';
import type { THttpResult } from './httpRequest';
import type { TCommandResult } from './shellCommand';

/**
 * What a leaf's action leaves on the worker's disk so that its outcome
 * outlives the worker: a worker killed after the command ended but before
 * the outcome reached Postgres (or Temporal's heartbeat details, which the
 * SDK sends at most once per throttle interval) would otherwise lose it, and
 * the next attempt would run the command a second time.
 *
 * One directory per goal, outcome number and activity attempt,
 * `<dataDir>/attempts/<goal id>/<n>/<attempt>`:
 * - `exit`: the command's exit status, written by the command's launcher the
 *   moment the command ends (shellCommand.ts), so it survives even a worker
 *   that died before it heard of the end;
 * - `outcome.json`: the whole outcome, written here as soon as it is known;
 * - `timed_out`, `cancelled`: whether we killed it for its timeout or for a
 *   cancellation (a worker stopping, a heartbeat lost): an end we caused by a
 *   cancellation is no outcome of the command's, and the next attempt runs it
 *   again. When it started is in the directory's name (`<attempt>-<ms>-<random>`;
 *   workers before wrote it to a `started` file, still read).
 * Each attempt has a directory of its own because two attempts of one outcome
 * number can run at once on one worker: a worker that thaws after its
 * heartbeat timed out still runs the given-up attempt (until the heartbeat's
 * answer cancels it) beside its retry, and one must never clear or mark the
 * other's files. A cancelled attempt removes only its own directory; the
 * goal's whole directory goes once Postgres holds the outcome. A later attempt
 * of the same goal and number on this machine reads what its predecessors
 * left instead of running the action again; an attempt on another machine
 * cannot see it (the heartbeat details are then the only record).
 */

export interface TKeptOutcome {
  result: TCommandResult | THttpResult;
  failure?: { message: string; type: 'CommandFailed' | 'HttpFailed' | 'LeafTimedOut' };
}

/** What an earlier attempt left: its whole outcome, or only its command's exit status (its output lost with the worker). */
export type TLeftOutcome = { kind: 'kept'; outcome: TKeptOutcome } | { kind: 'exit'; result: TCommandResult & { output_lost: true; note: string } };

const OUTPUT_LOST_NOTE =
  'the worker stopped after this command ended and before its output was kept: the command was not run again; its exit status is the one it ended with, its output is lost';

/** Where the attempts of a goal's `n`th action outcome keep their files, one subdirectory each. */
export function outcomeDir(dataDir: string, goalId: string, n: number): string {
  return path.join(goalAttemptsDir(dataDir, goalId), String(n));
}

/**
 * A directory of one attempt's own under its outcome's (`activityAttempt` is
 * Temporal's attempt number, for a reader; then when it started, in ms, which
 * saves a file; the random suffix keeps two activities with one attempt
 * number apart).
 */
export function attemptDir(dataDir: string, goalId: string, n: number, activityAttempt: number, startedAt = Date.now()): string {
  return path.join(outcomeDir(dataDir, goalId, n), `${activityAttempt}-${startedAt}-${randomBytes(4).toString('hex')}`);
}

/** When an attempt started: in its directory's name, or (attempts of workers before that) in its `started` file. */
function startedAtOf(dir: string): number {
  const named = /^\d+-(\d+)-[0-9a-f]+$/.exec(path.basename(dir));
  return named ? Number(named[1]) : Number(readText(path.join(dir, 'started')) ?? NaN);
}

function goalAttemptsDir(dataDir: string, goalId: string): string {
  return path.join(dataDir, 'attempts', goalId);
}

/**
 * Makes an attempt's directory before it runs its action. False when it
 * cannot be made (a full disk): the action then runs without it, as it did
 * before there were attempt files. Off the event loop: with many leaves
 * making and removing directories at once, one mkdir can wait milliseconds
 * on the file system, and every other activity of the worker would wait
 * with it.
 */
export async function prepareAttempt(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return true;
  } catch {
    return false;
  }
}

/** The exit file the launcher writes (pass to runShellCommand). */
export function exitFileOf(dir: string): string {
  return path.join(dir, 'exit');
}

/** Marks the attempt's command as killed for its timeout (before the kill, so a recorded exit reads right). */
export function markTimedOut(dir: string): void {
  writeSafely(path.join(dir, 'timed_out'), '1');
}

/** Marks the attempt's command as killed for a cancellation (before the kill: an exit recorded after it is ours). */
export function markCancelled(dir: string): void {
  writeSafely(path.join(dir, 'cancelled'), '1');
}

/**
 * Keeps a whole outcome, synchronously: nothing else runs on this worker
 * between the action's end being known and this write.
 */
export function keepOutcome(dir: string, outcome: TKeptOutcome): void {
  writeSafely(path.join(dir, 'outcome.json'), JSON.stringify(outcome));
}

/**
 * What the earlier attempts of this goal's `n`th outcome left (`dir` is
 * outcomeDir): a whole outcome if any kept one, else a command's exit status
 * (its worker died before it heard of the end), else nothing (none ran, or
 * each was killed while its command still ran). Files a worker of the
 * previous layout left directly in `dir` count as one more attempt.
 */
export function recoverOutcome(dir: string, maxBytes: number): TLeftOutcome | undefined {
  // A first attempt (nearly every one) finds no directory: one cheap check instead of three failed reads.
  if (!existsSync(dir)) return undefined;
  const attempts = [dir, ...subdirectories(dir)];
  for (const attempt of attempts) {
    const kept = keptOutcomeIn(attempt, maxBytes);
    if (kept) return kept;
  }
  const ended = attempts.map(exitIn).filter((e) => e !== undefined);
  // Two attempts' commands may both have ended (a given-up attempt beside its retry): the first end is the outcome.
  ended.sort((a, b) => a.endedAt - b.endedAt);
  return ended[0]?.left;
}

function keptOutcomeIn(dir: string, maxBytes: number): TLeftOutcome | undefined {
  const kept = readText(path.join(dir, 'outcome.json'), maxBytes);
  if (kept === undefined) return undefined;
  try {
    return { kind: 'kept', outcome: JSON.parse(kept) as TKeptOutcome };
  } catch {
    // a torn write cannot happen (write, then rename); anything else unreadable is no outcome
    return undefined;
  }
}

function exitIn(dir: string): { left: TLeftOutcome; endedAt: number } | undefined {
  // Written by the launcher in one small write: empty only if it died in that very instant (then there is no outcome).
  const exit = readText(path.join(dir, 'exit'))?.trim();
  const status = exit ? Number(exit) : NaN;
  if (!Number.isInteger(status)) return undefined;
  if (endedByOurCancellation(dir)) return undefined;
  const started = startedAtOf(dir);
  let endedAt: number;
  try {
    endedAt = statSync(path.join(dir, 'exit')).mtimeMs;
  } catch {
    return undefined;
  }
  const signal = signalOf(status);
  const result: TCommandResult & { output_lost: true; note: string } = {
    exit_code: signal ? null : status,
    signal,
    timed_out: readText(path.join(dir, 'timed_out')) !== undefined,
    cancelled: false,
    stdout: '',
    stderr: '',
    stdout_truncated: false,
    stderr_truncated: false,
    duration_ms: Number.isFinite(started) ? Math.max(0, Math.round(endedAt - started)) : 0,
    output_lost: true,
    note: OUTPUT_LOST_NOTE,
  };
  return { left: { kind: 'exit', result }, endedAt };
}

function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}

/** Forgets one attempt's files (it was cancelled: what it left is no outcome). */
export async function forgetAttempt(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * Forgets a goal's attempts once Postgres holds their outcome (best effort:
 * a leftover is only a few bytes). `made`: the directory this attempt made
 * (attemptDir). When it is the goal's only one and holds only what an
 * attempt writes (its exit status, its outcome), it goes file by file, a
 * few calls; anything else (other attempts, markers) by walking the goal's
 * directory as before. The walk stats and lists every level: in a 100-leaf
 * fan-out it took about a tenth of the worker's main thread.
 */
export async function forgetAttempts(dataDir: string, goalId: string, made?: string): Promise<void> {
  const goalDir = goalAttemptsDir(dataDir, goalId);
  if (made !== undefined && path.dirname(path.dirname(made)) === goalDir && (await removeAttempt(made))) return;
  await rm(goalDir, { recursive: true, force: true }).catch(() => undefined);
}

/** Removes an attempt's own files, its directory, and its outcome's and goal's directories if that empties them; false if anything is left. */
async function removeAttempt(dir: string): Promise<boolean> {
  try {
    await Promise.all(['outcome.json', 'exit'].map((name) => unlink(path.join(dir, name)).catch(ignoreMissing)));
    await rmdir(dir);
    await rmdir(path.dirname(dir));
    await rmdir(path.dirname(path.dirname(dir)));
    return true;
  } catch {
    return false;
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

/** Signals that end a process by default: a status of 128 + one of them is how the shell reports that death. */
const IGNORED_BY_DEFAULT = new Set(['SIGCHLD', 'SIGCONT', 'SIGURG', 'SIGWINCH', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU']);

function signalOf(status: number): NodeJS.Signals | null {
  if (status <= 128) return null;
  const name = Object.entries(constants.signals).find(([, n]) => n === status - 128)?.[0] as NodeJS.Signals | undefined;
  return name && !IGNORED_BY_DEFAULT.has(name) ? name : null;
}

/** The exit was recorded after we killed the command for a cancellation: our end, not the command's. */
function endedByOurCancellation(dir: string): boolean {
  try {
    return statSync(path.join(dir, 'exit')).mtimeMs >= statSync(path.join(dir, 'cancelled')).mtimeMs;
  } catch {
    return false;
  }
}

/** A file's text, or nothing when it is missing or larger than `maxBytes` (never read whole into memory). */
function readText(file: string, maxBytes = 64): string | undefined {
  try {
    if (statSync(file).size > maxBytes) return undefined;
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Write, then rename: a reader sees the old file or the whole new one. A full disk costs the record, never the attempt. */
function writeSafely(file: string, text: string): void {
  try {
    writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  } catch {
    // the heartbeat details and Postgres still get the outcome
  }
}
