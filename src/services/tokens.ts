import type { PrismaClient, TDb } from '../db/client';
import { inTransaction } from '../db/client';
import * as tokens from '../db/tokens';
import type { TActor } from '../domain/actor';
import { LOCAL_ACTOR } from '../domain/actor';
import { decodeCursor, encodeCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import { newId, newTokenSecret, tokenDisplayPrefix, tokenHash, TOKEN_SECRET_PATTERN } from '../domain/ids';
import { localTokenPath, readLocalTokenFile, writeLocalTokenFile } from '../dev/localToken';
import { AGENT_DEFAULT_SCOPES, isScope, SCOPES, USER_DEFAULT_SCOPES, type TScope } from '../domain/scopes';

/**
 * Bearer tokens (SPEC §6): minted here, stored as a hash, shown once. A
 * token acts for a user, or for an agent on behalf of the agent's owner.
 */

export type TApiToken = tokens.ApiToken;

export interface TAuthenticated {
  actor: TActor;
  tokenId: string;
  scopes: readonly string[];
}

export interface TMintedToken {
  token: TApiToken;
  /** The secret itself: returned once, never stored. */
  secret: string;
}

export interface TNewTokenRequest {
  name: string;
  /** Scopes to grant; the owner's defaults when absent. */
  scopes?: readonly string[];
  expiresAt?: Date | null;
}

function checkScopes(scopes: readonly string[]): TScope[] {
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length) throw new DomainError('VALIDATION_FAILED', `unknown scope ${unknown.map((s) => JSON.stringify(s)).join(', ')} (scopes: ${SCOPES.join(', ')})`);
  if (!scopes.length) throw new DomainError('VALIDATION_FAILED', 'a token needs at least one scope');
  return [...new Set(scopes)] as TScope[];
}

/**
 * Agents are managed by their user: `admin` changes agents' runtimes (shell
 * above all) and mints tokens, so an agent token holding it could grant its
 * own agent shell. It is never given to one.
 */
const AGENT_TOKEN_ADMIN_REFUSED = 'an agent token cannot have the admin scope: admin changes agents\' runtimes and mints tokens, so an agent holding it could grant itself shell; agents are managed by their user (use a user token for admin)';

async function mint(db: TDb, owner: { userId: string } | { agentId: string }, request: TNewTokenRequest, defaults: readonly TScope[]): Promise<TMintedToken> {
  if (request.expiresAt && request.expiresAt.getTime() <= Date.now()) throw new DomainError('VALIDATION_FAILED', 'expires_at must be in the future');
  const name = request.name.trim();
  if (!name || name.length > 100) throw new DomainError('VALIDATION_FAILED', 'a token name is 1-100 characters');
  const scopes = checkScopes(request.scopes ?? defaults);
  if ('agentId' in owner && scopes.includes('admin')) throw new DomainError('VALIDATION_FAILED', AGENT_TOKEN_ADMIN_REFUSED);
  const secret = newTokenSecret();
  const token = await tokens.insertToken(db, {
    id: newId('tok'),
    name,
    tokenHash: tokenHash(secret),
    prefix: tokenDisplayPrefix(secret),
    scopes,
    userId: 'userId' in owner ? owner.userId : null,
    agentId: 'agentId' in owner ? owner.agentId : null,
    expiresAt: request.expiresAt ?? null,
  });
  return { token, secret };
}

/** What a user's name may be (the name `reprise token create --user` takes). */
const USER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** What a user id looks like (`user_local`, `user_01jd…`): never taken for a new user's name. */
const USER_ID_LIKE = /^user_/i;

/**
 * The operator's path (`reprise token create`, straight to the database):
 * a token for a user by id or name (a new name makes a new user, with a
 * default agent) or for an existing agent by id or name. A value that looks
 * like a user id and names no user is refused, never made a user's name:
 * `--user user_local` means the local user (named `local`), not a new one.
 */
