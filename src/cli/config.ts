import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { localTokenPath, readLocalTokenFile, type TLocalTokenFile } from '../dev/localToken';
import { UsageError } from './output';

/**
 * Where the CLI sends its requests and with which token. In order:
 *   url:   --url, REPRISE_URL, the local token file's url (only when no token was given and it is a loopback URL), http://127.0.0.1:3000
 *   token: --token, REPRISE_TOKEN, the local token file's token
 * The file's token is sent only to the URL it was written for, so pointing
 * the CLI at another server never hands it the local admin secret; and to a
 * URL off this machine only when the caller named that URL themselves (a
 * file is not a choice the caller made: see followsFileUrl).
 */

export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** The package root, from this file (src/cli/config.ts): the CLI finds `npm start`'s token from any directory. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

const ZUrl = z
  .string()
  .trim()
  .url('must be a URL like http://127.0.0.1:3000')
  .refine((u) => /^https?:\/\//i.test(u), 'must start with http:// or https://');

export interface TConnection {
  url: string;
  token: string | undefined;
  /** Where the token came from, for messages: a 401 reads differently without one. */
  tokenSource: 'flag or REPRISE_TOKEN' | 'local token file' | 'none';
  /** The local token file that was read, if any. */
  tokenFile: string | undefined;
  /** A local token file written for another URL (its token not sent): named in a 401's hint. */
  otherUrlTokenFile?: { file: string; url: string };
  /** A local token file passed over (its mode, its owner): the CLI says so, since without it the API may be elsewhere or refuse us. */
  ignoredTokenFile?: TIgnoredTokenFile;
}

/** A local token file passed over, and why (a sentence ending in how to fix it). */
export interface TIgnoredTokenFile {
  file: string;
  reason: string;
}

/**
 * The local token file: `<REPRISE_DATA_DIR>/local-admin-token.json`
 * (relative to the working directory, like `npm start` reads it). When
 * REPRISE_DATA_DIR is not set and `./.data` has none, the package's own
 * `.data` (the repository the CLI runs from). A file that is there but not
 * trusted is named in `ignored`, so the CLI can say so instead of going on
 * as if there were none.
 */
export function findLocalTokenFile(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): { file: string; content: TLocalTokenFile; ignored?: undefined } | { file?: undefined; content?: undefined; ignored: TIgnoredTokenFile | undefined } {
  const candidates = env.REPRISE_DATA_DIR ? [path.resolve(cwd, env.REPRISE_DATA_DIR)] : [path.resolve(cwd, '.data'), path.join(PACKAGE_ROOT, '.data')];
  let ignored: TIgnoredTokenFile | undefined;
  for (const dir of new Set(candidates)) {
    const file = localTokenPath(dir);
    if (!existsSync(file)) continue;
    const why = untrustedFileReason(file);
    if (why) {
      ignored ??= { file, reason: why };
      continue;
    }
    const content = readLocalTokenFile(file);
    if (content) return { file, content };
  }
  return { ignored };
}

/**
 * Only a file `npm start` could have written is trusted: the caller's own,
 * readable by nobody else (0600). A token file that came with a checkout
 * (git keeps no such mode) or another user's is ignored; this says why.
 */
function untrustedFileReason(file: string): string | undefined {
  const st = statSync(file);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `it belongs to another user (uid ${st.uid}), not you (uid ${uid}); use your own npm start's, or set REPRISE_TOKEN`;
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  if ((st.mode & 0o077) !== 0) return `others can read or change it (mode ${mode}), so its token is not trusted; if it is yours, run: chmod 600 ${file}`;
  return undefined;
}

/** A URL without its trailing slashes, origin lower-cased: the form two URLs are compared in. */
export function normalizeUrl(url: string): string {
  const parsed = new URL(url);
  const rest = `${parsed.pathname}${parsed.search}`.replace(/\/+$/, '');
  return `${parsed.origin}${rest}`;
}

function sameUrl(a: string, b: string): boolean {
  try {
    return normalizeUrl(a) === normalizeUrl(b);
  } catch {
    return false;
  }
}

/** Whether a URL names this machine: `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1';
}

/**
 * Whether the file's URL may be used as a default. `npm start` writes a
 * loopback URL; one that leaves the machine (a file edited or planted in a
 * data directory) would send the admin secret, and every request, to
 * whoever it names. Such a file is used only when the caller gives exactly
 * its URL.
 */
function followsFileUrl(fileUrl: string): boolean {
  return isLoopbackUrl(fileUrl);
}

/** `given` holds --url/--token, already merged with REPRISE_URL/REPRISE_TOKEN by commander. */
export function resolveConnection(given: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): TConnection {
  const local = findLocalTokenFile(env, cwd);
  const flagToken = given.token?.trim();
  const givenUrl = given.url?.trim();
  // The file's URL is a default only alongside the file's token: a token the caller gave is never sent where a file says.
  const fileUrl = !flagToken && local.content && followsFileUrl(local.content.url) ? local.content.url : undefined;
  const rawUrl = givenUrl || fileUrl || DEFAULT_URL;
  const parsed = ZUrl.safeParse(rawUrl);
  if (!parsed.success) throw new UsageError(`--url / REPRISE_URL ${JSON.stringify(rawUrl)} ${parsed.error.issues[0]?.message ?? 'is not a URL'}`);
  const url = normalizeUrl(parsed.data);
  if (flagToken) return { url, token: flagToken, tokenSource: 'flag or REPRISE_TOKEN', tokenFile: undefined };
  const fileTokenFits = local.content && sameUrl(local.content.url, url) && (followsFileUrl(url) || givenUrl !== undefined);
  if (local.content && fileTokenFits) return { url, token: local.content.token, tokenSource: 'local token file', tokenFile: local.file };
  return {
    url,
    token: undefined,
    tokenSource: 'none',
    tokenFile: undefined,
    ...(local.content ? { otherUrlTokenFile: { file: local.file, url: local.content.url } } : {}),
    ...(local.ignored ? { ignoredTokenFile: local.ignored } : {}),
  };
}
