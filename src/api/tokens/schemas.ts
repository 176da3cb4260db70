import { idPattern } from '../../domain/ids';
import { SCOPES } from '../../domain/scopes';
import { z } from '../../domain/zod';
import { ZCursorParam, ZLimit } from '../query';

/** The token resource (SPEC §6): request and response schemas. The secret appears once, in the create response. */

const TOKEN_ID_EXAMPLE = 'tok_01jd3v8k2m7q9x4w5y6z7a8b9c';

export const ZScope = z.enum(SCOPES).openapi('Scope');
export const ZTokenIdParams = z.object({ id: z.string().regex(idPattern('tok'), `must be a token id like ${TOKEN_ID_EXAMPLE}`).openapi({ example: TOKEN_ID_EXAMPLE }) });

export const ZTokenCreate = z
  .object({
    name: z.string().trim().min(1).max(100).openapi({ description: 'What the token is for, e.g. "ci" or "nightly agent".' }),
    scopes: z.array(ZScope).min(1).max(SCOPES.length).optional().openapi({ description: 'Defaults: a user token gets every scope but `admin`; an agent token gets goals:read|write, workflows:read|write and schedules:read.' }),
    agent_id: z.string().min(1).max(100).optional().openapi({ description: 'Make the token act for this agent (one of yours) instead of for you.' }),
    expires_at: z.iso.datetime({ offset: true }).optional().openapi({ description: 'When the token stops working (UTC ISO-8601). Never, when absent.' }),
  })
  .strict()
  .openapi('TokenCreate');

export const ZToken = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'The first characters of the secret, to tell tokens apart.' }),
    scopes: z.array(z.string()),
    owner: z.object({ type: z.enum(['user', 'agent']), id: z.string() }),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
    expires_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .openapi('Token');

export const ZTokenCreated = z
  .object({ token: ZToken, secret: z.string().openapi({ description: 'The bearer token. Shown this once; only its hash is kept.' }) })
  .openapi('TokenCreated');

export const ZTokenList = z.object({ items: z.array(ZToken), next_cursor: z.string().nullable() }).openapi('TokenList');
export const ZTokenListQuery = z.object({ cursor: ZCursorParam, limit: ZLimit(200, 50) }).strict();
