// `npm test`: the test tiers in order, fastest first, each as its own child
// process with this terminal (jest's own summaries stay visible). It stops at
// the first tier that fails, with that tier's exit code, and prints how long
// each tier took, on success and on failure alike.
//
// `npm test -- unit workflows` runs only the named tiers (in the order below).
import { spawn } from 'node:child_process';

interface TTier {
  name: string;
  /** An npm script: each tier also runs alone as `npm run <script>`. */
  script: string;
  what: string;
}

const TIERS: readonly TTier[] = [
  { name: 'typecheck', script: 'typecheck', what: 'API types regenerated, then tsc' },
  { name: 'lint', script: 'lint', what: 'eslint, no warnings' },
  { name: 'unit', script: 'test:unit', what: 'pure logic, no services' },
  { name: 'workflows', script: 'test:workflows', what: 'workflow logic on the Temporal dev server, in-memory activities' },
  { name: 'integration', script: 'test:integration', what: 'HTTP, Postgres, Temporal and the e2e start' },
  { name: 'browser', script: 'test:browser', what: 'the web UI in headless Chromium against a live stack (axe, keyboard, screenshots)' },
  { name: 'scale', script: 'test:scale', what: 'big trees, asserted on the worker\'s task latencies' },
  { name: 'faults', script: 'test:faults', what: 'processes SIGKILLed during runs (reduced form), and npm start\'s supervision and bounded stops' },
];

type TResult = { tier: TTier; seconds: number; code: number };

function runTier(tier: TTier): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', tier.script], { stdio: 'inherit' });
    child.once('error', (err) => {
      console.error(`could not start tier ${tier.name}: ${err.message}`);
      resolve(1);
    });
    // A tier killed by a signal is a failure too (128 + the signal's number, as a shell reports it).
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + (signalNumbers[signal] ?? 0) : 1)));
  });
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function printSummary(results: TResult[], skipped: TTier[]): void {
  const width = Math.max(...TIERS.map((t) => t.name.length));
  const lines = [
    '',
    `${'tier'.padEnd(width)}  ${'seconds'.padStart(7)}  result`,
    ...results.map((r) => `${r.tier.name.padEnd(width)}  ${r.seconds.toFixed(1).padStart(7)}  ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`}`),
    ...skipped.map((t) => `${t.name.padEnd(width)}  ${'-'.padStart(7)}  not run`),
    `${'total'.padEnd(width)}  ${results.reduce((s, r) => s + r.seconds, 0).toFixed(1).padStart(7)}`,
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
  for (const [i, tier] of selected.entries()) {
    console.log(`\n=== ${tier.name}: ${tier.what} (npm run ${tier.script})`);
    const started = process.hrtime.bigint();
    const code = await runTier(tier);
    results.push({ tier, seconds: Number(process.hrtime.bigint() - started) / 1e9, code });
    if (code !== 0) {
      printSummary(results, selected.slice(i + 1));
      return code;
    }
  }
  printSummary(results, []);
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
