import { Option, type Command } from 'commander';
import { ZScheduleBackfill, ZScheduleCreate, ZSchedulePatch } from '../../api/schedules/schemas';
import type { components } from '../../generated/api';
import { OVERLAP_POLICIES } from '../../domain/schedules';
import { cliContext, collectKeyValue, idArg, parseWith, positiveInt } from '../context';
import { clip, example, note, printFields, printJson, printable, printNextPage, printTable, println, time, UsageError } from '../output';
import { printRunTable } from './runs';

/** `reprise schedule …`: Temporal Schedules that run one workflow with fixed inputs (SPEC §5). */

type TSchedule = components['schemas']['Schedule'];

/** `cron "0 8 * * 1-5" Europe/Paris`, `every 1h`, `at 2026-12-01 08:00:00Z`. */
export function describeSpec(spec: unknown): string {
  if (spec && typeof spec === 'object') {
    const s = spec as { cron?: string; timezone?: string; every?: string; at?: string };
    if (s.cron !== undefined) return `cron "${s.cron}"${s.timezone ? ` ${s.timezone}` : ''}`;
    if (s.every !== undefined) return `every ${s.every}`;
    if (s.at !== undefined) return `at ${time(s.at)}`;
  }
  return JSON.stringify(spec);
}

function scheduleState(s: TSchedule): string {
  if (s.spent) return 'spent';
  return s.paused ? 'paused' : 'active';
}

/** Its next fire times, when it has any to make: Temporal keeps computing them for a paused schedule. */
function nextFires(s: TSchedule): readonly string[] {
  return scheduleState(s) === 'active' ? s.next_fire_times : [];
}

function printSchedule(s: TSchedule): void {
  printFields([
    ['id', s.id],
    ['workflow', `${s.workflow.name} v${s.workflow.version} (${s.workflow.id})${s.follow_latest ? ', following the latest version' : ''}`],
    ['spec', describeSpec(s.spec)],
    ['state', scheduleState(s)],
    ['note', s.note ?? undefined],
    ['inputs', Object.entries(s.inputs).map(([k, v]) => `${k}=${clip(v, 40)}`).join(', ') || null],
    ['overlap', s.overlap],
    ['allow replan', s.allow_replan ? 'yes' : 'no'],
    ['next fires', s.paused ? 'none while paused' : nextFires(s).slice(0, 3).map(time).join(', ') || null],
    ['catch-up window', s.catchup_window],
    ['fires taken', s.fires_taken],
    ['missed', s.missed_catchup_window ? `${s.missed_catchup_window} fires (Temporal was down for longer than the catch-up window; backfill to run them)` : undefined],
    ['running', s.running_fires.length ? s.running_fires.join(', ') : undefined],
    ['temporal', s.temporal.ui_url ?? s.temporal.schedule_id],
    // The acting agent of every fire: its runtimes are checked at each one.
    ['created by', s.created_by_agent_id ?? undefined],
    ['created', time(s.created_at)],
  ]);
  if (s.runs) {
    println();
    println(`Runs (${s.runs.total}${s.runs.skipped ? `, ${s.runs.skipped} skipped fires` : ''}):`);
    printRunTable(s.runs.items);
  }
}