export async function createTokenDirect(
  prisma: PrismaClient,
  target: { user: string } | { agent: string },
  request: TNewTokenRequest,
): Promise<TMintedToken & { userCreated: boolean; owner: { type: 'user' | 'agent'; id: string; name: string } }> {
  return inTransaction(prisma, async (tx) => {
    if ('agent' in target) {
      const agent = await tokens.findAgentByIdOrName(tx, target.agent);
      if (!agent) throw new DomainError('NOT_FOUND', `agent ${target.agent} not found`);
      if (!agent.ownerUserId) throw new DomainError('VALIDATION_FAILED', `agent ${agent.name} has no owner user, so a token for it would see nothing`);
      return { ...(await mint(tx, { agentId: agent.id }, request, AGENT_DEFAULT_SCOPES)), userCreated: false, owner: { type: 'agent', id: agent.id, name: agent.name } };
    }
    const existing = await tokens.findUserByIdOrName(tx, target.user);
    if (existing) return { ...(await mint(tx, { userId: existing.id }, request, USER_DEFAULT_SCOPES)), userCreated: false, owner: { type: 'user', id: existing.id, name: existing.name } };
    if (USER_ID_LIKE.test(target.user)) {
      throw new DomainError(
        'NOT_FOUND',
        `no user has the id ${JSON.stringify(target.user)}; --user takes an existing user's id or name (the local user is id user_local, name local), and a new name (not starting with "user_") creates a user`,
      );
    }
    if (!USER_NAME_PATTERN.test(target.user)) {
      throw new DomainError('VALIDATION_FAILED', `user name ${JSON.stringify(target.user)} must be 1-64 letters, digits, or . _ @ - (starting with a letter or digit)`);
    }
    const user = await tokens.ensureUser(tx, target.user);
    return { ...(await mint(tx, { userId: user.id }, request, USER_DEFAULT_SCOPES)), userCreated: user.created, owner: { type: 'user', id: user.id, name: user.name } };
  });
}

/** How stale `last_used_at` may get: a busy token costs one write a minute, not one per request. */
const TOUCH_EVERY_MS = 60_000;

/**
 * How long an API process reuses a token's lookup: a token revoked or expired
 * (through another API process, or in the database) stops working within this
 * bound. A revocation through this process takes effect at once.
 */
export const TOKEN_CACHE_MS = 5_000;
/** Tokens one process remembers at most (the oldest lookup goes first). */
const TOKEN_CACHE_ENTRIES = 10_000;

/**
 * `now` is the clock expiry, the lookup cache and the last-use throttle read
 * (tests pass their own: no waiting out a window); `cacheMs` how long a lookup
 * is reused (0: never).
 */
