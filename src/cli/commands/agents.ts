import { InvalidArgumentError, type Command } from 'commander';
import { AGENT_NAME_PATTERN, ZAgentCreate, ZAgentUpdate } from '../../api/agents/schemas';
import { AGENT_ID_PATTERN } from '../../domain/ids';
import { isRuntime, RUNTIME_NAMES } from '../../domain/runtimes';
import type { components } from '../../generated/api';
import { cliContext, parseWith, positiveInt } from '../context';
import { example, printFields, printJson, printNextPage, printTable, println, time } from '../output';

/**
 * `reprise agent …`: who runs leaves, with which runtimes and limits (SPEC §1).
 * Over the API: list and show need goals:read; create, update and delete
 * need an admin token.
 */

type TAgent = components['schemas']['Agent'];
type TRuntimeName = (typeof RUNTIME_NAMES)[number];

function collectRuntime(value: string, previous: TRuntimeName[] = []): TRuntimeName[] {
  if (!isRuntime(value)) throw new InvalidArgumentError(`expected one of ${RUNTIME_NAMES.join(', ')}.`);
  return [...previous, value];
}

/** An agent as every command names it: by id (`agent_…`) or by name (names never look like ids). */
function agentArg(value: string): string {
  if (!AGENT_ID_PATTERN.test(value) && !AGENT_NAME_PATTERN.test(value)) throw new InvalidArgumentError('expected an agent id such as agent_default or an agent name such as nightly-bot.');
  return value;
}

function printAgent(a: TAgent): void {
  printFields([
    ['id', a.id],
    ['name', a.name],
    ['runtimes', a.allowed_runtimes.join(' ') || '(none)'],
    ['max depth', a.max_depth],
    ['max children', a.max_children],
    ['max goals', a.max_goals],
    ['parallelism', a.default_parallelism],
    ['created', time(a.created_at)],
  ]);
}

interface TSettingsOptions {
  runtime?: TRuntimeName[];
  maxDepth?: number;
  maxChildren?: number;
  maxGoals?: number;
  parallelism?: number;
}

/** The options create and update share, as the API's body. */
function settingsBody(opts: TSettingsOptions) {
  return {
    ...(opts.runtime ? { allowed_runtimes: opts.runtime } : {}),
    ...(opts.maxDepth !== undefined ? { max_depth: opts.maxDepth } : {}),
    ...(opts.maxChildren !== undefined ? { max_children: opts.maxChildren } : {}),
    ...(opts.maxGoals !== undefined ? { max_goals: opts.maxGoals } : {}),
    ...(opts.parallelism !== undefined ? { default_parallelism: opts.parallelism } : {}),
  };
}

function withSettingsOptions(command: Command, runtimeHelp: string): Command {
  return command
    .option('--runtime <runtime>', `${runtimeHelp} (repeatable): ${RUNTIME_NAMES.join(', ')}`, collectRuntime)
    .option('--max-depth <n>', 'deepest goal below a root', positiveInt)
    .option('--max-children <n>', 'children per composite', positiveInt)
    .option('--max-goals <n>', 'goals per tree', positiveInt)
    .option('--parallelism <n>', "children of a composite running at once when its plan sets none (the agent's default)", positiveInt);
}

export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description('Agents: who runs leaves, with which runtimes and limits');
  agent.addHelpText('after', example(['reprise agent create nightly-bot --runtime http --runtime manual', 'reprise agent update agent_01jd3v8k2m7q9x4w5y6z7a8b9c --runtime manual']));

  withSettingsOptions(
    agent
      .command('create')
      .description('Create an agent for your user (admin scope); without --runtime it may use http, manual and agent, not shell')
      .argument('<name>', 'a unique name: letters, digits, . @ -'),
    'a runtime it may use',
  )
    .addHelpText('after', example(['reprise agent create nightly-bot', 'reprise agent create builder --runtime shell --runtime http --max-depth 4 --parallelism 10']))
    .action(async (name: string, opts: TSettingsOptions, cmd: Command) => {
      const body = parseWith(ZAgentCreate, { name, ...settingsBody(opts) }, 'the agent');
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('post', '/api/agents', { body });
      if (ctx.json) return printJson(res.body);
      printAgent(res.body);
    });

  agent
    .command('list')
    .description("List your user's agents, newest first")
    .option('--limit <n>', 'page size (1-200, default 50)', positiveInt)
    .option('--cursor <cursor>', 'the next page, as the previous one printed it')
    .addHelpText('after', example(['reprise agent list', 'reprise agent list --json']))
    .action(async (opts: { limit?: number; cursor?: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/agents', { query: { limit: opts.limit, cursor: opts.cursor } });
      if (ctx.json) return printJson(res.body);
      printTable(
        ['id', 'name', 'runtimes', 'depth', 'children', 'goals', 'parallelism', 'created'],
        res.body.items.map((a) => [a.id, a.name, a.allowed_runtimes.join(' ') || '(none)', a.max_depth, a.max_children, a.max_goals, a.default_parallelism, time(a.created_at)]),
        '(no agents)',
      );
      printNextPage(res.body.next_cursor);
    });

  agent
    .command('show')
    .description('Show an agent: its runtimes and limits')
    .argument('<id-or-name>', 'agent id or name', agentArg)
    .addHelpText('after', example(['reprise agent show agent_default', 'reprise agent show nightly-bot']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/agents/{id}', { params: { id } });
      if (ctx.json) return printJson(res.body);
      printAgent(res.body);
    });

  withSettingsOptions(
    agent
      .command('update')
      .description("Change an agent's runtimes or limits (admin scope); runtimes taken away stop its next leaf")
      .argument('<id-or-name>', 'agent id or name', agentArg),
    'a runtime it may use, replacing the whole list',
  )
    .addHelpText('after', example(['reprise agent update agent_01jd3v8k2m7q9x4w5y6z7a8b9c --runtime http --runtime manual', 'reprise agent update nightly-bot --max-goals 5000']))
    .action(async (id: string, opts: TSettingsOptions, cmd: Command) => {
      const body = parseWith(ZAgentUpdate, settingsBody(opts), 'the change');
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('patch', '/api/agents/{id}', { params: { id }, body });
      if (ctx.json) return printJson(res.body);
      printAgent(res.body);
    });

  agent
    .command('delete')
    .description('Delete an agent nothing refers to (admin scope): one with goals is kept for good; its workflows, schedules and live tokens must go first')
    .argument('<id-or-name>', 'agent id or name', agentArg)
    .addHelpText('after', example(['reprise agent delete agent_01jd3v8k2m7q9x4w5y6z7a8b9c', 'reprise agent delete nightly-bot']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      await ctx.client.call('delete', '/api/agents/{id}', { params: { id } });
      if (ctx.json) return printJson({ deleted: id });
      println(`Deleted agent ${id}`);
    });
}
