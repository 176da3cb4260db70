import { DomainError } from '../domain/errors';
import type { Agent, TDb } from './client';

/** An agent with its stored limits; NOT_FOUND when there is none. Inside a transaction, pass its client. */
export async function findAgent(db: TDb, agentId: string): Promise<Agent> {
  const agent = await db.agent.findUnique({ where: { id: agentId } });
  if (!agent) throw new DomainError('NOT_FOUND', `agent ${agentId} not found`);
  return agent;
}
