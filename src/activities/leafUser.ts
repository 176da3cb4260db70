import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * LEAF_USER: the OS user shell leaves run as, so that a command cannot read
 * the worker's files (the data directory, other processes' secrets) or signal
 * its processes. Switching users takes root: a worker that cannot switch, or
 * a user that does not exist, refuses to start rather than run commands as
 * itself while the operator believes otherwise.
 */

const execFileAsync = promisify(execFile);

export interface TLeafUser {
  name: string;
  uid: number;
  gid: number;
}

export class LeafUserError extends Error {
  readonly code = 'LEAF_USER_INVALID';
}

/** Whether this process may set a child's uid and gid (root). */
function canSwitchUsers(): boolean {
  return process.getuid?.() === 0;
}

/** The uid and primary gid of a user, from the system's user database (`id`, so NSS users count too). */
async function lookUpUser(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then((r) => Number(r.stdout.trim())),
      execFileAsync('id', ['-g', name]).then((r) => Number(r.stdout.trim())),
    ]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves LEAF_USER at worker start; throws LeafUserError when commands could not run as that user. */
export async function resolveLeafUser(name: string): Promise<TLeafUser> {
  if (!canSwitchUsers()) {
    throw new LeafUserError(
      `LEAF_USER is set (${name}), but the worker runs as uid ${process.getuid?.() ?? '?'}, not root, so it cannot run commands as another user. ` +
        'Run the worker as root, or unset LEAF_USER.',
    );
  }
  const ids = await lookUpUser(name);
  if (!ids) throw new LeafUserError(`LEAF_USER names a user that does not exist on this machine: ${name}. Create it (useradd --system ${name}) or fix LEAF_USER.`);
  if (ids.uid === 0) throw new LeafUserError(`LEAF_USER must be an unprivileged user, not ${name} (uid 0): commands would run as root.`);
  return { name, ...ids };
}
