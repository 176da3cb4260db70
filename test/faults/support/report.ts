import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TScenarioSummary } from './scenario';

/**
 * The fault suite's report: each scenario leaves its figures in
 * .data/faults/results/<scenario>.json (recordScenario); after the run this
 * renders them as markdown. Only the full form (FAULTS_SCALE=full) with
 * every scenario's figures writes docs/RELIABILITY.md; anything else (CI's
 * reduced form, one file run alone) writes .data/faults/RELIABILITY.md, so
 * the committed document always holds the issue's sizes.
 */

const root = path.resolve(__dirname, '../../..');
const faultsDir = path.join(root, '.data/faults');
const resultsDir = path.join(faultsDir, 'results');

/** The scenarios, in the order the report lists them. */
export const SCENARIOS = ['worker-kill', 'two-workers', 'postgres-kill', 'temporal-kill', 'api-kill', 'two-apis'] as const;

type TRecorded = TScenarioSummary & { scale: 'full' | 'reduced'; finishedAt: string; machine: string };

function readResults(): TRecorded[] {
  if (!existsSync(resultsDir)) return [];
  const found = readdirSync(resultsDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(resultsDir, f), 'utf8')) as TRecorded);
  const order = (s: string): number => {
    const i = (SCENARIOS as readonly string[]).indexOf(s);
    return i < 0 ? SCENARIOS.length : i;
  };
  return found.sort((a, b) => order(a.scenario) - order(b.scenario));
}

const SIZES_TABLE = `| Scenario | Full form (\`FAULTS_SCALE=full\`) | Reduced form (default, CI) |
|---|---|---|
| worker-kill | 50 runs × 50 goals, a kill per run | 4 runs × 20 goals |
| two-workers | 3 rounds × 4 concurrent runs × 50 goals | 1 round × 3 runs × 20 goals |
| postgres-kill | 1 run × 1,000 goals + 4 runs × 50 goals in flight | 1 run × 300 goals + 2 runs × 20 goals |
| temporal-kill | 4 runs × 50 goals + a one-shot fire due during the outage | 2 runs × 20 goals + the fire |
| api-kill | 3 rounds × 10 keys × 20 concurrent requests | 1 round × 5 keys × 10 requests |
| two-apis | 3 rounds × 10 keys × 10 concurrent requests over 2 APIs, 20-goal plan | 1 round × 5 keys × 6 requests, 10-goal plan |`;

