import type { Agent } from '../../db/client';
import type { z } from '../../domain/zod';
import type { ZAgent } from './schemas';

/** An agent as the API shows it. Only agents with an owner user are ever shown (db/agents.ts). */
export function serializeAgent(a: Agent): z.infer<typeof ZAgent> {
  return {
    id: a.id,
    name: a.name,
    owner: { type: 'user', id: a.ownerUserId ?? '' },
    allowed_runtimes: a.allowedRuntimes,
    max_depth: a.maxDepth,
    max_children: a.maxChildren,
    max_goals: a.maxGoals,
    default_parallelism: a.defaultParallelism,
    created_at: a.createdAt.toISOString(),
  };
}
