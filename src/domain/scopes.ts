/**
 * The closed list of token scopes (SPEC §6). A route needs exactly one; a
 * token grants a set. `admin` grants every scope and, alone, manages tokens.
 */
export const SCOPES = ['goals:read', 'goals:write', 'workflows:read', 'workflows:write', 'schedules:read', 'schedules:write', 'admin'] as const;
export type TScope = (typeof SCOPES)[number];

/** What a user token gets when its creator names no scopes: everything but admin. */
export const USER_DEFAULT_SCOPES: readonly TScope[] = ['goals:read', 'goals:write', 'workflows:read', 'workflows:write', 'schedules:read', 'schedules:write'];

/**
 * What a token acting for an agent gets by default: it runs and completes
 * goals, saves and runs workflows, and may read schedules; changing when
 * things run (schedules:write) and token management stay with people.
 */
export const AGENT_DEFAULT_SCOPES: readonly TScope[] = ['goals:read', 'goals:write', 'workflows:read', 'workflows:write', 'schedules:read'];

export function isScope(value: string): value is TScope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Whether a token with `granted` may call a route that needs `needed`. */
export function grants(granted: readonly string[], needed: TScope): boolean {
  return granted.includes('admin') || granted.includes(needed);
}
