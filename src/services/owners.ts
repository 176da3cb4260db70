import type { TOwner } from '../db/workflows';
import type { TActor } from '../domain/actor';

/**
 * Who owns what a request creates, and whose objects it may see: the actor's
 * user. A token acting for an agent acts on behalf of the agent's owner, so
 * a user and the user's agents share what they make (SPEC §6: "visible only
 * to their owner and the owner's agents"); the agent that ran a goal is its
 * `agent_id`. The owner_agent_id columns stay for agents without a user.
 */
export function actorOwner(actor: TActor): TOwner {
  return { ownerUserId: actor.userId, ownerAgentId: null };
}
