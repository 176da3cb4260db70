/** Who a request acts for: the owner of what it creates, and the agent its goals run under. */
export interface TActor {
  userId: string;
  agentId: string;
}

/**
 * Until API tokens arrive (SPEC §6: bearer tokens with scopes), every request
 * acts as the bootstrap local user and its default agent, both created by the
 * initial migration. Ownership is recorded on every row from day one, so
 * enforcing tokens later needs no data migration.
 */
export const LOCAL_ACTOR: TActor = { userId: 'user_local', agentId: 'agent_default' };
