import type { TDb } from './client';

/**
 * Whether the app's own connection is a superuser's. Reprise needs only to
 * own its database; a superuser connection turns any flaw in it into control
 * of the whole Postgres server, so start-up warns (docs/security.md).
 */
export async function connectedAsSuperuser(db: TDb): Promise<boolean> {
  const rows = await db.$queryRaw<{ rolsuper: boolean }[]>`SELECT rolsuper FROM pg_roles WHERE rolname = current_user`;
  return rows[0]?.rolsuper === true;
}
