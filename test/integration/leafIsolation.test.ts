import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startApi, type TRunningApi } from '../../src/api/server';
import type { TConfig } from '../../src/config';
import type { PrismaClient } from '../../src/db/client';
import { createWorker } from '../../src/main/composeWorker';
import { createTokenDirect } from '../../src/services/tokens';
import { createTemporalClient } from '../../src/temporal/client';
import { leafTestUser, LEAF_TEST_USER } from '../support/leafUser';
import { http, silentLogger, startTestWorker, testConfig, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';

/**
 * What a leaf's command can reach (LEAF_USER, WORKSPACES_DIR) and what the
 * API tells about Temporal (TEMPORAL_UI_LINKS), each through the real worker
 * and API on the test services.
 */

jest.setTimeout(90_000);

const BIN = path.resolve(__dirname, '../../bin/reprise.cjs');

let prisma: PrismaClient;
beforeAll(() => {
  prisma = testPrisma();
});
afterAll(async () => {
  await prisma.$disconnect();
});

/** The real API (src/api/server.ts) for a config, on a free port, with an admin token. */
async function apiFor(config: TConfig): Promise<{ api: TRunningApi; auth: Record<string, string>; token: string; close(): Promise<void> }> {
  const temporal = createTemporalClient(config.temporal.address as string, config.temporal.namespace);
  const api = await startApi({ config, prisma, temporal, logger: silentLogger, port: 0 });
  const { secret } = await createTokenDirect(prisma, { user: 'local' }, { name: `leaf isolation ${api.url}`, scopes: ['admin'] });
  return {
    api,
    token: secret,
    auth: { authorization: `Bearer ${secret}` },
    async close() {
      await api.close();
      await temporal.connection.close();
    },
  };
}

describe('LEAF_USER', () => {
  it('runs shell leaves as that user, in a workspace it owns, away from the worker\'s files', async () => {
    const user = await leafTestUser();
    if (!user) return;
    const taskQueue = uniqueTaskQueue('leaf-user');
    const config = testConfig({ TEMPORAL_TASK_QUEUE: taskQueue, LEAF_USER: LEAF_TEST_USER });
    // A secret of the worker's, as the data directory keeps them (0600).
    const secret = path.join(config.dataDir, 'postgres.password');
    writeFileSync(secret, 'hunter2\n', { mode: 0o600 });
    const worker = await startTestWorker(config, prisma, taskQueue);
    const { api, auth, close } = await apiFor(config);
    try {
      const command = [
        'id -u',
        'pwd',
        'echo "$HOME"',
        'touch made-here && stat -c %u made-here',
        `cat ${secret} 2>/dev/null || echo "secret unreadable"`,
        'ls .. >/dev/null 2>&1 || echo "other workspaces unlisted"',
      ].join('; ');
      const created = await http('POST', `${api.url}/api/goals`, { title: 'As the leaf user', action: { runtime: 'shell', command } }, auth);
      expect(created.status).toBe(201);
      const goal = await waitFor(async () => {
        const g = await http('GET', `${api.url}/api/goals/${created.body.id}`, undefined, auth);
        return ['done', 'failed'].includes(g.body.lifecycle) ? g.body : undefined;
      }, 'the goal to finish');
      expect(goal.lifecycle).toBe('done');
      expect(goal.output.stdout).toBe(
        // HOME is the workspace, not the worker's /root: tools that write under ~ write where the user may.
        [user.uid, path.join(config.workspacesDir, created.body.id), path.join(config.workspacesDir, created.body.id), user.uid, 'secret unreadable', 'other workspaces unlisted'].join('\n') + '\n',
      );
    } finally {
      await close();
      await worker.stop();
    }
  });

  it('stops a worker whose LEAF_USER does not exist before it takes any task', async () => {
    const config = testConfig({ LEAF_USER: 'reprise-no-such-user' });
    const { NativeConnection } = await import('@temporalio/worker');
    const connection = await NativeConnection.connect({ address: config.temporal.address as string });
    try {
      await expect(createWorker({ config, prisma, connection, logger: silentLogger, taskQueue: uniqueTaskQueue('no-leaf-user') })).rejects.toMatchObject({
        code: 'LEAF_USER_INVALID',
        message: expect.stringContaining('reprise-no-such-user'),
      });
    } finally {
      await connection.close();
    }
  });
});

describe('TEMPORAL_UI_LINKS', () => {
  /** A goal created through an API with these settings: its ui_url, and what `reprise goal show` prints for Temporal. */
  async function uiLinkOf(env: NodeJS.ProcessEnv): Promise<{ created: string | null; shown: string | null; cli: string }> {
    const config = testConfig({ TEMPORAL_TASK_QUEUE: uniqueTaskQueue('ui-links'), TEMPORAL_UI_URL: 'http://temporal-ui.example:8233', ...env });
    const { api, auth, token, close } = await apiFor(config);
    try {
      const created = await http('POST', `${api.url}/api/goals`, { title: 'Linked?', intent: 'no action: stays a draft' }, auth);
      expect(created.status).toBe(201);
      const shown = await http('GET', `${api.url}/api/goals/${created.body.id}`, undefined, auth);
      const cli = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [BIN, 'goal', 'show', created.body.id], { env: { PATH: process.env.PATH, REPRISE_URL: api.url, REPRISE_TOKEN: token, REPRISE_DATA_DIR: config.dataDir }, timeout: 45_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
      return { created: created.body.temporal.ui_url, shown: shown.body.temporal.ui_url, cli: cli.split('\n').find((l) => /^\s*temporal\b/.test(l)) ?? '' };
    } finally {
      await close();
    }
  }

  it('links goals to the Web UI by default, and to nothing when off (the CLI then prints the workflow id)', async () => {
    const on = await uiLinkOf({});
    expect(on.created).toMatch(/^http:\/\/temporal-ui\.example:8233\/namespaces\/default\/workflows\//);
    expect(on.shown).toBe(on.created);
    expect(on.cli).toContain('http://temporal-ui.example:8233/');

    const off = await uiLinkOf({ TEMPORAL_UI_LINKS: 'off' });
    expect([off.created, off.shown]).toEqual([null, null]);
    expect(off.cli).not.toContain('http');
    expect(off.cli).toMatch(/temporal\s+\S+/);
  });
});
