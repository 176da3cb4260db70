import { resolveLeafUser, type TLeafUser } from '../../src/activities/leafUser';

/** The unprivileged user LEAF_USER tests run commands as: an existing one, never created by tests. */
export const LEAF_TEST_USER = 'nobody';

/**
 * The LEAF_USER test user, or undefined (logged) where commands cannot switch
 * to it: tests not run as root, or a machine without `nobody`.
 */
export async function leafTestUser(): Promise<TLeafUser | undefined> {
  try {
    return await resolveLeafUser(LEAF_TEST_USER);
  } catch (err) {
    console.warn(`skipping a LEAF_USER check: ${(err as Error).message}`);
    return undefined;
  }
}
