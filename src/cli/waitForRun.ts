import { ApiError } from '../client/http';
import { describeRunProgress, isTerminalRunStatus, summarizeRunProgress, type TRunProgress } from '../domain/runs';
import type { components } from '../generated/api';
import type { TCliContext } from './context';
import { CliError, clip, EXIT, networkErrorCode, note } from './output';

/** Waiting for a run from the command line (`reprise workflow run --wait`, `reprise run wait`): polls the API until the run ends. */

export type TRun = components['schemas']['Run'];

/** `done (accepted)`, `failed: why`, `pending`. */
export function runState(run: TRun): string {
  const { status, reason } = run.status;
  if (run.state === 'failed' && run.error) return `failed: ${run.error}`;
  return reason ? `${status}${status === 'done' ? ` (${reason})` : `: ${reason}`}` : status;
}

/**
 * Whether a run has ended, either way. The derived status alone decides: a
 * failed or skipped instantiation already shows as a `failed` or `skipped`
 * status, and `materialized` only says the tree exists, not that it ended.
 */
export function runEnded(run: TRun): boolean {
  return isTerminalRunStatus(run.status.status);
}

export function runSucceeded(run: TRun): boolean {
  return run.status.status === 'done';
}

/** Above this many goals, the wait shows counts only (it never reads a big tree twice a second). */
const TREE_TITLES_MAX = 200;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Errors worth another poll: the API restarting or saturated, not a refusal. */
function isTransient(err: unknown): boolean {
  return networkErrorCode(err) !== undefined || (err instanceof ApiError && (err.status >= 500 || err.status === 429));
}

type TGoalTree = components['schemas']['GoalTree'];

/** A run's progress as the API sends it, in the domain's shape. */
export function progressOfRun(p: NonNullable<TRun['progress']>): TRunProgress {
  return { goals: p.goals, ended: p.ended, byLifecycle: p.by_lifecycle, currentLayer: p.current_layer, layers: p.layers };
}

/**
 * The same progress, counted from one read of the tree (the same goals as
 * the run's own count: its root's tree). The progress line takes its counts
 * and its layer from here when it shows what runs, so the layer is the one
 * of the goals it names, not of a read made a moment before.
 */
export function progressOfTree(tree: TGoalTree): TRunProgress {
  const rows: { lifecycle: string; depth: number; goals: number }[] = [];
  const walk = (g: TGoalTree, depth: number) => {
    rows.push({ lifecycle: g.lifecycle, depth, goals: 1 });
    for (const c of g.children) walk(c, depth + 1);
  };
  walk(tree, 0);
  return summarizeRunProgress(rows);
}

/** What the tree is doing now: its open leaves (or blocked goals), by title. */
export function currentWork(tree: TGoalTree): string {
  const running: string[] = [];
  const blocked: string[] = [];
  const walk = (g: TGoalTree) => {
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
      if (run.progress && run.progress.goals) {
        // Counts come with the run (one grouped query); for a small tree, counts, layer and
        // the titles of what runs now all come from one read of the tree, so they agree.
        let p = progressOfRun(run.progress);
        let now = '';
        if (run.root_goal_id && p.goals <= TREE_TITLES_MAX && !runEnded(run)) {
          const tree = await ctx.client.call('get', '/api/goals/{id}/tree', { params: { id: run.root_goal_id } }).then(
            (r) => r.body,
            () => undefined,
          );
          // A tree cut by the read's bounds (deeper than its default depth) would undercount: the run's counts stand then.
          if (tree && !tree.truncated) {
            p = progressOfTree(tree);
            now = currentWork(tree);
          }
        }
        progress = `  ${describeRunProgress(p, runEnded(run))}${now ? `  ${now}` : ''}`;
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
