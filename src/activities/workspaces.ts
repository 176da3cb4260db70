import { chmod, chown, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { TLeafUser } from './leafUser';

/**
 * Leaf workspaces: one directory per goal tree, `<dir>/<root goal id>`, where
 * its commands run. They live outside the data directory (WORKSPACES_DIR,
 * checked by loadConfig), which holds the Postgres password and the local
 * admin token: a command's `../..` must not lead to them.
 *
 * Every directory here is 0700 and belongs to whoever runs the commands.
 * With a LEAF_USER the root is 0711 (the worker's, not listable: a tree
 * cannot find the others' names) and each tree's directory is the leaf
 * user's own. Modes are set again when a worker first uses a tree's
 * directory (workspaceCache): mkdir leaves an existing directory, made by an
 * older version or by hand, as it was.
 */

export interface TWorkspaces {
  /** The root of every tree's workspace (WORKSPACES_DIR, resolved). */
  dir: string;
  /** The OS user commands run as (LEAF_USER); unset, the worker's own. */
  user: TLeafUser | undefined;
}

export class WorkspaceError extends Error {
  readonly code = 'WORKSPACE_INVALID';
}

/** Creates (or tightens) a tree's workspace and returns its path. */
export async function ensureWorkspace(workspaces: TWorkspaces, rootId: string): Promise<string> {
  // Goal ids are ours, but a path built from one must never climb out of the root.
  if (!rootId || rootId !== path.basename(rootId) || rootId.startsWith('.')) {
    throw new WorkspaceError(`not a goal id usable as a directory name: ${JSON.stringify(rootId)}`);
  }
  await mkdir(workspaces.dir, { recursive: true, mode: 0o700 });
  await chmod(workspaces.dir, workspaces.user ? 0o711 : 0o700);
  const cwd = path.join(workspaces.dir, rootId);
  await mkdir(cwd, { recursive: true, mode: 0o700 });
  if (workspaces.user) await chown(cwd, workspaces.user.uid, workspaces.user.gid);
  await chmod(cwd, 0o700);
  return cwd;
}

/** Trees whose workspace one worker remembers as made: far more than run at once. */
const REMEMBERED_WORKSPACES = 1024;

/**
 * ensureWorkspace once per tree and process: a tree's leaves reuse the
 * directory their first leaf made (and tightened) here, without its four
 * file-system calls each. `forget` drops one, so that a command that could
 * not start (its workspace deleted by hand meanwhile) makes it again on its retry.
 */
export function workspaceCache(workspaces: TWorkspaces): { ensure(rootId: string): Promise<string>; forget(rootId: string): void } {
  const made = new Map<string, Promise<string>>();
  return {
    ensure(rootId) {
      const known = made.get(rootId);
      if (known) return known;
      const making = ensureWorkspace(workspaces, rootId);
      made.set(rootId, making);
      // A failed attempt is not remembered; the oldest goes once there are too many.
      making.catch(() => {
        if (made.get(rootId) === making) made.delete(rootId);
      });
      if (made.size > REMEMBERED_WORKSPACES) made.delete(made.keys().next().value as string);
      return making;
    },
    forget(rootId) {
      made.delete(rootId);
    },
  };
}