const GUARANTEES = `## What each guarantee rests on

**No run lost, exactly one run per key (api-kill, two-apis).** A run is a
ledger row \`(workflow, idempotency_key)\` claimed in Postgres before anything else
(\`claimRun\` in \`src/db/runs.ts\`: \`createMany\` with duplicates skipped
under the unique index, so one of any number of racing claims creates it).
Its id, its root goal's id and its Temporal workflow id all derive from
(workflow, key) (\`runId\`, \`runRootGoalId\`, \`runTemporalWorkflowId\` in
\`src/domain/ids.ts\`), so a retry after a lost answer, or after an API killed
between the claim and the start, lands on the same row, the same tree and the
same execution, whichever API the request reached: APIs share nothing but
Postgres and Temporal, and both fences are there. The start uses
\`workflowIdConflictPolicy: USE_EXISTING\` and \`workflowIdReusePolicy: REJECT_DUPLICATE\` (\`src/temporal/starts.ts\`):
Temporal refuses a second execution of that id, while a request finding the
row still \`claimed\` starts it. The client's part: send the same key again
until it gets an answer, which the scenario's clients do.

**Every tree written once (worker-kill, postgres-kill).** Every child's id
derives from (parent id, key) (\`childGoalId\`); each layer is written in one
transaction with duplicates skipped, so a materialization re-run by a new
worker, or retried after Postgres came back, adds nothing that exists.
The scenarios count each run's goals against the plan's size.

**No leaf executed twice (all).** \`runLeaf\` (\`src/activities/leaves.ts\`)
never runs an action that has an outcome: \`action_ended_at\` on the goal row
is the fence a re-delivered or retried attempt reads first, and an outcome
that reached only Temporal (the activity's heartbeat details, kept across
attempts) is recorded from there instead of running the action again.
\`action_attempts\` counts the action's own outcomes, so an attempt lost to a
worker or to Postgres spends none of the leaf's \`retries\`. A command runs in
its own process group with a watchdog holding a pipe from its worker
(\`src/activities/shellCommand.ts\`): when the worker dies, the command dies
with it rather than finish beside its retry. A command's end outlives its
worker: the launcher that runs it writes its exit status to
\`<data dir>/attempts/<goal>/<n>/exit\` the moment it ends (a shell
builtin, microseconds), and the worker keeps the whole outcome beside it as
soon as it hears of the end (\`src/activities/attemptFiles.ts\`). A worker
killed after a command ended but before the outcome reached Postgres or
Temporal therefore costs no second run: the next attempt on that machine
reads the outcome (or, if only the exit status survived, records it with
\`output_lost: true\`; the output died with the worker) instead of running
the command again. A command the worker killed itself (its attempt cancelled: a
worker stopping, a heartbeat lost) is marked so first, and its recorded end
is not taken for the command's: that command never finished, and runs again. What is left is the instant between a command's last act
and its launcher's write, raced by the watchdog: the suite counts a second
execution whose first ended within 100 ms before its worker's SIGKILL or
1 s after it apart ("re-run, outcome lost") and any other as a leaf executed
twice. An attempt retried on another machine cannot see this machine's
disk: there the heartbeat details are the only record, and an HTTP leaf's
request, which has no launcher, keeps the at-least-once instant between its
response and the worker's write.

**No failure caused by the infrastructure (all).** Activities classify
errors (\`src/activities/errorBoundary.ts\`): Postgres unreachable, reset or
shutting down, serialization failures and deadlocks, pool timeouts, Temporal
unreachable and a lost worker are retried with backoff (1 s doubling to
30 s) for \`INFRA_RETRY_HOURS\` (24 h by default, carried by each tree from
its start), apart from a leaf's own \`retries\`. Temporal re-delivers what a
dead worker held: workflow tasks after their timeout, activities after their
heartbeat timeout (10 s for a leaf). Temporal's own state is a SQLite file
(journal_mode WAL, synchronous NORMAL): a SIGKILLed dev server restarted on
it has every history and schedule, and a fire missed while it was down is
taken within the schedule's catch-up window (\`SCHEDULE_CATCHUP_WINDOW\`, 1d by default), keyed by its nominal
time (\`fireKey\`), so it is made once.

**Processes come back (supervision).** Under \`npm start\` a dead Postgres,
Temporal, worker or API is started again by the supervisor
(\`src/main/supervisor.ts\`); \`test/faults/supervision.test.ts\` kills each
and checks /healthz and a goal afterwards, and that a stop is bounded with
Postgres dead. When npm start itself is SIGKILLed its children stop on their
own (the worker and the API when their stdin pipe from it closes, Postgres
and Temporal on their parent-death signal) and the next start stops any
survivor its pid files name (\`test/e2e/start.test.ts\`). The scenarios
above restart processes themselves, so what they measure is the engine's recovery, not the supervisor's.`;

