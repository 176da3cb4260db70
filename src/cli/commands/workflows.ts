import { InvalidArgumentError, type Command } from 'commander';
import { ZRunCreate } from '../../api/runs/schemas';
import { ZSaveAsWorkflow } from '../../api/workflows/schemas';
import { ApiError } from '../../client/http';
import type { components } from '../../generated/api';
import { cliContext, collectKeyValue, idArg, parseWith, positiveInt, type TCliContext } from '../context';
import { CliError, clip, example, EXIT, networkErrorCode, note, printFields, printJson, printNextPage, printTable, println, time } from '../output';

/** `reprise workflow …` and `reprise run …`: saved workflows and their runs (SPEC §3-4). */

type TRun = components['schemas']['Run'];
type TWorkflowInput = components['schemas']['WorkflowInput'];

/** `target`, `target:required`, `region=eu-west-1` (a default), `region:required=eu-west-1`. */
export function parseInputDeclaration(value: string, previous: TWorkflowInput[] = []): TWorkflowInput[] {
  const m = /^([A-Za-z0-9_-]+)(:required)?(?:=([\s\S]*))?$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected name, name:required or name=default.');
  return [...previous, { name: m[1]!, ...(m[2] ? { required: true } : {}), ...(m[3] !== undefined ? { default: m[3] } : {}) }];
}

/** `done (accepted)`, `failed: why`, `pending`. */
export function runState(run: TRun): string {
  const { status, reason } = run.status;
  if (run.state === 'failed' && run.error) return `failed: ${run.error}`;
  return reason ? `${status}${status === 'done' ? ` (${reason})` : `: ${reason}`}` : status;
}

const TERMINAL_STATUSES = new Set(['done', 'failed', 'cancelled', 'skipped']);

/** Whether a run has ended, either way: its tree finished, or instantiation itself failed or was skipped. */
export function runEnded(run: TRun): boolean {
  return TERMINAL_STATUSES.has(run.status.status) || run.state === 'failed' || run.state === 'skipped';
}

export function runSucceeded(run: TRun): boolean {
  return run.status.status === 'done' && run.state === 'done';
}

const formatInputs = (inputs: Record<string, string>) =>
  Object.entries(inputs)
    .map(([k, v]) => `${k}=${clip(v, 40)}`)
    .join(', ');

export function printRun(run: TRun): void {
  printFields([
    ['id', run.id],
    ['workflow', `${run.workflow.name} v${run.workflow.version} (${run.workflow.id})`],
    ['title', run.title],
    ['key', run.idempotency_key],
    ['inputs', formatInputs(run.inputs) || null],
    ['state', runState(run)],
    ['instantiation', run.state],
    ['root goal', run.root_goal_id],
    ['schedule', run.schedule_id ?? undefined],
    ['parent run', run.parent_run_id ?? undefined],
    ['temporal', run.temporal.ui_url ?? run.temporal.workflow_id],
    ['created', time(run.created_at)],
    ['updated', time(run.updated_at)],
  ]);
}

export function printRunTable(runs: readonly TRun[]): void {
  printTable(
    ['run', 'key', 'state', 'title', 'created'],
    runs.map((r) => [r.id, clip(r.idempotency_key, 40), clip(runState(r), 50), clip(r.title ?? '', 40), time(r.created_at)]),
    '(no runs)',
  );
}

type TWorkflow = components['schemas']['Workflow'];

function printWorkflow(wf: TWorkflow): void {
  printFields([
    ['id', wf.id],
    ['name', wf.name],
    ['version', wf.version],
    ['description', wf.description ?? undefined],
    ['agent', wf.agent_id],
    ['fully frozen', wf.fully_frozen ? 'yes' : 'no (runs wait for plans: schedule with --allow-replan)'],
    ['runs', wf.run_count],
    ['source goal', wf.source_goal_id],
    ['source run', wf.source_run_id ?? undefined],
    ['content hash', wf.content_hash],
    ['created', time(wf.created_at)],
  ]);
  println();
  printTable(
    ['input', 'required', 'default', 'description'],
    wf.inputs.map((i) => [i.name, i.required ? 'yes' : 'no', i.default ?? null, clip(i.description ?? '', 60)]),
    '(no declared inputs)',
  );
}

