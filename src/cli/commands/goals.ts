import { Option, type Command } from 'commander';
import { TREE_DEPTH, TREE_LIMIT, ZGoalAccept, ZGoalCompletion, ZGoalCreate, ZGoalReject } from '../../api/goals/schemas';
import type { components } from '../../generated/api';
import { assertNever } from '../../domain/assertNever';
import { GOAL_LIFECYCLES, WAIT_KINDS } from '../../domain/goals';
import { ZPlan } from '../../domain/plans';
import { isRuntime } from '../../domain/runtimes';
import { cliContext, idArg, nonNegativeInt, parseJsonText, parseWith, positiveInt, readJsonFile } from '../context';
import { clip, example, note, printFields, printJson, printable, printNextPage, printTable, println, time, UsageError } from '../output';

/** `reprise goal …`: goals over /api/goals (SPEC §2, §6). */

type TGoal = components['schemas']['Goal'];
type TGoalTree = components['schemas']['GoalTree'];

/** What a goal's one-line state needs (goals, summaries and tree nodes all have it). */
interface TGoalView {
  id: string;
  title: string;
  kind: string;
  key: string | null;
  lifecycle: string;
  done_reason: string | null;
  failure_reason: string | null;
  block_reason: string | null;
  waiting_for: string | null;
}

/** `done (accepted)`, `failed: why`, `blocked (judgment): why`. */
export function goalState(g: TGoalView): string {
  if (g.lifecycle === 'done') return g.done_reason ? `done (${g.done_reason})` : 'done';
  if (g.lifecycle === 'failed') return g.failure_reason ? `failed: ${g.failure_reason}` : 'failed';
  if (g.lifecycle === 'blocked') return `blocked${g.waiting_for ? ` (${g.waiting_for})` : ''}${g.block_reason ? `: ${g.block_reason}` : ''}`;
  if (g.lifecycle === 'active' && g.waiting_for) return `active (waiting for ${g.waiting_for})`;
  return g.lifecycle;
}

function describeAction(action: Record<string, unknown> | null): string | null {
  if (!action) return null;
  const runtime = action.runtime;
  // A runtime this CLI does not know (a newer server's) is shown by name.
  if (!isRuntime(runtime)) return String(runtime);
  switch (runtime) {
    case 'shell':
      return `shell: ${clip(String(action.command), 100)}`;
    case 'http':
      return `http: ${String(action.method ?? 'GET')} ${String(action.url)}`;
    case 'manual':
    case 'agent':
      return runtime;
    default:
      return assertNever(runtime, 'runtime');
  }
}

function describeOutput(output: unknown, max = 200): string | null {
  if (output === null || output === undefined) return null;
  return clip(JSON.stringify(output), max);
}

export function printGoal(g: TGoal): void {
  printFields([
    ['id', g.id],
    ['title', g.title],
    ['kind', g.kind],
    ['state', goalState(g)],
    ['key', g.key ?? undefined],
    ['parent', g.parent_id ?? undefined],
    ['root', g.root_id === g.id ? undefined : g.root_id],
    ['agent', g.agent_id],
    ['action', describeAction(g.action) ?? undefined],
    ['output', describeOutput(g.output) ?? undefined],
    ['workflow', g.attribution ? `${g.attribution.workflow_id} v${g.attribution.workflow_version ?? '?'}${g.attribution.run_id ? ` (run ${g.attribution.run_id})` : ''}` : undefined],
    ['temporal', g.temporal.ui_url ?? g.temporal.workflow_id ?? undefined],
    ['created', time(g.created_at)],
    ['started', time(g.started_at)],
    ['finished', time(g.finished_at)],
  ]);
}

/**
 * One line per goal, children indented under their parent with box-drawing
 * branches; with `output`, each goal that has one gets a second line with it
 * (one line, clipped: `goal show` has the whole of it, `--json` too).
 */
