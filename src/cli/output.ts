import { ApiError } from '../client/http';

/**
 * What the CLI prints: aligned tables and `key  value` blocks for people,
 * the API's own JSON for scripts (--json), and one line per error on stderr
 * with an exit code a script can branch on.
 */

/** The exit codes, as the root command's help lists them. */
export const EXIT = {
  ok: 0,
  /** The API refused (its message, code and status are printed), was unreachable, or a waited-for run did not succeed. */
  failed: 1,
  /** The command line itself is wrong (unknown option, missing argument, a value that does not parse). */
  usage: 2,
  /** `--wait --timeout` ran out before the run ended (the run goes on). */
  timedOut: 3,
} as const;

/** A command line the CLI refuses before calling anything: exit 2. */
export class UsageError extends Error {
  readonly code = 'CLI_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure already explained in `message`, with its exit code. */
export class CliError extends Error {
  readonly code = 'CLI_FAILED';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A help section of example command lines (every command's `--help` ends with one). */
export function example(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/**
 * A reader that goes away (`reprise goal list | head -2`) ends the command
 * quietly, as it does other command-line tools: nothing more is written, no
 * stack is printed, and the exit code is the one the command had so far
 * (0 unless it had already failed). Any other write error is thrown as before.
 */
export function exitQuietlyWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok);
    });
  }
}

/**
 * Characters a terminal acts on instead of showing: C0 and C1 controls (ESC
 * starts sequences that move the cursor, clear the screen, retitle the
 * window, or write to the clipboard; CR overwrites a line), DEL, and the
 * bidirectional overrides and isolates that reorder what is shown.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- as above
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeControl(ch: string): string {
  const code = ch.charCodeAt(0);
  return NAMED[ch] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/**
 * Text from the API (titles, notes, names, reasons, messages: anyone who can
 * create a goal chose them) as a terminal shows it harmlessly: each control
 * character becomes a visible escape such as `\x1b` or `\u202e`. With
 * `keepNewlines`, `\n` stays: the line breaks of our own multi-line output.
 * Every human-readable write goes through here (println, note, cell, clip,
 * the error line); --json output is JSON, whose strings escape controls already.
 */
export function printable(text: string, keepNewlines = false): string {
  return text.replace(keepNewlines ? CONTROL_BUT_NEWLINE : CONTROL, escapeControl);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function println(line = ''): void {
  process.stdout.write(`${printable(line, true)}\n`);
}

/** Progress and notes for people: stderr, so stdout stays the answer. */
export function note(line: string): void {
  process.stderr.write(`${printable(line, true)}\n`);
}

type TCell = string | number | boolean | null | undefined;

export function cell(value: TCell): string {
  if (value === null || value === undefined || value === '') return '-';
  return printable(String(value).replace(/\s+/g, ' '));
}

/** One line of at most `max` characters (control characters escaped first: see printable), with an ellipsis when cut. */
export function clip(text: string, max = 60): string {
  const shown = printable(text);
  return shown.length <= max ? shown : `${shown.slice(0, max - 1)}…`;
}

/** A timestamp as `2026-11-21 08:00:00Z` (UTC, to the second). */
export function time(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

/** Rows under upper-case headers, columns padded to their widest cell (the last one is not padded). */
export function formatTable(headers: readonly string[], rows: readonly (readonly TCell[])[]): string {
  const text = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => headers.map((_h, i) => cell(r[i])))];
  const widths = headers.map((_h, i) => Math.max(...text.map((r) => [...r[i]!].length)));
  return text.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length))).join('  ').trimEnd()).join('\n');
}

export function printTable(headers: readonly string[], rows: readonly (readonly TCell[])[], empty = '(none)'): void {
  println(rows.length ? formatTable(headers, rows) : empty);
}

