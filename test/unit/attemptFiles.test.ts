import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { attemptDir, markCancelled, prepareAttempt, recoverOutcome } from '../../src/activities/attemptFiles';

/** What an attempt left on disk, and what the next attempt makes of it. */
describe('attempt files', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'reprise-attempts-'));
  let n = 0;
  const fresh = async (): Promise<string> => {
    const dir = attemptDir(dataDir, 'goal_x', (n += 1));
    expect(await prepareAttempt(dir)).toBe(true);
    return dir;
  };
  const at = (file: string, seconds: number) => utimesSync(file, seconds, seconds);

  it('reads an exit its command recorded as that command\'s end, its output lost with the worker', async () => {
    const dir = await fresh();
    writeFileSync(path.join(dir, 'exit'), '3\n');
    expect(recoverOutcome(dir, 1 << 20)).toMatchObject({ kind: 'exit', result: { exit_code: 3, signal: null, output_lost: true } });
  });

  it('ignores an exit recorded after we killed the command for a cancellation: that end was ours, the command runs again', async () => {
    const dir = await fresh();
    markCancelled(dir);
    writeFileSync(path.join(dir, 'exit'), '143\n');
    at(path.join(dir, 'cancelled'), 1000);
    at(path.join(dir, 'exit'), 1001);
    expect(recoverOutcome(dir, 1 << 20)).toBeUndefined();
  });

  it('keeps an exit the command recorded before the cancellation came: it had ended on its own', async () => {
    const dir = await fresh();
    writeFileSync(path.join(dir, 'exit'), '0\n');
    markCancelled(dir);
    at(path.join(dir, 'exit'), 1000);
    at(path.join(dir, 'cancelled'), 1001);
    expect(recoverOutcome(dir, 1 << 20)).toMatchObject({ kind: 'exit', result: { exit_code: 0 } });
  });

  it('treats an empty exit file (the launcher died mid-write, or never wrote) as no outcome', async () => {
    const dir = await fresh();
    writeFileSync(path.join(dir, 'exit'), '');
    expect(recoverOutcome(dir, 1 << 20)).toBeUndefined();
  });

  it('never reads an outcome larger than an outcome can be', async () => {
    const dir = await fresh();
    writeFileSync(path.join(dir, 'outcome.json'), JSON.stringify({ result: { stdout: 'x'.repeat(4096) } }));
    expect(recoverOutcome(dir, 1024)).toBeUndefined();
    expect(recoverOutcome(dir, 1 << 20)).toMatchObject({ kind: 'kept' });
  });

  it('says so when it cannot make the directory (a full disk): the action then runs without it', async () => {
    const blocked = path.join(dataDir, 'blocked');
    writeFileSync(blocked, 'a file where the attempts directory should be');
    expect(await prepareAttempt(path.join(blocked, 'goal_y', '1'))).toBe(false);
  });
});
