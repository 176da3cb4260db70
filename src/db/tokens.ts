import type { TCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import { newId } from '../domain/ids';
import type { TDb } from './client';
import type { ApiToken } from './generated/prisma/client';

export type { ApiToken };

/**
 * Bearer tokens (hash only) and the users and agents they act for. A token
 * belongs to a user or to an agent; either way its *tenant* is a user (the
 * token's user, or the agent's owner): what it creates is owned by that user,
 * and it sees exactly what that user owns.
 */

export interface TTokenPrincipal {
  tokenId: string;
  scopes: string[];
  lastUsedAt: Date | null;
  /** When it stops working (null: never). */
  expiresAt: Date | null;
  /** The user the token acts for. */
  userId: string;
  /** The agent its goals run under: the token's agent, or the user's first agent. */
  agentId: string | null;
  /** Whether the token is an agent's (not a user's). */
  agentToken: boolean;
}

/**
 * A live (not revoked, not expired) token by the hash of its secret, with
 * whom it acts for; null if none. Every request asks this, so it is one
 * statement (one round trip), not a query per relation.
 */
export async function findLiveTokenByHash(db: TDb, hash: string, now: Date): Promise<TTokenPrincipal | null> {
  const rows = await db.$queryRaw<{ id: string; scopes: string[]; last_used_at: Date | null; expires_at: Date | null; user_id: string | null; agent_id: string | null; agent_owner: string | null; user_agent: string | null }[]>`
    SELECT t.id, t.scopes, t.last_used_at, t.expires_at, t.user_id, t.agent_id, a.owner_user_id AS agent_owner,
           (SELECT ua.id FROM agents ua WHERE ua.owner_user_id = t.user_id ORDER BY ua.created_at, ua.id LIMIT 1) AS user_agent
      FROM api_tokens t LEFT JOIN agents a ON a.id = t.agent_id
     WHERE t.token_hash = ${hash} AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ${now})`;
  const t = rows[0];
  if (!t) return null;
  const base = { tokenId: t.id, scopes: t.scopes, lastUsedAt: t.last_used_at, expiresAt: t.expires_at };
  if (t.agent_id) return t.agent_owner ? { ...base, userId: t.agent_owner, agentId: t.agent_id, agentToken: true } : null;
  if (t.user_id) return { ...base, userId: t.user_id, agentId: t.user_agent, agentToken: false };
  return null;
}

/** Records use at most once a minute per token, so reads stay reads. */
export async function touchToken(db: TDb, id: string, now: Date): Promise<void> {
  await db.apiToken.updateMany({
    where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - 60_000) } }] },
    data: { lastUsedAt: now },
  });
}

export interface TNewToken {
  id: string;
  name: string;
  tokenHash: string;
  prefix: string;
  scopes: string[];
  userId: string | null;
  agentId: string | null;
  expiresAt: Date | null;
}

export async function insertToken(db: TDb, row: TNewToken): Promise<ApiToken> {
  return db.apiToken.create({ data: row });
}

/** A tenant's tokens: its own and its agents'. */
function tenantWhere(userId: string) {
  return { OR: [{ userId }, { agent: { ownerUserId: userId } }] };
}

export async function findTenantToken(db: TDb, userId: string, id: string): Promise<ApiToken> {
  const token = await db.apiToken.findFirst({ where: { id, ...tenantWhere(userId) } });
  if (!token) throw new DomainError('NOT_FOUND', `token ${id} not found`);
  return token;
}

/** Newest first, revoked ones included (they say so). */
export async function listTenantTokens(db: TDb, userId: string, after: TCursor | undefined, take: number): Promise<ApiToken[]> {
  return db.apiToken.findMany({
    where: {
      ...tenantWhere(userId),
      ...(after ? { AND: [{ OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }] } : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take,
  });
}

/** Revokes a tenant's token; revoking a revoked one changes nothing (idempotent by design). */
export async function revokeTenantToken(db: TDb, userId: string, id: string, now: Date): Promise<ApiToken> {
  await findTenantToken(db, userId, id);
  await db.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now } });
  return findTenantToken(db, userId, id);
}

export async function findUserByName(db: TDb, name: string) {
  return db.user.findUnique({ where: { name } });
}

/**
 * The limits and runtimes of an agent made for a new user. Shell commands are
 * a privilege (SPEC §6), so a new user's agent may not run them until an
 * operator allows it; the local user's seeded agent may.
 */
export const NEW_USER_AGENT = { allowedRuntimes: ['http', 'manual', 'agent'], maxDepth: 8, maxChildren: 100, maxGoals: 1000 } as const;

/** The user with this id, else the one with this name; null when neither. */
export async function findUserByIdOrName(db: TDb, idOrName: string) {
  return (await db.user.findUnique({ where: { id: idOrName } })) ?? (await findUserByName(db, idOrName));
}

/** The user named `name`, created (with a default agent) if there is none. */
export async function ensureUser(db: TDb, name: string): Promise<{ id: string; name: string; created: boolean }> {
  const existing = await findUserByName(db, name);
  if (existing) return { id: existing.id, name: existing.name, created: false };
  const id = newId('user');
  await db.user.create({ data: { id, name } });
  await db.agent.create({ data: { id: newId('agent'), name: `${name}-default`, ownerUserId: id, ...NEW_USER_AGENT, allowedRuntimes: [...NEW_USER_AGENT.allowedRuntimes] } });
  return { id, name, created: true };
}

export async function findAgentByIdOrName(db: TDb, idOrName: string) {
  return db.agent.findFirst({ where: { OR: [{ id: idOrName }, { name: idOrName }] } });
}
