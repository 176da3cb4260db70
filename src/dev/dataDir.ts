import { chmod, chown, mkdir } from 'node:fs/promises';

/**
 * The data directory holds a local install's secrets (the Postgres
 * passwords, the local admin token) but also what is not 0600 on its own:
 * Temporal's SQLite state (every run's titles, inputs and outputs) and the
 * logs. So the directory itself is closed: 0700, the user running Reprise's.
 *
 * As root, the embedded Postgres runs as the `postgres` user, which must
 * reach its cluster inside: the directory is then in that user's group, mode
 * 0710 (through, but not list or read), so a LEAF_USER command still finds
 * nothing there.
 */
export async function secureDataDir(dataDir: string, postgres: { gid: number } | undefined): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (postgres) {
    await chown(dataDir, process.getuid?.() ?? 0, postgres.gid);
    await chmod(dataDir, 0o710);
  } else {
    await chmod(dataDir, 0o700);
  }
}