export function formatTree(root: TGoalTree, options: { output?: boolean } = {}): string {
  const lines: string[] = [];
  const walk = (g: TGoalTree, prefix: string, branch: string) => {
    lines.push(`${prefix}${branch}${printable(g.title)}  [${printable(goalState(g))}]  ${g.id}`);
    const childPrefix = prefix + (branch === '' ? '' : branch === '└─ ' ? '   ' : '│  ');
    // Children the read left out (past --depth or --limit) are counted where they would be.
    const hidden = g.child_count - g.children.length;
    const output = options.output ? describeOutput(g.output) : null;
    if (output) lines.push(`${childPrefix}${g.children.length || hidden > 0 ? '│  ' : '   '}output: ${output}`);
    g.children.forEach((c, i) => walk(c, childPrefix, i === g.children.length - 1 && hidden <= 0 ? '└─ ' : '├─ '));
    if (hidden > 0) lines.push(`${childPrefix}└─ +${hidden} more`);
  };
  walk(root, '', '');
  return lines.join('\n');
}

/** Goals in a tree, by lifecycle. */
export function countTree(root: TGoalTree): { total: number; byLifecycle: Record<string, number> } {
  const byLifecycle: Record<string, number> = {};
  let total = 0;
  const walk = (g: TGoalTree) => {
    total += 1;
    byLifecycle[g.lifecycle] = (byLifecycle[g.lifecycle] ?? 0) + 1;
    g.children.forEach(walk);
  };
  walk(root);
  return { total, byLifecycle };
}

/**
 * The answer to a start, complete, accept, reject or cancel: the goal as the
 * API saw it when it took the request, before the goal's Temporal workflow
 * acts on it, so its state is not repeated here (it would look unchanged).
 */
function oneLine(verb: string, g: TGoalView): void {
  println(`${verb} goal ${g.id} "${clip(g.title)}" (reprise goal show ${g.id} follows it)`);
}

