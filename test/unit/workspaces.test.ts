import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureWorkspace, workspaceCache } from '../../src/activities/workspaces';
import { leafTestUser } from '../support/leafUser';

const mode = (p: string): number => statSync(p).mode & 0o777;

describe('ensureWorkspace', () => {
  it('makes a tree\'s workspace and its root private (0700), and tightens ones made looser', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'reprise-ws-')), 'workspaces');
    const cwd = await ensureWorkspace({ dir, user: undefined }, 'goal_1');
    expect(cwd).toBe(path.join(dir, 'goal_1'));
    expect([mode(dir), mode(cwd)]).toEqual([0o700, 0o700]);

    // Made by an older version (mkdir's 0755) or by hand: tightened on its next use.
    const old = path.join(dir, 'goal_old');
    mkdirSync(old);
    chmodSync(old, 0o755);
    chmodSync(dir, 0o755);
    await ensureWorkspace({ dir, user: undefined }, 'goal_old');
    expect([mode(dir), mode(old)]).toEqual([0o700, 0o700]);
  });

  it.each(['..', '../escape', 'a/b', '.hidden', ''])('refuses %j as a tree\'s directory name', async (rootId) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reprise-ws-'));
    await expect(ensureWorkspace({ dir, user: undefined }, rootId)).rejects.toMatchObject({ code: 'WORKSPACE_INVALID' });
  });

  it('gives the workspace to LEAF_USER, and lets it through the root without listing it', async () => {
    const user = await leafTestUser();
    if (!user) return;
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'reprise-ws-')), 'workspaces');
    const cwd = await ensureWorkspace({ dir, user }, 'goal_2');
    const st = statSync(cwd);
    expect([st.uid, st.gid, mode(cwd)]).toEqual([user.uid, user.gid, 0o700]);
    expect([statSync(dir).uid, mode(dir)]).toEqual([process.getuid?.(), 0o711]);
  });
});

describe('workspaceCache', () => {
  it('makes a tree\'s workspace once per process; a forgotten one is made again; a bad name is refused each time', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'reprise-ws-')), 'workspaces');
    const cache = workspaceCache({ dir, user: undefined });
    const cwd = await cache.ensure('goal_1');
    expect([cwd, mode(cwd)]).toEqual([path.join(dir, 'goal_1'), 0o700]);
    rmSync(cwd, { recursive: true });
    // Remembered: no file-system call (the directory deleted by hand is not seen)...
    expect(await cache.ensure('goal_1')).toBe(cwd);
    expect(existsSync(cwd)).toBe(false);
    // ...until the leaf whose command could not start forgets it.
    cache.forget('goal_1');
    expect(await cache.ensure('goal_1')).toBe(cwd);
    expect(existsSync(cwd)).toBe(true);
    await expect(cache.ensure('..')).rejects.toMatchObject({ code: 'WORKSPACE_INVALID' });
    await expect(cache.ensure('..')).rejects.toMatchObject({ code: 'WORKSPACE_INVALID' });
  });
});