/** `key  value` lines, keys padded; rows whose value is undefined are left out (null prints as `-`). */
export function printFields(fields: readonly (readonly [string, TCell])[]): void {
  const shown = fields.filter(([, v]) => v !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  for (const [k, v] of shown) println(`${k.padEnd(width)}  ${cell(v)}`);
}

/** A list's footer, on stderr: how to get the next page. */
export function printNextPage(nextCursor: string | null | undefined): void {
  if (nextCursor) note(`more: add --cursor ${nextCursor}`);
}

/** The parts of the connection an error message needs. */
export interface TErrorContext {
  url: string | undefined;
  tokenSource: string | undefined;
  otherUrlTokenFile?: { file: string; url: string };
  ignoredTokenFile?: { file: string; reason: string };
}

/** The line that says a local token file was passed over, and how to fix it; '' when none was. */
function ignoredFileHint(ctx: TErrorContext): string {
  return ctx.ignoredTokenFile ? `\nhint: the local token file ${ctx.ignoredTokenFile.file} was ignored: ${ctx.ignoredTokenFile.reason}` : '';
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/** The code of a failed fetch (`TypeError: fetch failed` carries the socket error as its cause), if it is one. */
export function networkErrorCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'TIMEOUT';
  const cause = (err as { cause?: unknown }).cause as { code?: unknown; message?: unknown; errors?: { code?: unknown }[] } | undefined;
  const code = typeof cause?.code === 'string' ? cause.code : typeof cause?.errors?.[0]?.code === 'string' ? cause.errors[0].code : undefined;
  if (code && NETWORK_CODES.has(code)) return code;
  if (!(err instanceof TypeError && err.message === 'fetch failed')) return undefined;
  // undici refuses some URLs itself (e.g. "bad port") with a cause that has a message but no code.
  return code ?? (typeof cause?.message === 'string' && cause.message ? cause.message : 'fetch failed');
}

/** The message (one line, or a line and a hint) and exit code for anything a command threw. */
export function describeError(err: unknown, ctx: TErrorContext): { message: string; exitCode: number } {
  if (err instanceof ApiError) {
    let message = `reprise: ${printable(err.message)} (${printable(err.code)}, HTTP ${err.status})`;
    if (err.status === 401 && ctx.tokenSource === 'none') {
      message += ctx.ignoredTokenFile
        ? `${ignoredFileHint(ctx)}\nhint: so no token was sent to ${ctx.url}`
        : ctx.otherUrlTokenFile
          ? `\nhint: no token was sent to ${ctx.url}: the local token file ${ctx.otherUrlTokenFile.file} is for ${printable(ctx.otherUrlTokenFile.url)}; use that URL, or set REPRISE_TOKEN / --token`
          : `\nhint: no token was sent to ${ctx.url}: set REPRISE_TOKEN or pass --token (npm start writes a local one to .data/local-admin-token.json)`;
    }
    return { message, exitCode: EXIT.failed };
  }
  if (err instanceof UsageError) return { message: `reprise: ${err.message}\n(see --help)`, exitCode: EXIT.usage };
  if (err instanceof CliError) return { message: `reprise: ${err.message}`, exitCode: err.exitCode };
  const network = networkErrorCode(err);
  if (network) {
    return {
      message:
        `reprise: cannot reach the Reprise API at ${ctx.url ?? '(no URL)'} (${network}). Is it running? Start it with \`npm start\`, or point --url / REPRISE_URL at it.` +
        // The ignored file would also have said where the API is: its URL was not followed either.
        (ctx.ignoredTokenFile ? `${ignoredFileHint(ctx)} (its API URL was not used either)` : ''),
      exitCode: EXIT.failed,
    };
  }
  const explained = (err as { code?: unknown })?.code;
  if (err instanceof Error && typeof explained === 'string' && /^[A-Z][A-Z_]+$/.test(explained)) {
    // A domain or start-up error (token create's database path): its message is the story.
    return { message: `reprise: ${err.message} (${explained})`, exitCode: EXIT.failed };
  }
  // A bug of ours, or an answer that is not the API's: the message, and the stack only when asked for.
  const detail = err instanceof Error ? (process.env.REPRISE_DEBUG ? (err.stack ?? err.message) : err.message) : String(err);
  return { message: `reprise: unexpected error: ${detail}${process.env.REPRISE_DEBUG ? '' : ' (REPRISE_DEBUG=1 shows where)'}`, exitCode: EXIT.failed };
}
