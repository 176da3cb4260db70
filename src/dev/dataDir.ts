import { chmod, chown, lstat, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * The data directory holds a local install's secrets (the Postgres
 * passwords, the local admin token) but also Temporal's SQLite state (every
 * run's titles, inputs and outputs), the logs and the attempt files. So the
 * directory itself is closed: 0700, the user running Reprise's.
 *
 * As root, the embedded Postgres runs as the `postgres` user, which must
 * reach its cluster inside: the directory is then in that user's group, mode
 * 0710 (through, but not list). That user could still open a file whose name
 * it guesses (`logs/temporal.log`, `temporal.db`) if the file let it, so
 * everything else in there is owner-only too (privateTree): what we create
 * is made so (log and pid files 0600, directories 0700, the Temporal dev
 * server under umask 077), and what an earlier version left is closed here
 * at every start.
 */
export async function secureDataDir(dataDir: string, postgres: { gid: number } | undefined): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (postgres) {
    await chown(dataDir, process.getuid?.() ?? 0, postgres.gid);
    await chmod(dataDir, 0o710);
  } else {
    await chmod(dataDir, 0o700);
  }
  for (const entry of await readdir(dataDir)) {
    // The cluster is Postgres's own (it keeps it 0700/0600 itself, and as root it is the postgres user's).
    if (entry === CLUSTER_DIR) continue;
    await privateTree(path.join(dataDir, entry));
  }
}

/** The embedded Postgres cluster's directory under the data directory (embeddedPostgres.ts). */
const CLUSTER_DIR = 'postgres';

/**
 * Makes a file 0600, or a directory 0700 with everything below it likewise.
 * Symbolic links are left alone, never followed: a link is not ours to
 * chmod through. Entries that vanish meanwhile (a pid file removed) are
 * skipped.
 */
export async function privateTree(file: string): Promise<void> {
  const st = await lstat(file).catch(() => undefined);
  if (!st || st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    if ((st.mode & 0o777) !== 0o700) await chmod(file, 0o700).catch(ignoreVanished);
    for (const entry of await readdir(file).catch(() => [])) await privateTree(path.join(file, entry));
  } else if (st.isFile() && (st.mode & 0o077) !== 0) {
    await chmod(file, st.mode & 0o700).catch(ignoreVanished);
  }
}

function ignoreVanished(err: unknown): void {
  if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
}
