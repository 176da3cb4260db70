import type { TApiToken } from '../../services/tokens';
import type { z } from '../../domain/zod';
import type { ZToken } from './schemas';

export function serializeToken(t: TApiToken): z.infer<typeof ZToken> {
  return {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    scopes: t.scopes,
    owner: t.agentId ? { type: 'agent', id: t.agentId } : { type: 'user', id: t.userId ?? '' },
    created_at: t.createdAt.toISOString(),
    last_used_at: t.lastUsedAt?.toISOString() ?? null,
    expires_at: t.expiresAt?.toISOString() ?? null,
    revoked_at: t.revokedAt?.toISOString() ?? null,
  };
}
