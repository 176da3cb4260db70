import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { secureDataDir } from '../../src/dev/dataDir';
import { embeddedPostgresUser, recordEmbeddedPort } from '../../src/dev/embeddedPostgres';
import { spawnManaged, writePidFile } from '../../src/dev/managedProcess';
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

/** Files as an older version left them beside temporal.db: world-readable logs, pid files, SQLite siblings and attempt files. */
function oldContents(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const sub of ['logs', 'run', 'attempts/goal_x/1', 'postgres']) spawnSync('mkdir', ['-p', '-m', '755', path.join(dir, sub)]);
  for (const rel of ['logs/temporal.log', 'run/start.pid', 'temporal.db-wal', 'temporal.db-shm', 'attempts/goal_x/1/started', 'postgres/PG_VERSION']) {
    files[rel] = path.join(dir, rel);
    writeFileSync(files[rel], 'x', { mode: 0o644 });
  }
  return files;
}

function modeOf(file: string): number {
  return lstatSync(file).mode & 0o777;
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

  it('makes everything under it owner-only (directories 0700, files 0600), but the Postgres cluster and what links point to', async () => {
    const { dir, file } = oldDataDir();
    const files = oldContents(dir);
    chmodSync(path.join(dir, 'postgres'), 0o700);
    const outside = path.join(path.dirname(dir), 'outside.txt');
    writeFileSync(outside, 'not ours to chmod', { mode: 0o644 });
    symlinkSync(outside, path.join(dir, 'logs', 'link.log'));
    await secureDataDir(dir, undefined);
    expect([file, ...Object.values(files).filter((f) => !f.includes('/postgres/'))].map((f) => [path.relative(dir, f), modeOf(f)])).toEqual(
      [file, ...Object.values(files).filter((f) => !f.includes('/postgres/'))].map((f) => [path.relative(dir, f), 0o600]),
    );
    expect(['logs', 'run', 'attempts', 'attempts/goal_x', 'attempts/goal_x/1'].map((d) => [d, modeOf(path.join(dir, d))])).toEqual(['logs', 'run', 'attempts', 'attempts/goal_x', 'attempts/goal_x/1'].map((d) => [d, 0o700]));
    expect([modeOf(files['postgres/PG_VERSION']!), modeOf(outside)]).toEqual([0o644, 0o644]);
  });

  it('creates its log, pid and port files owner-only, and runs the Temporal dev server (or any child asked to) under umask 077', async () => {
    const { dir } = oldDataDir();
    writePidFile(path.join(dir, 'run', 'x.pid'), process.pid, 'x');
    recordEmbeddedPort(dir, 15432);
    const made = path.join(dir, 'made-by-child');
    const child = spawnManaged('umask probe', '/bin/sh', ['-c', `echo hi > ${made}; mkdir ${made}.d`], { umask: 0o077, logFile: path.join(dir, 'logs', 'probe.log') });
    expect((await child.exited).code).toBe(0);
    expect([modeOf(path.join(dir, 'run')), modeOf(path.join(dir, 'run', 'x.pid')), modeOf(path.join(dir, 'run', 'postgres.port'))]).toEqual([0o700, 0o600, 0o600]);
    expect([modeOf(path.join(dir, 'logs')), modeOf(path.join(dir, 'logs', 'probe.log')), modeOf(made), modeOf(`${made}.d`)]).toEqual([0o700, 0o600, 0o600, 0o700]);
  });

  it('as root, lets the embedded Postgres\'s user through, and nobody else in', async () => {
    const postgres = await embeddedPostgresUser().catch(() => undefined);
    const leaf = await leafTestUser();
    if (!postgres || !leaf) {
      console.warn('skipping: needs root and the `postgres` and `nobody` users');
      return;
    }
    const { dir, file } = oldDataDir();
    const files = oldContents(dir);
    expect(readableAs(leaf, file)).toBe(true);
    await secureDataDir(dir, postgres);
    const st = statSync(dir);
    expect([st.mode & 0o777, st.gid]).toEqual([0o710, postgres.gid]);
    // Postgres's user passes through to its cluster, but reads no run's titles or inputs on the way: not Temporal's state, not the logs.
    expect([file, files['logs/temporal.log']!, files['run/start.pid']!, files['attempts/goal_x/1/started']!].map((f) => [path.relative(dir, f), readableAs(postgres, f)])).toEqual(
      [file, files['logs/temporal.log']!, files['run/start.pid']!, files['attempts/goal_x/1/started']!].map((f) => [path.relative(dir, f), false]),
    );
    expect(readableAs(leaf, file)).toBe(false);
  });
});
