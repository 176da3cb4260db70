import * as agents from '../db/agents';
import type { Agent, PrismaClient } from '../db/client';
import { NEW_USER_AGENT } from '../db/tokens';
import type { TActor } from '../domain/actor';
import { decodeCursor, encodeCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import { AGENT_ID_PATTERN, newId } from '../domain/ids';
import type { TRuntime } from '../domain/runtimes';

/**
 * Agents (SPEC §1, §6): who runs leaves, with which runtimes and limits. A
 * user sees and manages its own agents. Runtimes taken away here take effect
 * at the next leaf of every goal, run and schedule under the agent (the leaf
 * activity re-checks them); limits apply to plans submitted from now on.
 */

export interface TAgentSettingsInput {
  allowedRuntimes?: TRuntime[];
  maxDepth?: number;
  maxChildren?: number;
  maxGoals?: number;
  defaultParallelism?: number;
}

/** Parallelism of a new agent when none is given (the column's default). */
const DEFAULT_PARALLELISM = 100;

/** One runtime named twice is one runtime. */
function distinct(runtimes: TRuntime[] | undefined): TRuntime[] | undefined {
  return runtimes && [...new Set(runtimes)];
}

export function createAgentService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;
  return {
    async listAgents(actor: TActor, query: { cursor?: string; limit: number }): Promise<{ items: Agent[]; nextCursor: string | null }> {
      const after = query.cursor ? decodeCursor(query.cursor, AGENT_ID_PATTERN) : undefined;
      const rows = await agents.listOwnedAgents(prisma, actor.userId, after, query.limit + 1);
      const items = rows.slice(0, query.limit);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
    },

    /** `idOrName`: an agent is named by id or name everywhere (names never look like ids). */
    async getAgent(actor: TActor, idOrName: string): Promise<Agent> {
      return agents.findOwnedAgentByIdOrName(prisma, actor.userId, idOrName);
    },

    /** A new agent of the caller's user. Without runtimes it gets a new user's (no shell: running commands is granted, never assumed). */
    async createAgent(actor: TActor, input: { name: string } & TAgentSettingsInput): Promise<Agent> {
      return agents.insertAgent(prisma, {
        id: newId('agent'),
        name: input.name,
        ownerUserId: actor.userId,
        allowedRuntimes: distinct(input.allowedRuntimes) ?? [...NEW_USER_AGENT.allowedRuntimes],
        maxDepth: input.maxDepth ?? NEW_USER_AGENT.maxDepth,
        maxChildren: input.maxChildren ?? NEW_USER_AGENT.maxChildren,
        maxGoals: input.maxGoals ?? NEW_USER_AGENT.maxGoals,
        defaultParallelism: input.defaultParallelism ?? DEFAULT_PARALLELISM,
      });
    },

    async updateAgent(actor: TActor, idOrName: string, patch: TAgentSettingsInput): Promise<Agent> {
      const data = Object.fromEntries(Object.entries({ ...patch, allowedRuntimes: distinct(patch.allowedRuntimes) }).filter(([, v]) => v !== undefined));
      if (!Object.keys(data).length) throw new DomainError('VALIDATION_FAILED', 'nothing to change: give allowed_runtimes, max_depth, max_children, max_goals or default_parallelism');
      // Names never change, so the id found by name stays that agent's.
      const { id } = await agents.findOwnedAgentByIdOrName(prisma, actor.userId, idOrName);
      return agents.updateOwnedAgent(prisma, actor.userId, id, data);
    },

    async deleteAgent(actor: TActor, idOrName: string): Promise<void> {
      const { id } = await agents.findOwnedAgentByIdOrName(prisma, actor.userId, idOrName);
      await agents.deleteOwnedAgent(prisma, actor.userId, id);
    },
  };
}

export type TAgentService = ReturnType<typeof createAgentService>;