/** Above this many goals, --wait shows counts only (it never reads a big tree twice a second). */
const TREE_TITLES_MAX = 200;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A wait that ran out of time is not a failed run: a script can tell the two apart by the exit code. */
function parseDuration(value: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 90s, 10m or 1h.');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** Errors worth another poll: the API restarting or saturated, not a refusal. */
function isTransient(err: unknown): boolean {
  return networkErrorCode(err) !== undefined || (err instanceof ApiError && (err.status >= 500 || err.status === 429));
}

/** What the tree is doing now: its open leaves (or blocked goals), by title. */
function currentWork(tree: components['schemas']['GoalTree']): string {
  const running: string[] = [];
  const blocked: string[] = [];
  const walk = (g: components['schemas']['GoalTree']) => {
    if (g.lifecycle === 'blocked') blocked.push(g.title);
    else if (g.lifecycle === 'active' && g.kind === 'leaf') running.push(g.title);
    g.children.forEach(walk);
  };
  walk(tree);
  const list = (names: string[]) => `${names.slice(0, 3).map((n) => clip(n, 30)).join(', ')}${names.length > 3 ? ` +${names.length - 3}` : ''}`;
  return [running.length ? `running ${list(running)}` : '', blocked.length ? `blocked ${list(blocked)}` : ''].filter(Boolean).join('; ');
}

/**
 * Polls the run (and its tree, for the counts) about every 500 ms until it
 * ends, drawing one progress line on stderr: redrawn in place on a
 * terminal, a new line only when it changes otherwise (logs stay readable).
 */
export async function waitForRun(ctx: TCliContext, runId: string, timeoutMs: number | undefined): Promise<TRun> {
  const tty = process.stderr.isTTY === true;
  const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  let shown = '';
  let unreachableSince: number | undefined;
  const show = (line: string) => {
    if (line === shown) return;
    shown = line;
    process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  };
  const endLine = () => {
    if (tty && shown) process.stderr.write('\n');
  };
  const interrupted = () => {
    endLine();
    note(`reprise: stopped waiting; run ${runId} goes on (reprise run show ${runId})`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  try {
    for (;;) {
      let run: TRun;
      try {
        run = (await ctx.client.call('get', '/api/runs/{id}', { params: { id: runId } })).body;
        unreachableSince = undefined;
      } catch (err) {
        // Ride out an API restart for a while; a refusal (4xx) ends the wait at once.
        if (!isTransient(err)) throw err;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > 60_000) throw err;
        show(`run ${runId}: API not answering (${err instanceof ApiError ? `HTTP ${err.status}` : networkErrorCode(err)}), retrying…`);
        await sleep(1000);
        continue;
      }
      let progress = '';
      const p = run.progress;
      if (p && p.goals) {
        // Counts come with the run (one grouped query); the titles of what runs now only for a small tree.
        const failed = (p.by_lifecycle.failed ?? 0) + (p.by_lifecycle.cancelled ?? 0);
        progress = `  ${p.by_lifecycle.done ?? 0}/${p.goals} goals done${failed ? `, ${failed} failed or cancelled` : ''}`;
        if (p.current_layer !== null && !runEnded(run)) progress += `, layer ${p.current_layer} of ${p.layers - 1}`;
        if (run.root_goal_id && p.goals <= TREE_TITLES_MAX && !runEnded(run)) {
          const tree = await ctx.client.call('get', '/api/goals/{id}/tree', { params: { id: run.root_goal_id } }).then(
            (r) => r.body,
            () => undefined,
          );
          const now = tree ? currentWork(tree) : '';
          if (now) progress += `  ${now}`;
        }
      }
      show(`run ${run.id}: ${clip(runState(run), 80)}${progress}`);
      if (runEnded(run)) {
        endLine();
        return run;
      }
      if (deadline !== undefined && Date.now() >= deadline) {
        endLine();
        throw new CliError(`run ${run.id} is still ${run.status.status} after the --timeout; it goes on (reprise run show ${run.id})`, EXIT.timedOut);
      }
      await sleep(500);
    }
  } finally {
    process.removeListener('SIGINT', interrupted);
  }
}

/** After a wait: the run (JSON or fields), then exit 1 with why when it did not succeed. */
function finishWait(ctx: TCliContext, run: TRun): void {
  if (ctx.json) printJson(run);
  else printRun(run);
  if (!runSucceeded(run)) {
    const why = run.error ?? run.status.reason ?? run.status.status;
    throw new CliError(`run ${run.id} ${run.status.status === 'done' ? run.state : run.status.status}: ${why}${run.status.goal_id ? ` (goal ${run.status.goal_id})` : ''}`);
  }
}

export function registerWorkflowCommands(program: Command): void {
  const workflow = program.command('workflow').description('Save accepted goal trees as workflows, run and inspect them');
  workflow.addHelpText('after', example(['reprise workflow save goal_01jd3v8k2m7q9x4w5y6z7a8b9c --name nightly-report --input day:required', 'reprise workflow run wf_01jd3v8k2m7q9x4w5y6z7a8b9c --key 2026-11-22 --input day=2026-11-22 --wait']));

  workflow
    .command('save')
    .description('Save a finished (accepted) goal tree as a new workflow, or the next version of NAME')
    .argument('<goal-id>', 'the root of the accepted tree', idArg)
    .requiredOption('--name <name>', 'the workflow name (a slug: a-z 0-9 _ -); saving it again makes its next version')
    .option('--description <text>', 'what it does')
    .option('--input <decl>', 'a declared input, used as {{inputs.NAME}}: NAME, NAME:required or NAME=default (repeatable)', parseInputDeclaration)
    .addHelpText('after', example(['reprise workflow save goal_01jd3v8k2m7q9x4w5y6z7a8b9c --name release --input target:required --input region=eu-west-1']))
    .action(async (goalId: string, opts: { name: string; description?: string; input?: TWorkflowInput[] }, cmd: Command) => {
      const body = parseWith(
        ZSaveAsWorkflow,
        { name: opts.name, ...(opts.description !== undefined ? { description: opts.description } : {}), ...(opts.input ? { inputs: opts.input } : {}) },
        'the workflow',
      );
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('post', '/api/goals/{id}/save-as-workflow', { params: { id: goalId }, body });
      if (ctx.json) return printJson(res.body);
      printWorkflow(res.body);
    });

  workflow
    .command('list')
    .description('List workflows (every version), newest first')
    .option('--name <name>', 'only the versions of this name')
    .option('--limit <n>', 'page size (1-200, default 50)', positiveInt)
    .option('--cursor <cursor>', 'the next page, as the previous one printed it')
    .addHelpText('after', example(['reprise workflow list', 'reprise workflow list --name nightly-report --json']))
    .action(async (opts: { name?: string; limit?: number; cursor?: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/workflows', { query: { name: opts.name, limit: opts.limit, cursor: opts.cursor } });
      if (ctx.json) return printJson(res.body);
      printTable(
        ['id', 'name', 'version', 'inputs', 'frozen', 'runs', 'created'],
        res.body.items.map((w) => [w.id, w.name, w.version, w.inputs.map((i) => `${i.name}${i.required ? '*' : ''}`).join(',') || null, w.fully_frozen ? 'yes' : 'no', w.run_count, time(w.created_at)]),
        '(no workflows)',
      );
      printNextPage(res.body.next_cursor);
    });

  workflow
    .command('show')
    .description('Show a workflow version and its declared inputs (--json has the frozen plan)')
    .argument('<id>', 'workflow id', idArg)
    .addHelpText('after', example(['reprise workflow show wf_01jd3v8k2m7q9x4w5y6z7a8b9c']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/workflows/{id}', { params: { id } });
      if (ctx.json) return printJson(res.body);
      printWorkflow(res.body);
    });

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

  workflow
    .command('delete')
    .description('Delete a workflow version (refused while schedules use it)')
    .argument('<id>', 'workflow id', idArg)
    .addHelpText('after', example(['reprise workflow delete wf_01jd3v8k2m7q9x4w5y6z7a8b9c']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      await ctx.client.call('delete', '/api/workflows/{id}', { params: { id } });
      if (ctx.json) return printJson({ deleted: id });
      println(`Deleted workflow ${id}`);
    });

  workflow
    .command('diff')
    .description('Compare two versions of one workflow name, goal by goal and edge by edge')
    .argument('<id>', 'workflow id (the newer side)', idArg)
    .requiredOption('--against <id>', 'the other version (the older side)', idArg)
    .addHelpText('after', example(['reprise workflow diff wf_01jd3v8k2m7q9x4w5y6z7a8b9c --against wf_01jd3v8k2m7q9x4w5y6z7a8b9d']))
    .action(async (id: string, opts: { against: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/workflows/{id}/diff', { params: { id }, query: { against: opts.against } });
      const d = res.body;
      if (ctx.json) return printJson(d);
      println(`${d.workflow.id} (v${d.workflow.version}) against ${d.against.id} (v${d.against.version}): ${d.identical ? 'identical' : 'different'}`);
      const show = (v: unknown) => clip(JSON.stringify(v) ?? 'undefined', 60);
      for (const g of d.goals.added) println(`+ goal ${g.path} (${g.kind}) ${clip(g.title)}`);
      for (const g of d.goals.removed) println(`- goal ${g.path} (${g.kind}) ${clip(g.title)}`);
      for (const g of d.goals.changed) for (const f of g.fields) println(`~ goal ${g.path} ${f.field}: ${show(f.from)} → ${show(f.to)}`);
      for (const e of d.edges.added) println(`+ edge ${e.parent_path}: ${e.from} → ${e.to} (${show(e.on)})`);
      for (const e of d.edges.removed) println(`- edge ${e.parent_path}: ${e.from} → ${e.to} (${show(e.on)})`);
    });

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
