import { InvalidArgumentError, type Command } from 'commander';
import { ZSaveAsWorkflow } from '../../api/workflows/schemas';
import type { components } from '../../generated/api';
import { cliContext, idArg, parseWith, positiveInt } from '../context';
import { clip, example, printFields, printJson, printNextPage, printTable, println, time } from '../output';

/** `reprise workflow …`: saved workflows (SPEC §3). Running one and its runs are in runs.ts. */

type TWorkflowInput = components['schemas']['WorkflowInput'];

/** `target`, `target:required`, `region=eu-west-1` (a default), `region:required=eu-west-1`. */
export function parseInputDeclaration(value: string, previous: TWorkflowInput[] = []): TWorkflowInput[] {
  const m = /^([A-Za-z0-9_-]+)(:required)?(?:=([\s\S]*))?$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected name, name:required or name=default.');
  return [...previous, { name: m[1]!, ...(m[2] ? { required: true } : {}), ...(m[3] !== undefined ? { default: m[3] } : {}) }];
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
    ['needs', wf.required_runtimes.join(' ') || '(no runtimes)'],
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

/**
 * `runCommands` adds `workflow runs` and `workflow run` (commands/runs.ts) to
 * the group, after `show`: where `reprise workflow --help` has always listed them.
 */
export function registerWorkflowCommands(program: Command, runCommands: (workflow: Command) => void): void {
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

  runCommands(workflow);

  workflow
    .command('delete')
    .description('Delete a workflow version (refused while it has runs or an enabled schedule; paused ones go with it)')
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
}
