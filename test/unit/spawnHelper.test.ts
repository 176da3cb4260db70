import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * The spawn helper (src/activities/spawnHelper.cjs) when its worker dies by
 * SIGKILL while it starts: its first message then meets a closed channel
 * (EPIPE) before the channel says it closed. It must leave quietly, as it does
 * when the worker goes, not crash with a stack trace on the worker's stderr
 * (npm start shows that stderr to the user).
 */
const HELPER = path.resolve(__dirname, '../../src/activities/spawnHelper.cjs');

/** A stand-in worker: forks the helper (sharing its stderr), prints the helper's pid, and SIGKILLs itself at once. */
const DYING_WORKER = `
const { fork } = require('node:child_process');
const helper = fork(${JSON.stringify(HELPER)}, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
process.stdout.write(helper.pid + '\\n', () => process.kill(process.pid, 'SIGKILL'));
`;

describe('the spawn helper, its worker SIGKILLed as it starts', () => {
  it('exits without a word on the stderr it shares with the worker', async () => {
    for (let i = 0; i < 5; i++) {
      const worker = spawn(process.execPath, ['-e', DYING_WORKER], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      worker.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      worker.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      // The stderr pipe closes once every process holding it (the helper too) has gone.
      await new Promise<void>((resolve) => worker.stderr.once('close', () => resolve()));
      expect(Number(stdout.trim())).toBeGreaterThan(0);
      expect(stderr).toBe('');
    }
  });
});
