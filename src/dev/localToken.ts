import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TOKEN_SECRET_PATTERN } from '../domain/ids';

// The local admin token's file: written by `npm start` (services/tokens.ts,
// ensureLocalAdminToken), read by the CLI when it talks to that local stack.
// No database here, so the CLI can read it without loading Prisma.

/** Where `npm start` keeps the local admin token, and what the file says. */
export const LOCAL_TOKEN_FILE = 'local-admin-token.json';
export interface TLocalTokenFile {
  url: string;
  token: string;
  token_id: string;
  created_at: string;
}

export function localTokenPath(dataDir: string): string {
  return path.join(dataDir, LOCAL_TOKEN_FILE);
}

/** The local token file, if there is a readable, well-formed one. */
export function readLocalTokenFile(file: string): TLocalTokenFile | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<TLocalTokenFile>;
    if (typeof parsed.url === 'string' && typeof parsed.token === 'string' && TOKEN_SECRET_PATTERN.test(parsed.token)) return parsed as TLocalTokenFile;
  } catch {
    // absent or unreadable: none
  }
  return undefined;
}

/**
 * Written whole and private from its first byte: a new file created 0600
 * (`wx`: never through an existing file or link), then renamed over the old
 * one, so the secret is never readable by others, even for a moment.
 */
export function writeLocalTokenFile(file: string, content: TLocalTokenFile): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temp, file);
  } finally {
    rmSync(temp, { force: true });
  }
}
