import { existsSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { attemptDir, forgetAttempt, forgetAttempts, keepOutcome, markCancelled, outcomeDir, prepareAttempt, recoverOutcome } from '../../src/activities/attemptFiles';

/** What an attempt left on disk, and what the next attempt makes of it. */
describe('attempt files', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'reprise-attempts-'));
  let n = 0;
  /** A fresh attempt of a fresh outcome number: its own directory and its outcome's (what recoverOutcome reads). */
  const fresh = async (): Promise<{ dir: string; outcome: string }> => {
    n += 1;
    const dir = attemptDir(dataDir, 'goal_x', n, 1);
    expect(await prepareAttempt(dir)).toBe(true);
    return { dir, outcome: outcomeDir(dataDir, 'goal_x', n) };
  };
  const at = (file: string, seconds: number) => utimesSync(file, seconds, seconds);

  it('reads an exit its command recorded as that command\'s end, its output lost with the worker', async () => {
    const { dir, outcome } = await fresh();
    writeFileSync(path.join(dir, 'exit'), '3\n');
    expect(recoverOutcome(outcome, 1 << 20)).toMatchObject({ kind: 'exit', result: { exit_code: 3, signal: null, output_lost: true } });
  });

  it('times a recovered exit from the start in the attempt directory\'s name, or from the `started` file older workers wrote', async () => {
    n += 1;
    const dir = attemptDir(dataDir, 'goal_x', n, 1, 1_000_000);
    await prepareAttempt(dir);
    writeFileSync(path.join(dir, 'exit'), '0\n');
    at(path.join(dir, 'exit'), 1004);
    expect(recoverOutcome(outcomeDir(dataDir, 'goal_x', n), 1 << 20)).toMatchObject({ kind: 'exit', result: { exit_code: 0, duration_ms: 4000 } });

    n += 1;
    const old = path.join(outcomeDir(dataDir, 'goal_x', n), '1-0a1b2c3d');
    mkdirSync(old, { recursive: true });
    writeFileSync(path.join(old, 'started'), '1000000');
    writeFileSync(path.join(old, 'exit'), '0\n');
    at(path.join(old, 'exit'), 1002);
    expect(recoverOutcome(outcomeDir(dataDir, 'goal_x', n), 1 << 20)).toMatchObject({ kind: 'exit', result: { exit_code: 0, duration_ms: 2000 } });
  });

  it('ignores an exit recorded after we killed the command for a cancellation: that end was ours, the command runs again', async () => {
    const { dir, outcome } = await fresh();
    markCancelled(dir);
    writeFileSync(path.join(dir, 'exit'), '143\n');
    at(path.join(dir, 'cancelled'), 1000);
    at(path.join(dir, 'exit'), 1001);
    expect(recoverOutcome(outcome, 1 << 20)).toBeUndefined();
  });

  it('keeps an exit the command recorded before the cancellation came: it had ended on its own', async () => {
    const { dir, outcome } = await fresh();
    writeFileSync(path.join(dir, 'exit'), '0\n');
    markCancelled(dir);
    at(path.join(dir, 'exit'), 1000);
    at(path.join(dir, 'cancelled'), 1001);
    expect(recoverOutcome(outcome, 1 << 20)).toMatchObject({ kind: 'exit', result: { exit_code: 0 } });
  });

  it('treats an empty exit file (the launcher died mid-write, or never wrote) as no outcome', async () => {
    const { dir, outcome } = await fresh();
    writeFileSync(path.join(dir, 'exit'), '');
    expect(recoverOutcome(outcome, 1 << 20)).toBeUndefined();
  });

  it('never reads an outcome larger than an outcome can be', async () => {
    const { dir, outcome } = await fresh();
    writeFileSync(path.join(dir, 'outcome.json'), JSON.stringify({ result: { stdout: 'x'.repeat(4096) } }));
    expect(recoverOutcome(outcome, 1024)).toBeUndefined();
    expect(recoverOutcome(outcome, 1 << 20)).toMatchObject({ kind: 'kept' });
  });

  it('says so when it cannot make the directory (a full disk): the action then runs without it', async () => {
    const blocked = path.join(dataDir, 'blocked');
    writeFileSync(blocked, 'a file where the attempts directory should be');
    expect(await prepareAttempt(path.join(blocked, 'goal_y', '1', '1-x'))).toBe(false);
  });

  // A worker that thaws after its heartbeat timed out runs the given-up attempt beside its retry, on one outcome number.
  describe('two attempts of one outcome at once', () => {
    it('each has its own directory: the given-up one, cancelled, never marks or clears its retry\'s', async () => {
      const { dir: givenUp, outcome } = await fresh();
      const retry = attemptDir(dataDir, 'goal_x', n, 2);
      expect(await prepareAttempt(retry)).toBe(true);
      expect(retry).not.toBe(givenUp);
      markCancelled(givenUp);
      writeFileSync(path.join(givenUp, 'exit'), '143\n');
      at(path.join(givenUp, 'cancelled'), 1000);
      at(path.join(givenUp, 'exit'), 1001);
      writeFileSync(path.join(retry, 'exit'), '0\n');
      expect(recoverOutcome(outcome, 1 << 20)).toMatchObject({ kind: 'exit', result: { exit_code: 0 } });
    });

    it('a cancelled attempt forgets only its own files', async () => {
      const { dir: givenUp, outcome } = await fresh();
      const retry = attemptDir(dataDir, 'goal_x', n, 2);
      await prepareAttempt(retry);
      writeFileSync(path.join(retry, 'exit'), '4\n');
      await forgetAttempt(givenUp);
      expect([existsSync(givenUp), existsSync(path.join(retry, 'exit'))]).toEqual([false, true]);
      expect(recoverOutcome(outcome, 1 << 20)).toMatchObject({ kind: 'exit', result: { exit_code: 4 } });
    });

    it('a whole outcome either kept wins over a bare exit status', async () => {
      const { dir: first, outcome } = await fresh();
      writeFileSync(path.join(first, 'exit'), '0\n');
      const second = attemptDir(dataDir, 'goal_x', n, 2);
      await prepareAttempt(second);
      keepOutcome(second, { result: { exit_code: 0, signal: null, timed_out: false, cancelled: false, stdout: '{"rows":3}', stderr: '', stdout_truncated: false, stderr_truncated: false, duration_ms: 5 } });
      expect(recoverOutcome(outcome, 1 << 20)).toMatchObject({ kind: 'kept', outcome: { result: { stdout: '{"rows":3}' } } });
    });

    it('of two ended commands, the first end is the outcome', async () => {
      const { dir: first, outcome } = await fresh();
      const second = attemptDir(dataDir, 'goal_x', n, 2);
      await prepareAttempt(second);
      writeFileSync(path.join(first, 'exit'), '1\n');
      writeFileSync(path.join(second, 'exit'), '0\n');
      at(path.join(first, 'exit'), 2000);
      at(path.join(second, 'exit'), 1000);
      expect(recoverOutcome(outcome, 1 << 20)).toMatchObject({ kind: 'exit', result: { exit_code: 0 } });
    });
  });

  it('reads what a worker of the earlier layout left directly in the outcome\'s directory', async () => {
    n += 1;
    const outcome = outcomeDir(dataDir, 'goal_x', n);
    mkdirSync(outcome, { recursive: true });
    writeFileSync(path.join(outcome, 'exit'), '2\n');
    expect(recoverOutcome(outcome, 1 << 20)).toMatchObject({ kind: 'exit', result: { exit_code: 2 } });
  });

  it('finds nothing for an outcome no attempt began (no directory), and the attempt then makes its own', async () => {
    n += 1;
    const outcome = outcomeDir(dataDir, 'goal_fresh', n);
    expect(existsSync(outcome)).toBe(false);
    expect(recoverOutcome(outcome, 1 << 20)).toBeUndefined();
    const dir = attemptDir(dataDir, 'goal_fresh', n, 1);
    expect(await prepareAttempt(dir)).toBe(true);
    writeFileSync(path.join(dir, 'exit'), '0\n');
    expect(recoverOutcome(outcome, 1 << 20)).toMatchObject({ kind: 'exit', result: { exit_code: 0 } });
  });
  describe('forgetting a goal\'s attempts once Postgres holds the outcome', () => {
    /** An attempt of goal `goal` that ran and kept its outcome, as runLeaf leaves it. */
    const ran = async (goal: string, outcome: number, activityAttempt = 1): Promise<string> => {
      const dir = attemptDir(dataDir, goal, outcome, activityAttempt);
      expect(await prepareAttempt(dir)).toBe(true);
      writeFileSync(path.join(dir, 'exit'), '0\n');
      keepOutcome(dir, { result: { exit_code: 0, signal: null, timed_out: false, cancelled: false, stdout: '', stderr: '', stdout_truncated: false, stderr_truncated: false, duration_ms: 1 } });
      return dir;
    };
    const goalDir = (goal: string) => path.join(dataDir, 'attempts', goal);

    it('removes the only attempt, its outcome\'s directory and the goal\'s', async () => {
      const dir = await ran('goal_one', 1);
      await forgetAttempts(dataDir, 'goal_one', dir);
      expect(existsSync(goalDir('goal_one'))).toBe(false);
    });

    it('removes every attempt when there are several (a retry beside a given-up attempt, an earlier outcome)', async () => {
      await ran('goal_many', 1);
      await ran('goal_many', 2, 1);
      const last = await ran('goal_many', 2, 2);
      await forgetAttempts(dataDir, 'goal_many', last);
      expect(existsSync(goalDir('goal_many'))).toBe(false);
    });

    it('removes an attempt holding more than its exit and outcome (a timeout mark), and works without knowing the attempt', async () => {
      const dir = await ran('goal_marked', 1);
      writeFileSync(path.join(dir, 'timed_out'), '1');
      await forgetAttempts(dataDir, 'goal_marked', dir);
      expect(existsSync(goalDir('goal_marked'))).toBe(false);

      await ran('goal_unknown', 1);
      await forgetAttempts(dataDir, 'goal_unknown');
      expect(existsSync(goalDir('goal_unknown'))).toBe(false);
    });

    it('leaves another goal\'s attempts alone, even when handed a directory outside the goal', async () => {
      const other = await ran('goal_other', 1);
      await ran('goal_mine', 1);
      await forgetAttempts(dataDir, 'goal_mine', other);
      expect(existsSync(goalDir('goal_mine'))).toBe(false);
      expect(existsSync(other)).toBe(true);
    });
  });
});