export function createTokenService({ prisma, now: clock = () => new Date(), cacheMs = TOKEN_CACHE_MS }: { prisma: PrismaClient; now?: () => Date; cacheMs?: number }) {
  /** Live tokens looked up lately, by hash: one query per token per `cacheMs`, not per request. */
  const lookups = new Map<string, { principal: tokens.TTokenPrincipal; until: number }>();

  async function lookUp(hash: string, now: Date): Promise<tokens.TTokenPrincipal | null> {
    const cached = lookups.get(hash);
    if (cached && cached.until > now.getTime()) {
      return cached.principal.expiresAt && cached.principal.expiresAt <= now ? null : cached.principal;
    }
    lookups.delete(hash);
    const found = await tokens.findLiveTokenByHash(prisma, hash, now);
    if (found && cacheMs > 0) {
      if (lookups.size >= TOKEN_CACHE_ENTRIES) lookups.delete(lookups.keys().next().value as string);
      lookups.set(hash, { principal: found, until: now.getTime() + cacheMs });
    }
    return found;
  }

  return {
    /** The caller behind an `Authorization` header; UNAUTHENTICATED (401) for none, a malformed one, or a dead token. */
    async authenticate(header: string | undefined): Promise<TAuthenticated> {
      if (!header?.trim()) throw new DomainError('UNAUTHENTICATED', 'send a bearer token: Authorization: Bearer rpr_… (npm start prints where the local one is)');
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) throw new DomainError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
      const secret = match[1]!;
      const now = clock();
      const found = TOKEN_SECRET_PATTERN.test(secret) ? await lookUp(tokenHash(secret), now) : null;
      if (!found) throw new DomainError('UNAUTHENTICATED', 'the bearer token is not valid (unknown, revoked or expired)');
      if (!found.agentId) throw new DomainError('UNAUTHENTICATED', 'the token\'s user has no agent to run goals under');
      const lastUsed = found.lastUsedAt?.getTime() ?? 0;
      if (now.getTime() - lastUsed > TOUCH_EVERY_MS) {
        await tokens.touchToken(prisma, found.tokenId, now);
        found.lastUsedAt = now;
      }
      // An agent token minted with admin before that was refused holds it no more (see AGENT_TOKEN_ADMIN_REFUSED).
      const scopes = found.agentToken ? found.scopes.filter((scope) => scope !== 'admin') : found.scopes;
      return { actor: { userId: found.userId, agentId: found.agentId }, tokenId: found.tokenId, scopes };
    },

    /** A token for the caller's user, or for one of its agents (`agentId`). */
    async createToken(actor: TActor, request: TNewTokenRequest & { agentId?: string }): Promise<TMintedToken> {
      if (request.agentId) {
        const agent = await tokens.findAgentByIdOrName(prisma, request.agentId);
        if (!agent || agent.ownerUserId !== actor.userId) throw new DomainError('NOT_FOUND', `agent ${request.agentId} not found`);
        return mint(prisma, { agentId: agent.id }, request, AGENT_DEFAULT_SCOPES);
      }
      return mint(prisma, { userId: actor.userId }, request, USER_DEFAULT_SCOPES);
    },

    async listTokens(actor: TActor, query: { cursor?: string; limit: number }) {
      const after = query.cursor ? decodeCursor(query.cursor, 'tok') : undefined;
      const rows = await tokens.listTenantTokens(prisma, actor.userId, after, query.limit + 1);
      const page = rows.slice(0, query.limit);
      return { items: page, nextCursor: rows.length > query.limit ? encodeCursor(page[page.length - 1]!) : null };
    },

    async getToken(actor: TActor, id: string): Promise<TApiToken> {
      return tokens.findTenantToken(prisma, actor.userId, id);
    },

    async revokeToken(actor: TActor, id: string): Promise<TApiToken> {
      const revoked = await tokens.revokeTenantToken(prisma, actor.userId, id, new Date());
      // At once in this process (others within TOKEN_CACHE_MS).
      for (const [hash, { principal }] of lookups) if (principal.tokenId === id) lookups.delete(hash);
      return revoked;
    },
  };
}

export type TTokenService = ReturnType<typeof createTokenService>;

/**
 * The quickstart's token: on a fresh `npm start`, one admin token for the
 * local user, written to `<data dir>/local-admin-token.json` (mode 0600) with
 * the API URL it is for. Later starts keep it while it is still live (a
 * revoked or lost one is replaced).
 */
export async function ensureLocalAdminToken(prisma: PrismaClient, dataDir: string, apiUrl: string): Promise<{ file: string; created: boolean }> {
  const file = localTokenPath(dataDir);
  const existing = readLocalTokenFile(file);
  if (existing && (await tokens.findLiveTokenByHash(prisma, tokenHash(existing.token), new Date()))) {
    if (existing.url !== apiUrl) writeLocalTokenFile(file, { ...existing, url: apiUrl });
    return { file, created: false };
  }
  const minted = await mint(prisma, { userId: LOCAL_ACTOR.userId }, { name: 'local admin (npm start)', scopes: ['admin'] }, ['admin']);
  writeLocalTokenFile(file, { url: apiUrl, token: minted.secret, token_id: minted.token.id, created_at: minted.token.createdAt.toISOString() });
  return { file, created: true };
}
