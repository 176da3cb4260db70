import type { PrismaClient } from '../../src/db/client';
import { SCOPES, type TScope } from '../../src/domain/scopes';
import { createTokenDirect } from '../../src/services/tokens';
import { http, waitFor } from './env';

/**
 * Who the auth tests send requests as (the auth matrix, the hostile
 * requests): bearer tokens minted straight into the database the test's API
 * reads (no API call, so a route under test is never needed to set up
 * another), each minted once on first use and kept.
 */

type TJson = any;

/** A name no other test file or run has taken (users, agents and workflows are unique by name). */
export const uniqueName = (name: string): string => `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

export interface TActors {
  /** The local user's token with exactly `scope`. */
  withScope(scope: TScope): Promise<string>;
  /** The local user's token with every scope but `scope` (and not admin, which grants them all). */
  withoutScope(scope: TScope): Promise<string>;
  /** A second user's token with every scope, admin too: only ownership can refuse it. */
  otherUser(): Promise<string>;
}

/** The actors of one test file; `label` starts every token's name, so a token in the database says which file made it. */
export function testActors(prisma: PrismaClient, label: string): TActors {
  const minted = new Map<string, Promise<string>>();
  const mint = (name: string, user: string, scopes: TScope[]): Promise<string> => {
    let token = minted.get(name);
    if (!token) {
      token = createTokenDirect(prisma, { user }, { name: `${label} ${name}`, scopes }).then((t) => t.secret);
      minted.set(name, token);
    }
    return token;
  };
  return {
    withScope: (scope) => mint(scope, 'local', [scope]),
    withoutScope: (scope) => mint(`without ${scope}`, 'local', SCOPES.filter((s) => s !== scope && s !== 'admin')),
    otherUser: () => mint('other user', uniqueName('other'), [...SCOPES]),
  };
}

/**
 * The calls a test makes to set up what it then checks, against one test
 * API: `ok` answers the body of a 2xx and throws on anything else; `goalUntil`
 * polls a goal until it shows what the test waits for. Without `token`, the
 * API's own admin token (test/support/env.ts `http`).
 */
export function setupClient(apiUrl: () => string, token?: () => Promise<string>) {
  async function ok(method: string, path: string, body?: unknown): Promise<TJson> {
    const res = await http(method, `${apiUrl()}${path}`, body, token ? { authorization: `Bearer ${await token()}` } : {});
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
  async function goalUntil(id: string, predicate: (g: TJson) => boolean, what: string): Promise<TJson> {
    return waitFor(async () => {
      const g = await ok('GET', `/api/goals/${id}`);
      return predicate(g) ? g : undefined;
    }, what);
  }
  return { ok, goalUntil };
}