function render(results: TRecorded[], complete: boolean): string {
  const first = results[0];
  const scale = first?.scale ?? 'reduced';
  const seeds = [...new Set(results.map((r) => r.seed))];
  const rows = results.map(
    (r) =>
      `| ${r.scenario} | ${r.trials} | ${r.runsCompleted} | ${r.runsFailed} | ${r.leavesTwice} | ${r.runsLost} | ${r.lostOutcomes} | ${r.leaves} | ${r.kills} | ${r.sizes} | ${r.seconds.toFixed(0)} |`,
  );
  const details = results.map((r) => [`### ${r.scenario}: ${r.title}`, '', `${r.scale} form, seed ${r.seed}, ${r.finishedAt.replace('T', ' ').slice(0, 16)} UTC.`, '', ...r.notes.map((n) => `- ${n}`)].join('\n'));
  const passed = results.every((r) => r.runsFailed === 0 && r.leavesTwice === 0 && r.runsLost === 0);
  return `# Reliability

${scale === 'full' ? 'Measured with the fault suite in its full form' : '**Reduced form** (the sizes CI runs, not the issue\'s): measured with the fault suite'}
(\`${scale === 'full' ? 'FAULTS_SCALE=full ' : ''}npm run test:faults\`), ${first?.finishedAt.slice(0, 10) ?? 'never'}, on ${first?.machine ?? 'this machine'}
(shared with other work: a load average near 10 during these runs);
seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')} (\`FAULTS_SEED=<seed>\` reproduces a scenario's kill moments).${complete ? '' : `\nOnly these scenarios ran: ${results.map((r) => r.scenario).join(', ')}.`}
Generated by \`test/faults/support/report.ts\`; do not edit by hand.

Each scenario runs its own Postgres (embedded), its own Temporal dev server
on a SQLite file, worker and API processes (\`src/main/worker.ts\`,
\`src/main/api.ts\`), and kills them with SIGKILL. Every leaf sleeps
0.3 s, then appends a line to a file named by its goal id, so a command that
ran to its end twice shows. A run counts as completed when
\`GET /api/runs/{id}\` shows \`status.status\` \`done\` before the deadline,
failed on any other end (every leaf succeeds: only the infrastructure can fail
one), lost when it has not ended by the deadline. The suite fails on any
failed or lost run and any leaf executed twice.

## Figures

${passed ? 'Every scenario passed.' : '**Some scenario failed**: see the figures and notes.'}

| Scenario | Trials | Runs completed | Runs failed | Leaves executed twice | Runs lost | Re-run, outcome lost | Leaves | Kills | Sizes | Seconds |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${details.join('\n\n')}

## What was tried

- **worker-kill**: one worker; each run is started, then after a random
  0–4 s the worker is SIGKILLed and a new one started (the kill lands while
  the run materializes, mid-command, between layers, or in the next run).
- **two-workers**: two workers; a round of runs starts together and one
  worker, chosen at random, is SIGKILLed 0.5–3.5 s in and not replaced until
  the round ends: the survivor finishes everything.
- **postgres-kill**: a large run and some small ones in flight; Postgres'
  whole process group is SIGKILLed once a random share (up to 60 %) of the
  large tree is written, kept down 3–10 s, and restarted on the same data
  directory and port.
- **temporal-kill**: runs in flight and a one-shot schedule due 4 s later;
  the dev server is SIGKILLed 0.5–2 s in, kept down until past the fire (plus
  up to 5 s), and restarted on the same file and port.
- **api-kill**: every key's requests at once; the API is SIGKILLed 0–400 ms
  in and started again; clients resend their key after a lost connection or
  a 5xx. Checked: one ledger row, one root goal and one \`performRun\`
  execution per key, and every client of a key told the same run.
- **two-apis**: two APIs and two workers on the one Postgres and Temporal;
  each key's requests alternate between the APIs, all at once; one API is
  SIGKILLed 0–300 ms after its first answer (so both have served the same
  keys), one worker 0.5–2.5 s after that, neither replaced until
  the round's runs end. A request cut off by the dead API is sent again to
  the other, as a load balancer would. Checked as api-kill (one ledger row,
  root goal and \`performRun\` execution per key), plus every run done on the
  surviving worker and every tree written once.
- **supervision** (\`test/faults/supervision.test.ts\`, same suite, no
  figures here): \`npm start\` restarts each process it runs after a SIGKILL,
  and stops within a bound with Postgres dead.

## Sizes

${SIZES_TABLE}

${GUARANTEES}
`;
}

/** Writes the report from whatever figures this invocation left; returns where it went. */
export function writeReport(): string | undefined {
  const results = readResults();
  if (!results.length) return undefined;
  const complete = SCENARIOS.every((s) => results.some((r) => r.scenario === s));
  const full = results.every((r) => r.scale === 'full');
  const file = full && complete ? path.join(root, 'docs/RELIABILITY.md') : path.join(faultsDir, 'RELIABILITY.md');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, render(results, complete));
  return file;
}
