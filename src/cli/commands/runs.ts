import { InvalidArgumentError, type Command } from 'commander';
import { ZRunCreate } from '../../api/runs/schemas';
import { cliContext, collectKeyValue, idArg, parseWith, positiveInt, type TCliContext } from '../context';
import { CliError, clip, example, note, printFields, printJson, printNextPage, printTable, println, time } from '../output';
import { runState, runSucceeded, waitForRun, type TRun } from '../waitForRun';

/** `reprise workflow run`, `reprise workflow runs` and `reprise run …`: running a saved workflow and its runs (SPEC §4). */

const formatInputs = (inputs: Record<string, string>) =>
  Object.entries(inputs)
    .map(([k, v]) => `${k}=${clip(v, 40)}`)
    .join(', ');

export function printRun(run: TRun): void {
  printFields([
    ['id', run.id],
    ['number', `#${run.number}`],
    ['workflow', `${run.workflow.name} v${run.workflow.version} (${run.workflow.id})`],
    ['title', run.title],
    ['key', run.idempotency_key],
    ['inputs', formatInputs(run.inputs) || null],
    ['state', runState(run)],
    ['instantiation', run.state],
    ['root goal', run.root_goal_id],
    ['schedule', run.schedule_id ?? undefined],
    ['parent run', run.parent_run_id ?? undefined],
    // The acting agent: whose request made the run (its leaves need this agent's runtimes too).
    ['requested by', run.requested_by_agent_id ?? undefined],
    ['temporal', run.temporal.ui_url ?? run.temporal.workflow_id],
    ['created', time(run.created_at)],
    ['updated', time(run.updated_at)],
  ]);
}

export function printRunTable(runs: readonly TRun[]): void {
  printTable(
    ['#', 'run', 'key', 'state', 'title', 'requested by', 'created'],
    runs.map((r) => [String(r.number), r.id, clip(r.idempotency_key, 40), clip(runState(r), 50), clip(r.title ?? '', 40), r.requested_by_agent_id ?? '-', time(r.created_at)]),
    '(no runs)',
  );
}

/** A wait that ran out of time is not a failed run: a script can tell the two apart by the exit code. */
function parseDuration(value: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 90s, 10m or 1h.');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** After a wait: the run (JSON or fields), then exit 1 with why when it did not succeed. */
function finishWait(ctx: TCliContext, run: TRun): void {
  if (ctx.json) printJson(run);
  else printRun(run);
  if (!runSucceeded(run)) {
    const why = run.error ?? run.status.reason ?? run.status.status;
    throw new CliError(`run ${run.id} ${run.status.status}: ${why}${run.status.goal_id ? ` (goal ${run.status.goal_id})` : ''}`);
  }
}

/** `reprise workflow runs` and `reprise workflow run`, added to the `workflow` group where registerWorkflowCommands places them. */
export function registerWorkflowRunCommands(workflow: Command): void {
  workflow
    .command('runs')
    .description("List a workflow's runs, newest first")
    .argument('<id>', 'workflow id', idArg)
    .option('--limit <n>', 'page size (1-200, default 50)', positiveInt)
    .option('--cursor <cursor>', 'the next page, as the previous one printed it')
    .addHelpText('after', example(['reprise workflow runs wf_01jd3v8k2m7q9x4w5y6z7a8b9c']))
    .action(async (id: string, opts: { limit?: number; cursor?: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/workflows/{id}/runs', { params: { id }, query: { limit: opts.limit, cursor: opts.cursor } });
      if (ctx.json) return printJson(res.body);
      printRunTable(res.body.items);
      printNextPage(res.body.next_cursor);
      if (res.body.total > res.body.items.length) println(`(${res.body.total} runs in all)`);
    });

  workflow
    .command('run')
    .description('Run a workflow under an idempotency key: the same key and inputs is the same run, forever')
    .argument('<id>', 'workflow id', idArg)
    .requiredOption('--key <key>', 'the idempotency key (e.g. the date it is for)')
    .option('--input <name=value>', 'a value for a declared input (repeatable)', collectKeyValue)
    .option('--wait', 'wait for the run to end, with progress on stderr; exit 1 unless it succeeds')
    .option('--timeout <duration>', 'with --wait: give up waiting after this long (e.g. 10m; exit 3, the run goes on)', parseDuration)
    .addHelpText(
      'after',
      example([
        'reprise workflow run wf_01jd3v8k2m7q9x4w5y6z7a8b9c --key 2026-11-22 --input day=2026-11-22',
        'reprise workflow run wf_01jd3v8k2m7q9x4w5y6z7a8b9c --key "$(date +%F)" --wait --timeout 30m',
        'reprise --json workflow run wf_01jd3v8k2m7q9x4w5y6z7a8b9c --key k1 --wait | jq .status',
      ]),
    )
    .action(async (id: string, opts: { key: string; input?: Record<string, string>; wait?: boolean; timeout?: number }, cmd: Command) => {
      const body = parseWith(ZRunCreate, { idempotency_key: opts.key, inputs: opts.input ?? {} }, 'the run');
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('post', '/api/workflows/{id}/runs', { params: { id }, body });
      const { run, created } = res.body;
      if (!opts.wait) {
        if (ctx.json) return printJson(res.body);
        if (!created) note(`(key ${run.idempotency_key} already had this run: nothing new was started)`);
        return printRun(run);
      }
      note(created ? `started run ${run.id}` : `run ${run.id} already exists under key ${run.idempotency_key}; waiting for it`);
      finishWait(ctx, await waitForRun(ctx, run.id, opts.timeout));
    });
}

/** `reprise run …`: one run. */
export function registerRunCommands(program: Command): void {
  const run = program.command('run').description('Inspect one run (a workflow instantiation)');
  run.addHelpText('after', example(['reprise run show run_01jd3v8k2m7q9x4w5y6z7a8b9c', 'reprise run wait run_01jd3v8k2m7q9x4w5y6z7a8b9c']));

  run
    .command('show')
    .description('Show a run: its state, root goal and where to see it in Temporal')
    .argument('<id>', 'run id', idArg)
    .addHelpText('after', example(['reprise run show run_01jd3v8k2m7q9x4w5y6z7a8b9c', 'reprise goal tree "$(reprise --json run show run_01jd3v8k2m7q9x4w5y6z7a8b9c | jq -r .root_goal_id)"']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/runs/{id}', { params: { id } });
      if (ctx.json) return printJson(res.body);
      printRun(res.body);
    });

  run
    .command('wait')
    .description('Wait for a run to end, with progress on stderr; exit 1 unless it succeeds')
    .argument('<id>', 'run id', idArg)
    .option('--timeout <duration>', 'give up waiting after this long (e.g. 10m; exit 3, the run goes on)', parseDuration)
    .addHelpText('after', example(['reprise run wait run_01jd3v8k2m7q9x4w5y6z7a8b9c --timeout 30m']))
    .action(async (id: string, opts: { timeout?: number }, cmd: Command) => {
      const ctx = cliContext(cmd);
      finishWait(ctx, await waitForRun(ctx, id, opts.timeout));
    });
}
