import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { resolveLeafUser } from '../../src/activities/leafUser';
import { LEAF_TEST_USER, leafTestUser } from '../support/leafUser';

const root = path.resolve(__dirname, '../..');

describe('resolveLeafUser (LEAF_USER at worker start)', () => {
  it('finds an unprivileged user\'s uid and gid, and refuses a missing user or root', async () => {
    const user = await leafTestUser();
    if (!user) return;
    expect(user).toMatchObject({ name: LEAF_TEST_USER, uid: expect.any(Number), gid: expect.any(Number) });
    expect(user.uid).not.toBe(0);
    await expect(resolveLeafUser('reprise-no-such-user')).rejects.toMatchObject({ code: 'LEAF_USER_INVALID', message: expect.stringMatching(/does not exist on this machine: reprise-no-such-user/) });
    await expect(resolveLeafUser('root')).rejects.toMatchObject({ code: 'LEAF_USER_INVALID', message: expect.stringMatching(/must be an unprivileged user/) });
  });

  it('refuses when the worker is not root and so cannot switch users', () => {
    // Run as the unprivileged user itself when we are root; as whoever we are otherwise.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const script = `require(${JSON.stringify(path.join(root, 'src/activities/leafUser.ts'))}).resolveLeafUser(${JSON.stringify(LEAF_TEST_USER)}).then(() => console.log('switched'), (e) => console.log(e.code, e.message))`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { ...asUser, cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/tmp' }, timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^LEAF_USER_INVALID LEAF_USER is set \(nobody\), but the worker runs as uid \d+, not root, so it cannot run commands as another user/);
  });
});