export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('Run a workflow on a schedule (cron, interval or once), pause, resume and trigger it');
  schedule.addHelpText('after', example(['reprise schedule add --workflow wf_01jd3v8k2m7q9x4w5y6z7a8b9c --cron "0 8 * * 1-5" --timezone Europe/Paris --input target=prod', 'reprise schedule list']));

  schedule
    .command('add')
    .description('Create a schedule for a workflow: exactly one of --cron, --every or --at')
    .requiredOption('--workflow <id>', 'the workflow version it runs', idArg)
    .addOption(new Option('--cron <expr>', 'five-field cron (minute hour day-of-month month day-of-week; no seconds), or @daily, @hourly…').conflicts(['every', 'at']))
    .option('--timezone <tz>', 'with --cron: an IANA time zone (default UTC)')
    .addOption(new Option('--every <interval>', 'an interval: 30s, 15m, 1h, 1d').conflicts(['cron', 'at']))
    .addOption(new Option('--at <time>', 'once, at this ISO-8601 time (e.g. 2026-12-01T08:00:00Z)').conflicts(['cron', 'every']))
    .option('--input <name=value>', 'a value for a declared input (repeatable)', collectKeyValue)
    .addOption(new Option('--overlap <policy>', 'what a fire does while the previous run is still going (default skip)').choices(OVERLAP_POLICIES))
    .option('--allow-replan', 'allow a workflow that is not fully frozen (its runs wait for plans)')
    .option('--follow-latest', "each fire runs the newest version of the workflow's name")
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note kept with the schedule')
    .option('--catchup <window>', "how late a fire missed while Temporal was down may still run (10s to 7d, e.g. 6h; default the server's, 1d)")
    .addHelpText(
      'after',
      example([
        'reprise schedule add --workflow wf_01jd3v8k2m7q9x4w5y6z7a8b9c --cron "0 8 * * 1-5" --timezone Europe/Paris --input target=prod',
        'reprise schedule add --workflow wf_01jd3v8k2m7q9x4w5y6z7a8b9c --every 15m --overlap buffer_one --catchup 6h',
        'reprise schedule add --workflow wf_01jd3v8k2m7q9x4w5y6z7a8b9c --at 2026-12-01T08:00:00Z --allow-replan',
      ]),
    )
    .action(
      async (
        opts: {
          workflow: string;
          cron?: string;
          timezone?: string;
          every?: string;
          at?: string;
          input?: Record<string, string>;
          overlap?: (typeof OVERLAP_POLICIES)[number];
          allowReplan?: boolean;
          followLatest?: boolean;
          paused?: boolean;
          note?: string;
          catchup?: string;
        },
        cmd: Command,
      ) => {
        if (opts.timezone !== undefined && opts.cron === undefined) throw new UsageError('--timezone goes with --cron');
        const spec =
          opts.cron !== undefined
            ? { cron: opts.cron, ...(opts.timezone !== undefined ? { timezone: opts.timezone } : {}) }
            : opts.every !== undefined
              ? { every: opts.every }
              : opts.at !== undefined
                ? { at: opts.at }
                : undefined;
        if (!spec) throw new UsageError('say when: --cron EXPR, --every INTERVAL or --at TIME');
        const body = parseWith(
          ZScheduleCreate,
          {
            spec,
            inputs: opts.input ?? {},
            ...(opts.overlap ? { overlap: opts.overlap } : {}),
            allow_replan: opts.allowReplan === true,
            follow_latest: opts.followLatest === true,
            paused: opts.paused === true,
            ...(opts.note !== undefined ? { note: opts.note } : {}),
            ...(opts.catchup !== undefined ? { catchup_window: opts.catchup } : {}),
          },
          'the schedule',
        );
        const ctx = cliContext(cmd);
        const res = await ctx.client.call('post', '/api/workflows/{id}/schedules', { params: { id: opts.workflow }, body });
        if (ctx.json) return printJson(res.body);
        printSchedule(res.body);
      },
    );

  schedule
    .command('list')
    .description('List schedules, as Temporal has them now')
    .option('--workflow <id>', 'only the schedules of this workflow')
    .option('--limit <n>', 'page size (1-100, default 20)', positiveInt)
    .option('--cursor <cursor>', 'the next page, as the previous one printed it')
    .addHelpText('after', example(['reprise schedule list', 'reprise schedule list --workflow wf_01jd3v8k2m7q9x4w5y6z7a8b9c --json']))
    .action(async (opts: { workflow?: string; limit?: number; cursor?: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/schedules', { query: { workflow_id: opts.workflow, limit: opts.limit, cursor: opts.cursor } });
      if (ctx.json) return printJson(res.body);
      printTable(
        ['id', 'workflow', 'spec', 'state', 'next fire', 'note'],
        res.body.items.map((s) => [s.id, `${s.workflow.name} v${s.workflow.version}`, clip(describeSpec(s.spec), 40), scheduleState(s), time(nextFires(s)[0]), clip(s.note ?? '', 40)]),
        res.body.not_in_temporal.length ? '(none that Temporal has)' : '(no schedules)',
      );
      if (res.body.not_in_temporal.length) {
        note(
          `Temporal says it does not have ${res.body.not_in_temporal.join(', ')} (deleted there, or Temporal still starting: try again in a minute); ` +
            '`reprise schedule delete <id>` forgets one deleted there',
        );
      }
      printNextPage(res.body.next_cursor);
    });

  schedule
    .command('show')
    .description('Show a schedule, its next fires and the runs it made')
    .argument('<id>', 'schedule id', idArg)
    .addHelpText('after', example(['reprise schedule show sched-nightly-report-7q9x4w5y6z']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/schedules/{id}', { params: { id } });
      if (ctx.json) return printJson(res.body);
      printSchedule(res.body);
    });

  const patch = (verb: string, paused: boolean) => async (id: string, opts: { note?: string }, cmd: Command) => {
    const body = parseWith(ZSchedulePatch, { paused, ...(opts.note !== undefined ? { note: opts.note } : {}) }, 'the change');
    const ctx = cliContext(cmd);
    const res = await ctx.client.call('patch', '/api/schedules/{id}', { params: { id }, body });
    if (ctx.json) return printJson(res.body);
    println(`${verb} schedule ${res.body.id}${paused && res.body.note ? `: ${printable(res.body.note)}` : ''}${res.body.spent ? ' (spent: it makes no more fires)' : ''}`);
  };

  schedule
    .command('pause')
    .description('Pause a schedule (no fires until resumed)')
    .argument('<id>', 'schedule id', idArg)
    .option('--note <text>', 'why (shown with the schedule)')
    .addHelpText('after', example(['reprise schedule pause sched-nightly-report-7q9x4w5y6z --note "holiday freeze"']))
    .action(patch('Paused', true));

  schedule
    .command('resume')
    .description('Resume a paused schedule')
    .argument('<id>', 'schedule id', idArg)
    .option('--note <text>', 'a note to replace the pause reason')
    .addHelpText('after', example(['reprise schedule resume sched-nightly-report-7q9x4w5y6z']))
    .action(patch('Resumed', false));

  schedule
    .command('trigger')
    .description('Fire a schedule now (its overlap policy applies; the run is attributed to the schedule)')
    .argument('<id>', 'schedule id', idArg)
    .addHelpText('after', example(['reprise schedule trigger sched-nightly-report-7q9x4w5y6z']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('post', '/api/schedules/{id}/trigger', { params: { id } });
      if (ctx.json) return printJson(res.body);
      println(`Triggered schedule ${res.body.id}; see its runs with: reprise schedule show ${res.body.id}`);
    });

  schedule
    .command('backfill')
    .description('Run the fires a schedule would have made in a past range, each keyed by its nominal time')
    .argument('<id>', 'schedule id', idArg)
    .requiredOption('--start <time>', 'range start (ISO-8601)')
    .requiredOption('--end <time>', 'range end (ISO-8601)')
    .addOption(new Option('--overlap <policy>', "how the range's fires overlap each other (default: one after another)").choices(OVERLAP_POLICIES))
    .addHelpText('after', example(['reprise schedule backfill sched-nightly-report-7q9x4w5y6z --start 2026-11-01T00:00:00Z --end 2026-11-08T00:00:00Z']))
    .action(async (id: string, opts: { start: string; end: string; overlap?: (typeof OVERLAP_POLICIES)[number] }, cmd: Command) => {
      const body = parseWith(ZScheduleBackfill, { start: opts.start, end: opts.end, ...(opts.overlap ? { overlap: opts.overlap } : {}) }, 'the backfill');
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('post', '/api/schedules/{id}/backfill', { params: { id }, body });
      if (ctx.json) return printJson(res.body);
      println(`Backfilling schedule ${res.body.id} from ${time(opts.start)} to ${time(opts.end)}`);
    });

  schedule
    .command('delete')
    .description('Delete a schedule (its runs stay)')
    .argument('<id>', 'schedule id', idArg)
    .addHelpText('after', example(['reprise schedule delete sched-nightly-report-7q9x4w5y6z']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      await ctx.client.call('delete', '/api/schedules/{id}', { params: { id } });
      if (ctx.json) return printJson({ deleted: id });
      println(`Deleted schedule ${id}`);
    });
}
