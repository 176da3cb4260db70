import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { z } from 'zod';
import packageJson from '../../package.json';
import { createApiClient, type TApiClient } from '../client/http';
import { resolveConnection, type TConnection } from './config';
import { UsageError, type TErrorContext } from './output';

/**
 * What every command needs: the global options, the connection they resolve
 * to and a typed API client on it; plus the argument parsers commands share.
 * Arguments are validated here or with the API's own zod schemas before any
 * request, so a bad command line is a usage error (exit 2), not a 400.
 */

export const VERSION = packageJson.version;
export const USER_AGENT = `reprise-cli/${VERSION} node/${process.versions.node}`;

/** A request that takes longer than this is reported as a timeout rather than hanging the terminal. */
const REQUEST_TIMEOUT_MS = 60_000;

export interface TGlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export interface TCliContext {
  json: boolean;
  connection: TConnection;
  client: TApiClient;
}

/** The last connection resolved, so an error can name the URL it was for. */
const errorContext: TErrorContext = { url: undefined, tokenSource: undefined };

export function currentErrorContext(): TErrorContext {
  return errorContext;
}

/** The context of the command being run (`cmd` is the action's last argument). */
export function cliContext(cmd: Command): TCliContext {
  const options = cmd.optsWithGlobals<TGlobalOptions>();
  const connection = resolveConnection({ url: options.url, token: options.token });
  errorContext.url = connection.url;
  errorContext.tokenSource = connection.tokenSource;
  errorContext.otherUrlTokenFile = connection.otherUrlTokenFile;
  errorContext.ignoredTokenFile = connection.ignoredTokenFile;
  return {
    json: options.json === true,
    connection,
    client: createApiClient({ baseUrl: connection.url, token: connection.token, userAgent: USER_AGENT, timeoutMs: REQUEST_TIMEOUT_MS }),
  };
}

/** Whether --json was given, for commands that do not talk to the API. */
export function jsonMode(cmd: Command): boolean {
  return cmd.optsWithGlobals<TGlobalOptions>().json === true;
}

/** `value` checked against an API schema; a failure names the field and is a usage error. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`);
  throw new UsageError(`${what} is not valid: ${issues.join('; ')}`);
}

/** JSON from a file, or from stdin when the name is `-`. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file === '-' ? 'stdin' : file}: ${(err as Error).message}`);
  }
  return parseJsonText(text, file === '-' ? 'stdin' : file);
}

export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

// Option parsers throw commander's InvalidArgumentError: commander then names the option in its usage error.

/** Repeatable `--input k=v` values, collected into an object (a later key wins). */
export function collectKeyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('expected name=value.');
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** A repeatable option's values, in order. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A positive whole number in plain digits (e.g. --limit). */
export function positiveInt(value: string): number {
  if (!/^[0-9]{1,6}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return Number(value);
}

/** A whole number of at least 0 in plain digits (e.g. --depth). */
export function nonNegativeInt(value: string): number {
  if (!/^[0-9]{1,6}$/.test(value)) throw new InvalidArgumentError('expected a whole number of at least 0.');
  return Number(value);
}

/** An id argument: what every Reprise id looks like (goal_…, wf_…, run_…, tok_…, sched-…), so `.`, `..` or '' never reach a URL. */
export function idArg(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/.test(value)) throw new InvalidArgumentError('expected an id such as goal_01jd3v8k2m7q9x4w5y6z7a8b9c or sched-nightly-0a1b2c3d4e.');
  return value;
}
