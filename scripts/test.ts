// `npm test`: the test tiers in order, fastest first, each as its own child
// process (jest's own summaries stay visible). Neighbouring tiers marked
// `concurrent` run at once, each one's output printed whole as it ends: the
// first four (typecheck, lint, unit, and workflows with its own small Temporal
// dev server), and the last two (browser, faults), which each bring up their
// own stack and mostly wait on it (a page, a killed process). The others run one after another with
// this terminal; scale runs alone, since it measures the worker's task
// latencies. It stops at the first tier (or pair) that fails, with that
// tier's exit code, and prints how long each tier took, on success and on
// failure alike.
//
// `npm test -- unit workflows` runs only the named tiers (in the order below).
import { spawn } from 'node:child_process';

interface TTier {
  name: string;
  /** An npm script: each tier also runs alone as `npm run <script>`. */
  script: string;
  what: string;
  /** Runs at the same time as its neighbours that are also `concurrent` (they share no service). */
  concurrent?: true;
}

const TIERS: readonly TTier[] = [
  { name: 'typecheck', script: 'typecheck', what: 'API types regenerated, then tsc', concurrent: true },
  { name: 'lint', script: 'lint', what: 'eslint, no warnings', concurrent: true },
  { name: 'unit', script: 'test:unit', what: 'pure logic, no services', concurrent: true },
  { name: 'workflows', script: 'test:workflows', what: 'workflow logic on the Temporal dev server, in-memory activities', concurrent: true },
  { name: 'integration', script: 'test:integration', what: 'HTTP, Postgres, Temporal and the e2e start' },
  { name: 'scale', script: 'test:scale', what: 'big trees, asserted on the worker\'s task latencies' },
  { name: 'browser', script: 'test:browser', what: 'the web UI in headless Chromium against a live stack (axe, keyboard, screenshots)', concurrent: true },
  { name: 'faults', script: 'test:faults', what: 'processes SIGKILLed during runs (reduced form), and npm start\'s supervision and bounded stops', concurrent: true },
];

type TResult = { tier: TTier; seconds: number; code: number };

/** Runs one tier; `buffered`: its output is kept and printed whole when it ends (tiers running at once). */
function runTier(tier: TTier, buffered = false): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', tier.script], { stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    const output: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => output.push(b));
    child.stderr?.on('data', (b: Buffer) => output.push(b));
    const done = (code: number) => {
      if (buffered) process.stdout.write(`\n=== ${tier.name}: ${tier.what} (npm run ${tier.script})\n${Buffer.concat(output).toString()}`);
      resolve(code);
    };
    child.once('error', (err) => {
      console.error(`could not start tier ${tier.name}: ${err.message}`);
      done(1);
    });
    // A tier killed by a signal is a failure too (128 + the signal's number, as a shell reports it).
    child.once('exit', (code, signal) => done(code ?? (signal ? 128 + (signalNumbers[signal] ?? 0) : 1)));
  });
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function printSummary(results: TResult[], skipped: TTier[], wallSeconds: number): void {
  const width = Math.max(...TIERS.map((t) => t.name.length));
  const lines = [
    '',
    `${'tier'.padEnd(width)}  ${'seconds'.padStart(7)}  result`,
    ...results.map((r) => `${r.tier.name.padEnd(width)}  ${r.seconds.toFixed(1).padStart(7)}  ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`}`),
    ...skipped.map((t) => `${t.name.padEnd(width)}  ${'-'.padStart(7)}  not run`),
    `${'total'.padEnd(width)}  ${wallSeconds.toFixed(1).padStart(7)}  (wall clock; typecheck, lint, unit and workflows overlap, and so do browser and faults)`,
  ];
  console.log(lines.join('\n'));
}

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => !TIERS.some((t) => t.name === a));
  if (unknown.length) {
    console.error(`unknown tier ${unknown.join(', ')}: the tiers are ${TIERS.map((t) => t.name).join(', ')}`);
    return 2;
  }
  const selected = argv.length ? TIERS.filter((t) => argv.includes(t.name)) : [...TIERS];
  const results: TResult[] = [];
  const begun = process.hrtime.bigint();
  const wall = () => Number(process.hrtime.bigint() - begun) / 1e9;
  for (let i = 0; i < selected.length; ) {
    // The next tier, with the concurrent tiers right after it when it is one.
    let n = 1;
    while (selected[i]?.concurrent && selected[i + n]?.concurrent) n += 1;
    const batch = selected.slice(i, i + n);
    if (n === 1) console.log(`\n=== ${batch[0]?.name}: ${batch[0]?.what} (npm run ${batch[0]?.script})`);
    else console.log(`\n=== ${batch.map((t) => t.name).join(', ')}, at once (each one's output follows as it ends)`);
    const ran = await Promise.all(
      batch.map(async (tier) => {
        const started = process.hrtime.bigint();
        const code = await runTier(tier, n > 1);
        return { tier, seconds: Number(process.hrtime.bigint() - started) / 1e9, code };
      }),
    );
    results.push(...ran);
    i += n;
    const failed = ran.find((r) => r.code !== 0);
    if (failed) {
      printSummary(results, selected.slice(i), wall());
      return failed.code;
    }
  }
  printSummary(results, [], wall());
  return 0;
}

// A Ctrl-C reaches the running tier too (same process group): wait for it to exit and report it.
process.on('SIGINT', () => undefined);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
