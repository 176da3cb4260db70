import { AGENT_ID_PATTERN } from '../../domain/ids';
import { MAX_PARALLELISM, MAX_PLAN_CHILDREN } from '../../domain/plans';
import { RUNTIME_NAMES } from '../../domain/runtimes';
import { z } from '../../domain/zod';
import { ZCursorParam, ZLimit } from '../query';

/**
 * The agent resource (SPEC §1, §6): request and response schemas. Pure zod:
 * routes validate with them and the OpenAPI document comes from them.
 */


/**
 * An agent's name: like a user's (a new user's agent is `<user>-default`),
 * and never with `_`, so a name can never read as an agent id (`agent_…`):
 * operators address agents by either (`reprise token create --agent`).
 */
export const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.@-]{0,99}$/;

const AGENT_ID_EXAMPLE = 'agent_01jd3v8k2m7q9x4w5y6z7a8b9c';
/** An agent by id or by name, as everywhere an agent is named (a name never reads as an id: it has no `_`). */
export const ZAgentIdParams = z.object({
  id: z
    .string()
    .refine((v) => AGENT_ID_PATTERN.test(v) || AGENT_NAME_PATTERN.test(v), `must be an agent id like ${AGENT_ID_EXAMPLE} or an agent name like nightly-bot`)
    .openapi({ example: AGENT_ID_EXAMPLE, description: "The agent's id, or its name.", pattern: `${AGENT_ID_PATTERN.source}|${AGENT_NAME_PATTERN.source}` }),
});
/** Deepest tree an agent may be allowed (a nested composite is a child Temporal workflow per level). */
export const MAX_AGENT_DEPTH = 64;
/** Most goals one tree of an agent may be allowed. */
export const MAX_AGENT_GOALS = 1_000_000;

export const ZRuntime = z.enum(RUNTIME_NAMES).openapi('Runtime');

const settings = {
  allowed_runtimes: z
    .array(ZRuntime)
    // An agent allowed nothing could own goals none of which could ever run: name at least one (`manual` runs nothing by itself).
    .min(1, `give at least one runtime (${RUNTIME_NAMES.join(', ')}); to stop an agent running commands or requests, allow only manual`)
    .max(RUNTIME_NAMES.length * 2)
    .openapi({ description: 'The action runtimes its leaves may use. `shell` also covers acceptance checks (they are shell commands) and reaching internal addresses from `http` leaves.' }),
  max_depth: z.number().int().min(1).max(MAX_AGENT_DEPTH).openapi({ description: `Deepest goal below a root (1-${MAX_AGENT_DEPTH}).` }),
  max_children: z.number().int().min(1).max(MAX_PLAN_CHILDREN).openapi({ description: `Children per composite (1-${MAX_PLAN_CHILDREN}).` }),
  max_goals: z.number().int().min(1).max(MAX_AGENT_GOALS).openapi({ description: `Goals per tree (1-${MAX_AGENT_GOALS}).` }),
  default_parallelism: z.number().int().min(1).max(MAX_PARALLELISM).openapi({ description: `Children of one composite running at once when its plan sets no \`parallelism\` (1-${MAX_PARALLELISM}).` }),
};

export const ZAgentCreate = z
  .object({
    name: z
      .string()
      .regex(AGENT_NAME_PATTERN, 'an agent name is 1-100 letters, digits, . @ - starting with a letter or digit')
      .openapi({ example: 'nightly-bot', description: 'Unique across users; never changes.' }),
    allowed_runtimes: settings.allowed_runtimes.optional().openapi({ description: 'Default: http, manual and agent. Running shell commands is granted, never assumed.' }),
    max_depth: settings.max_depth.optional().openapi({ description: 'Default 8.' }),
    max_children: settings.max_children.optional().openapi({ description: 'Default 100.' }),
    max_goals: settings.max_goals.optional().openapi({ description: 'Default 1000.' }),
    default_parallelism: settings.default_parallelism.optional().openapi({ description: 'Default 100.' }),
  })
  .strict()
  .openapi('AgentCreate');

export const ZAgentUpdate = z
  .object({
    allowed_runtimes: settings.allowed_runtimes.optional(),
    max_depth: settings.max_depth.optional(),
    max_children: settings.max_children.optional(),
    max_goals: settings.max_goals.optional(),
    default_parallelism: settings.default_parallelism.optional(),
  })
  .strict()
  .refine((patch) => Object.values(patch).some((v) => v !== undefined), 'give at least one of allowed_runtimes, max_depth, max_children, max_goals, default_parallelism (the name never changes)')
  .openapi('AgentUpdate');

export const ZAgent = z
  .object({
    id: z.string(),
    name: z.string(),
    owner: z.object({ type: z.literal('user'), id: z.string() }),
    allowed_runtimes: z.array(z.string()),
    max_depth: z.number().int(),
    max_children: z.number().int(),
    max_goals: z.number().int(),
    default_parallelism: z.number().int(),
    created_at: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Agent');

export const ZAgentList = z.object({ items: z.array(ZAgent), next_cursor: z.string().nullable() }).openapi('AgentList');
export const ZAgentListQuery = z.object({ cursor: ZCursorParam, limit: ZLimit(200, 50) }).strict();
