// `npm run bench:spawn`: what starting one leaf command costs the machine,
// in CPU (all processes, from /proc/stat) and wall time, from a process the
// size of a worker (BENCH_SPAWN_RSS_MB, default 300, of touched memory; 0
// measures from a small process): `true` spawned directly (what bare
// Temporal's activity does), our launcher spawned directly (how the worker
// started commands before spawner.ts), and our launcher through the
// spawner's helper (how it starts them now). BENCH_SPAWN_N (default 200)
// starts each, after 10 to warm up. The CPU is the whole machine's, so the
// figures vary with whatever else runs: compare them within one run, on an
// idle machine. docs/performance/notes.md, "Where the time goes", quotes them.
// BENCH_SPAWN_JSON=1 prints one JSON line instead (TSpawnCost): `npm run
// bench` runs it first, and reports it as the machine's cost of a start.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runShellCommand } from '../../src/activities/shellCommand';
import { warmSpawner } from '../../src/activities/spawner';
import { machineMs } from './cpu';
import type { TSpawnCost, TStartCost } from './results';
import { wholeNumber } from './settings';

const N = wholeNumber('BENCH_SPAWN_N', 200);
const RSS_MB = wholeNumber('BENCH_SPAWN_RSS_MB', 300, 0);
const JSON_OUT = process.env.BENCH_SPAWN_JSON === '1';

async function measure(name: string, once: () => Promise<unknown>): Promise<TStartCost> {
  for (let i = 0; i < 10; i++) await once();
  const cpu = machineMs();
  const started = performance.now();
  for (let i = 0; i < N; i++) await once();
  const cost = { cpuMs: (machineMs() - cpu) / N, wallMs: (performance.now() - started) / N };
  if (!JSON_OUT) console.log(`${name.padEnd(34)} ${cost.cpuMs.toFixed(1).padStart(6)} ms CPU  ${cost.wallMs.toFixed(1).padStart(6)} ms wall`);
  return cost;
}

async function main(): Promise<void> {
  // Touched, so it is resident: a fork copies the page tables of what is mapped.
  const ballast = Array.from({ length: RSS_MB }, () => Buffer.alloc(1 << 20, 1));
  const cwd = mkdtempSync(path.join(tmpdir(), 'reprise-spawn-'));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd };
  const command = { command: 'true', env, cwd, timeoutMs: 60_000, maxOutputBytes: 1 << 20 };
  if (!JSON_OUT) console.log(`${N} starts each, from a process holding ${ballast.length} MB more; machine CPU per start (noisy if anything else runs):`);
  try {
    const bare = await measure('spawn true (bare Temporal)', () => new Promise<void>((resolve, reject) => spawn('true', [], { stdio: 'ignore' }).once('exit', () => resolve()).once('error', reject)));
    process.env.REPRISE_SPAWN_DIRECT = '1';
    const launcherDirect = await measure('launcher, spawned by this process', () => runShellCommand(command));
    delete process.env.REPRISE_SPAWN_DIRECT;
    await warmSpawner();
    const helper = await measure('launcher, through the helper', () => runShellCommand(command));
    if (JSON_OUT) console.log(JSON.stringify({ starts: N, rssMb: ballast.length, bare, launcherDirect, helper } satisfies TSpawnCost));
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