export function registerGoalCommands(program: Command): void {
  const goal = program.command('goal').description('Create, inspect and drive goals (trees of work)');
  goal.addHelpText('after', example(['reprise goal create --title "Say hi" --command "echo hi"', 'reprise goal tree goal_01jd3v8k2m7q9x4w5y6z7a8b9c']));

  goal
    .command('create')
    .description('Create a goal: a shell leaf (--command), a composite (--plan), or any body of POST /api/goals (--file)')
    .option('-f, --file <file>', 'the JSON body of POST /api/goals (`-` reads stdin)')
    .option('--title <title>', 'the title')
    .option('--intent <text>', 'what the goal is for')
    .option('--command <shell>', 'make a leaf that runs this shell command')
    .option('--plan <file>', 'make a composite with this plan (JSON: {children, edges}; `-` reads stdin)')
    .option('--no-start', 'create it as a draft instead of starting it at once')
    .addHelpText(
      'after',
      example([
        'reprise goal create --title "Nightly report" --command "make report"',
        'reprise goal create --title "Release" --plan plan.json',
        'reprise goal create --file goal.json --no-start',
        `echo '{"title":"Hi","action":{"runtime":"shell","command":"echo hi"}}' | reprise goal create -f -`,
      ]),
    )
    .action(async (opts: { file?: string; title?: string; intent?: string; command?: string; plan?: string; start: boolean }, cmd: Command) => {
      let raw: unknown;
      const startGiven = cmd.getOptionValueSource('start') === 'cli';
      if (opts.file !== undefined) {
        if (opts.title !== undefined || opts.intent !== undefined || opts.command !== undefined || opts.plan !== undefined) {
          throw new UsageError('--file is the whole goal: leave out --title, --intent, --command and --plan (or put them in the file)');
        }
        raw = readJsonFile(opts.file);
        if (startGiven && raw && typeof raw === 'object' && !Array.isArray(raw)) raw = { ...raw, start: false };
      } else {
        if (opts.title === undefined) throw new UsageError('give --title (or the whole goal with --file)');
        if (opts.command !== undefined && opts.plan !== undefined) throw new UsageError('a goal is a leaf (--command) or a composite (--plan), not both');
        const common = { title: opts.title, ...(opts.intent !== undefined ? { intent: opts.intent } : {}), start: opts.start };
        raw =
          opts.command !== undefined
            ? { ...common, kind: 'leaf', action: { runtime: 'shell', command: opts.command } }
            : { ...common, kind: 'composite', ...(opts.plan !== undefined ? { plan: readJsonFile(opts.plan) } : {}) };
      }
      const body = parseWith(ZGoalCreate, raw, 'the goal');
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('post', '/api/goals', { body });
      if (ctx.json) return printJson(res.body);
      printGoal(res.body);
    });

  goal
    .command('list')
    .description('List your goals, newest first')
    .addOption(new Option('--lifecycle <state>', 'only goals in this state').choices(GOAL_LIFECYCLES))
    .addOption(new Option('--waiting-for <what>', 'only goals waiting for this').choices(WAIT_KINDS))
    .option('--root-only', 'only goals without a parent (tree roots)')
    .option('--workflow <id>', 'only goals that came from this workflow')
    .option('--claimable', 'only agent leaves with no live lease (the agent pool)')
    .option('--limit <n>', 'page size (1-200, default 50)', positiveInt)
    .option('--cursor <cursor>', 'the next page, as the previous one printed it')
    .addHelpText('after', example(['reprise goal list --root-only --lifecycle active', 'reprise goal list --waiting-for judgment --json']))
    .action(
      async (
        opts: { lifecycle?: (typeof GOAL_LIFECYCLES)[number]; waitingFor?: (typeof WAIT_KINDS)[number]; rootOnly?: boolean; workflow?: string; claimable?: boolean; limit?: number; cursor?: string },
        cmd: Command,
      ) => {
        const ctx = cliContext(cmd);
        const res = await ctx.client.call('get', '/api/goals', {
          query: {
            lifecycle: opts.lifecycle,
            waiting_for: opts.waitingFor,
            root_only: opts.rootOnly ? 'true' : undefined,
            workflow_id: opts.workflow,
            claimable: opts.claimable ? 'true' : undefined,
            limit: opts.limit,
            cursor: opts.cursor,
          },
        });
        if (ctx.json) return printJson(res.body);
        printTable(
          ['id', 'kind', 'state', 'title', 'created'],
          res.body.items.map((g) => [g.id, g.kind, clip(goalState(g), 40), clip(g.title), time(g.created_at)]),
          '(no goals)',
        );
        printNextPage(res.body.next_cursor);
      },
    );

  goal
    .command('show')
    .description('Show one goal (with its action and output)')
    .argument('<id>', 'goal id', idArg)
    .addHelpText('after', example(['reprise goal show goal_01jd3v8k2m7q9x4w5y6z7a8b9c']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/goals/{id}', { params: { id } });
      if (ctx.json) return printJson(res.body);
      printGoal(res.body);
    });

  goal
    .command('tree')
    .description('Show a goal and everything under it (as deep and as many goals as the bounds allow)')
    .argument('<id>', 'goal id', idArg)
    .option('--depth <n>', `levels below the goal (0-${TREE_DEPTH.max}, default ${TREE_DEPTH.fallback})`, nonNegativeInt)
    .option('--limit <n>', `goals at most, breadth first (1-${TREE_LIMIT.max}, default ${TREE_LIMIT.fallback})`, positiveInt)
    .option('--output', "with each goal's output: a line under each goal that has one (clipped; whole with --json)")
    .addHelpText(
      'after',
      example(['reprise goal tree goal_01jd3v8k2m7q9x4w5y6z7a8b9c', 'reprise goal tree goal_01jd3v8k2m7q9x4w5y6z7a8b9c --depth 2 --limit 200 --output', 'reprise --json goal tree goal_01jd3v8k2m7q9x4w5y6z7a8b9c --output']),
    )
    .action(async (id: string, opts: { depth?: number; limit?: number; output?: boolean }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/goals/{id}/tree', {
        params: { id },
        query: { depth: opts.depth, limit: opts.limit, include: opts.output ? 'output' : undefined },
      });
      if (ctx.json) return printJson(res.body);
      println(formatTree(res.body, { output: opts.output === true }));
      if (res.body.truncated) {
        note(`(${res.body.goals.shown} of ${res.body.goals.total} goals shown: "+N more" marks where; read deeper with --depth and --limit, or the tree of a goal shown)`);
      }
    });

  goal
    .command('plan')
    .description('Install the plan of an unplanned composite (once: a second plan is refused)')
    .argument('<id>', 'goal id', idArg)
    .requiredOption('-f, --file <file>', 'the plan as JSON: {children, edges?, parallelism?} (`-` reads stdin)')
    .addHelpText('after', example(['reprise goal plan goal_01jd3v8k2m7q9x4w5y6z7a8b9c --file plan.json']))
    .action(async (id: string, opts: { file: string }, cmd: Command) => {
      const body = parseWith(ZPlan, readJsonFile(opts.file), 'the plan');
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('post', '/api/goals/{id}/plan', { params: { id }, body });
      if (ctx.json) return printJson(res.body);
      oneLine('Planned', res.body);
    });

  goal
    .command('start')
    .description('Start a draft goal')
    .argument('<id>', 'goal id', idArg)
    .addHelpText('after', example(['reprise goal start goal_01jd3v8k2m7q9x4w5y6z7a8b9c']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('post', '/api/goals/{id}/start', { params: { id } });
      if (ctx.json) return printJson(res.body);
      oneLine('Started', res.body);
    });

  goal
    .command('complete')
    .description('Report the result of a leaf carried out by a person or an agent')
    .argument('<id>', 'goal id', idArg)
    .option('--failed', 'it failed (default: it succeeded)')
    .option('--output <json>', 'the result, a JSON object (at most 64 KiB); `when` edges read it')
    .option('--reason <text>', 'why it failed')
    .option('--worker <id>', 'agent leaves: the worker holding the lease')
    .addHelpText('after', example(['reprise goal complete goal_01jd3v8k2m7q9x4w5y6z7a8b9c --output \'{"rows": 42}\'', 'reprise goal complete goal_01jd3v8k2m7q9x4w5y6z7a8b9c --failed --reason "disk full"']))
    .action(async (id: string, opts: { failed?: boolean; output?: string; reason?: string; worker?: string }, cmd: Command) => {
      const body = parseWith(
        ZGoalCompletion,
        {
          outcome: opts.failed ? 'failed' : 'succeeded',
          ...(opts.output !== undefined ? { output: parseJsonText(opts.output, '--output') } : {}),
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
          ...(opts.worker !== undefined ? { worker: opts.worker } : {}),
        },
        'the completion',
      );
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('post', '/api/goals/{id}/complete', { params: { id }, body });
      if (ctx.json) return printJson(res.body);
      oneLine('Completed', res.body);
    });

  goal
    .command('accept')
    .description('Accept a goal waiting for judgment')
    .argument('<id>', 'goal id', idArg)
    .option('--reason <text>', 'why (kept with the goal)')
    .addHelpText('after', example(['reprise goal accept goal_01jd3v8k2m7q9x4w5y6z7a8b9c --reason "looks right"']))
    .action(async (id: string, opts: { reason?: string }, cmd: Command) => {
      const body = parseWith(ZGoalAccept, opts.reason !== undefined ? { reason: opts.reason } : {}, 'the acceptance');
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('post', '/api/goals/{id}/accept', { params: { id }, body });
      if (ctx.json) return printJson(res.body);
      oneLine('Accepted', res.body);
    });

  goal
    .command('reject')
    .description('Reject a goal waiting for judgment (it fails with your reason)')
    .argument('<id>', 'goal id', idArg)
    .requiredOption('--reason <text>', 'why it is rejected')
    .addHelpText('after', example(['reprise goal reject goal_01jd3v8k2m7q9x4w5y6z7a8b9c --reason "numbers are off"']))
    .action(async (id: string, opts: { reason: string }, cmd: Command) => {
      const body = parseWith(ZGoalReject, { reason: opts.reason }, 'the rejection');
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('post', '/api/goals/{id}/reject', { params: { id }, body });
      if (ctx.json) return printJson(res.body);
      oneLine('Rejected', res.body);
    });

  goal
    .command('cancel')
    .description('Cancel a goal and everything under it')
    .argument('<id>', 'goal id', idArg)
    .addHelpText('after', example(['reprise goal cancel goal_01jd3v8k2m7q9x4w5y6z7a8b9c']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('post', '/api/goals/{id}/cancel', { params: { id } });
      if (ctx.json) return printJson(res.body);
      oneLine('Cancelled', res.body);
    });
}
