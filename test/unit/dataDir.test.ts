import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { secureDataDir } from '../../src/dev/dataDir';
import { embeddedPostgresUser } from '../../src/dev/embeddedPostgres';
import { leafTestUser } from '../support/leafUser';

/** A made-before data directory, as older versions left it (0755), holding a world-readable file. */
function oldDataDir(): { dir: string; file: string } {
  const parent = mkdtempSync(path.join(tmpdir(), 'reprise-datadir-'));
  chmodSync(parent, 0o755);
  const dir = path.join(parent, 'data');
  spawnSync('mkdir', ['-m', '755', dir]);
  const file = path.join(dir, 'temporal.db');
  writeFileSync(file, 'every run\'s inputs', { mode: 0o644 });
  return { dir, file };
}

/** Whether `cat file` succeeds as the given user. */
function readableAs(user: { uid: number; gid: number }, file: string): boolean {
  return spawnSync('cat', [file], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0;
}

describe('secureDataDir', () => {
  it('closes the data directory to everyone but its user (0700)', async () => {
    const { dir } = oldDataDir();
    await secureDataDir(dir, undefined);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('as root, lets the embedded Postgres\'s user through, and nobody else in', async () => {
    const postgres = await embeddedPostgresUser().catch(() => undefined);
    const leaf = await leafTestUser();
    if (!postgres || !leaf) {
      console.warn('skipping: needs root and the `postgres` and `nobody` users');
      return;
    }
    const { dir, file } = oldDataDir();
    expect(readableAs(leaf, file)).toBe(true);
    await secureDataDir(dir, postgres);
    const st = statSync(dir);
    expect([st.mode & 0o777, st.gid]).toEqual([0o710, postgres.gid]);
    expect(readableAs(postgres, file)).toBe(true);
    expect(readableAs(leaf, file)).toBe(false);
  });
});
