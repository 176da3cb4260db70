/**
 * Who a request acts for (from its bearer token): the user that owns what it
 * creates and sees (a token's user, or its agent's owner), and the agent its
 * goals run under (the token's agent, or the user's first).
 */
export interface TActor {
  userId: string;
  agentId: string;
}

/**
 * The local user and its default agent, created by the initial migration:
 * `npm start`'s admin token acts for them (services/tokens.ts).
 */
export const LOCAL_ACTOR: TActor = { userId: 'user_local', agentId: 'agent_default' };
