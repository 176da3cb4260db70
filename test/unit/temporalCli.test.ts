import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findTemporalCli } from '../../src/dev/temporalCli';

function fakeCli(dir: string, mode = 0o755): string {
  const file = path.join(dir, 'temporal');
  writeFileSync(file, '#!/bin/sh\necho "temporal version 1.5.1"\n');
  chmodSync(file, mode);
  return file;
}

describe('findTemporalCli', () => {
  it('prefers TEMPORAL_CLI', async () => {
    const explicit = fakeCli(mkdtempSync(path.join(tmpdir(), 'cli-a-')));
    const onPath = mkdtempSync(path.join(tmpdir(), 'cli-b-'));
    fakeCli(onPath);
    expect(await findTemporalCli({ TEMPORAL_CLI: explicit, PATH: onPath })).toBe(explicit);
  });

  it('names a TEMPORAL_CLI that is not executable', async () => {
    const file = fakeCli(mkdtempSync(path.join(tmpdir(), 'cli-c-')), 0o644);
    await expect(findTemporalCli({ TEMPORAL_CLI: file })).rejects.toThrow(`TEMPORAL_CLI is set to ${file}, which is not an executable file.`);
  });

  it('finds it on PATH', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cli-d-'));
    const file = fakeCli(dir);
    expect(await findTemporalCli({ PATH: `/nonexistent:${dir}` })).toBe(file);
  });
});
