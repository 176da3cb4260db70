import { Command, Option, type CommanderError } from 'commander';
import { registerAgentCommands } from './commands/agents';
import { registerGoalCommands } from './commands/goals';
import { registerRunCommands, registerWorkflowRunCommands } from './commands/runs';
import { registerScheduleCommands } from './commands/schedules';
import { registerTokenCommands } from './commands/tokens';
import { registerWorkflowCommands } from './commands/workflows';
import { DEFAULT_URL } from './config';
import { currentErrorContext, VERSION } from './context';
import { describeError, example, EXIT, exitQuietlyWhenOutputCloses, note } from './output';

/**
 * `reprise`: the command line over the HTTP API (SPEC §7). A composition
 * root: commander wiring, one error handler, exit codes. Started by
 * bin/reprise.cjs, which registers tsx first.
 */

export function buildProgram(): Command {
  const program = new Command('reprise')
    .description('Reprise: durable goal trees on Temporal, saved as versioned, reusable workflows')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--url <url>', `the Reprise API (default: the URL in the local token file, else ${DEFAULT_URL})`).env('REPRISE_URL'))
    .addOption(new Option('--token <token>', 'a bearer token rpr_… (default: the local token file of `npm start`, for its URL only)').env('REPRISE_TOKEN'))
    .option('--json', "machine output: the API's JSON answer, one document on stdout")
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError('(add --help for usage)')
    // Commander exits 1 on a usage error; ours is 2, so a script can tell "you typed it wrong" from "it failed".
    .exitOverride((err: CommanderError) => {
      process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
    });

  program.addHelpText(
    'after',
    `${example([
      'reprise goal create --title "Say hi" --command "echo hi"',
      'reprise workflow save goal_01jd3v8k2m7q9x4w5y6z7a8b9c --name hello --input who:required',
      'reprise workflow run wf_01jd3v8k2m7q9x4w5y6z7a8b9c --key 2026-11-22 --input who=world --wait',
      'reprise schedule add --workflow wf_01jd3v8k2m7q9x4w5y6z7a8b9c --cron "0 8 * * *" --input who=team',
      'reprise --json goal list --root-only | jq -r ".items[].id"',
    ])}
Connection:
  The API URL is --url, else REPRISE_URL, else the url in the local token
  file that \`npm start\` writes (<REPRISE_DATA_DIR or ./.data, else this
  repository's .data>/local-admin-token.json), else ${DEFAULT_URL}.
  The token is --token, else REPRISE_TOKEN, else that file's token when the
  URL is the one it was written for.

Output:
  Tables and fields for people on stdout; progress and notes on stderr.
  --json prints the API's JSON answer instead (a delete, answered 204,
  prints {"deleted": ID}).

Exit codes:
  0  success
  1  the API refused (its message, code and HTTP status are printed), could
     not be reached, or a run waited for with --wait failed or was cancelled
  2  usage error (unknown command or option, missing or invalid argument)
  3  --wait --timeout ran out before the run ended (the run goes on)
  130  Ctrl-C while waiting (the run goes on)
`,
  );

  registerGoalCommands(program);
  registerWorkflowCommands(program, registerWorkflowRunCommands);
  registerRunCommands(program);
  registerScheduleCommands(program);
  registerAgentCommands(program);
  registerTokenCommands(program);
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  exitQuietlyWhenOutputCloses();
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    const { message, exitCode } = describeError(err, currentErrorContext());
    note(message);
    process.exitCode = exitCode;
  }
}

if (require.main === module) {
  void main();
}
