import type { TOwner } from '../db/workflows';
import type { TActor } from '../domain/actor';

/**
 * Who owns what a request creates or may see. Until tokens arrive every
 * actor is a user; a token acting for an agent will own as that agent
 * (owner is a user XOR an agent on every row).
 */
export function actorOwner(actor: TActor): TOwner {
  return { ownerUserId: actor.userId, ownerAgentId: null };
}
