import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { asDatabaseError, isTransientDatabaseError, type Goal, type PrismaClient } from '../db/client';
import * as goals from '../db/goals';
import { isWorkerAction, type TAction, type THttpAction, type TWorkerAction } from '../domain/actions';
import { assertNever } from '../domain/assertNever';
import { FAILURE_TYPES, type TFailureType } from '../domain/errors';
import { CHECK_COMMAND_MAX_S } from '../domain/execution';
import { parseOutputObject, type TEdgeContext } from '../domain/expressions';
import { isTerminal, type TEndStatus } from '../domain/goals';
import { ZAcceptance } from '../domain/plans';
import { actionOf, loadGoal } from './goals';
import { runHttpRequest, type THttpResult } from './httpRequest';
import { runShellCommand, type TCommandResult } from './shellCommand';
import { workspaceCache, type TWorkspaces } from './workspaces';
import { attemptDir, exitFileOf, forgetAttempt, forgetAttempts, keepOutcome, markCancelled, markTimedOut, outcomeDir, prepareAttempt, recoverOutcome } from './attemptFiles';
import { findLeafContext, parseRunInputs, startLeaf, type TLeafContext } from '../db/runs';
import { inputEnvName } from '../domain/frozenPlans';
import { goalRuntimes, leafRefusal, mayReachInternalAddresses } from '../domain/runtimeRequirements';

/**
 * Leaf activities: they run a leaf's action (a shell command, an HTTP
 * request) or an acceptance check, store the full result on the goal row,
 * and hand the workflow a bounded digest. Failures the workflow must tell
 * apart carry a FAILURE_TYPES string.
 *
 * `runLeaf` (pursueGoal) is a shell or http leaf in one activity: it marks the
 * goal started, runs the action and its acceptance check, and records the
 * end. `runAcceptanceCheck` is a manual leaf's or a composite's check.
 */

/** What came of a leaf run by `runLeaf`, as its parent's walk needs it. */
export interface TLeafResult {
  /** How it ended (`cancelled`: before it ran, or while it ran). */
  status: TEndStatus | 'cancelled';
  /** Its edge context: a bounded digest of the result (the full result is on the goal row). */
  context: TEdgeContext;
  /** False only when it succeeded and now waits for judgment: the workflow records the end. */
  recorded: boolean;
  failureReason?: string;
}

export interface TLeafActivityDeps {
  prisma: PrismaClient;
  /** Attempt files live under `<dataDir>/attempts/<goal id>` (attemptFiles.ts). */
  dataDir: string;
  /** Where leaf commands run (`<dir>/<root goal id>`), and as whom. */
  workspaces: TWorkspaces;
  leaf: { outputMaxBytes: number; defaultTimeoutS: number };
}

/** Bytes of stdout/stderr/body a digest keeps for `when` expressions. */
const DIGEST_TEXT_BYTES = 4096;
/** Largest parsed `output` object a digest carries (as JSON). */
const DIGEST_OUTPUT_BYTES = 16 * 1024;

function tail(text: string, bytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  return buf.length <= bytes ? text : buf.subarray(buf.length - bytes).toString('utf8');
}

/**
 * What a leaf's result looks like to its workflow: the full result is stored
 * on the goal row by the activity; the workflow history only carries this
 * digest (text tails and the parsed `output`), so a parent with many chatty
 * leaves stays far from Temporal's history limits.
 */
export function digestOf<T extends { stdout?: string; stderr?: string; body?: string }>(result: T): T & { output: Record<string, unknown>; digest: true } {
  const parsed = parseOutputObject(result.stdout ?? result.body);
  const output = Buffer.byteLength(JSON.stringify(parsed)) <= DIGEST_OUTPUT_BYTES ? parsed : {};
  return {
    ...result,
    ...(result.stdout !== undefined ? { stdout: tail(result.stdout, DIGEST_TEXT_BYTES) } : {}),
    ...(result.stderr !== undefined ? { stderr: tail(result.stderr, DIGEST_TEXT_BYTES) } : {}),
    ...(result.body !== undefined ? { body: tail(result.body, DIGEST_TEXT_BYTES) } : {}),
    output,
    digest: true,
  };
}

/** The edge context of a stored or fresh result: text tails and the parsed `output` (bounded like a digest). */
function edgeContextOf(status: TEndStatus, result: unknown): TEdgeContext {
  const r = (result ?? {}) as { exit_code?: number | null; stdout?: string; stderr?: string; http_status?: number | null; body?: string };
  const digest = digestOf({ stdout: r.stdout, stderr: r.stderr, body: r.body });
  return {
    status,
    exit_code: r.exit_code ?? null,
    stdout: digest.stdout ?? '',
    stderr: digest.stderr ?? '',
    http_status: r.http_status ?? null,
    output: digest.output,
  };
}

/** The environment a command sees: a minimal base (never the worker's secrets) plus the action's own. */
function commandEnv(
  goal: { id: string; rootId: string; runId?: string | null },
  actionEnv: Record<string, string> | undefined,
  runInputs: Record<string, string>,
  /** With LEAF_USER, the workspace: the worker's HOME (/root) is not that user's to write, nor to read. */
  home?: string,
): Record<string, string> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home ?? process.env.HOME ?? '/',
    LANG: process.env.LANG ?? 'C.UTF-8',
    REPRISE_GOAL_ID: goal.id,
    REPRISE_ROOT_GOAL_ID: goal.rootId,
    ...(goal.runId ? { REPRISE_RUN_ID: goal.runId } : {}),
  };
  // A run's inputs reach commands only here, as variables: never in a command's text.
  for (const [name, value] of Object.entries(runInputs)) base[inputEnvName(name)] = value;
  return { ...base, ...(actionEnv ?? {}) };
}

function cancelledFailure(details: unknown): ApplicationFailure | CancelledFailure {
  // A worker shutting down is not the leaf's fault: another worker retries it.
  if (Context.current().cancellationDetails?.workerShutdown) {
    return ApplicationFailure.retryable('the worker shut down while the leaf ran', FAILURE_TYPES.WorkerShutdown, details);
  }
  // A real cancellation, reported as one: the workflow sees it as cancelled, not failed.
  return new CancelledFailure('the leaf was cancelled; its command was killed', [details]);
}

/**
 * What a runLeaf attempt keeps in its heartbeat details (Temporal hands them
 * to the next attempt): the outcome of the action it ran, until Postgres has
 * it. `attempt` is the outcome's number among the action's outcomes.
 */
interface TLeafProgress {
  outcome?: { goalId: string; attempt: number; result: unknown; failure?: { message: string; type: 'CommandFailed' | 'HttpFailed' | 'LeafTimedOut' } };
}

function leafProgressOf(details: unknown): TLeafProgress {
  const outcome = (details as TLeafProgress | undefined)?.outcome;
  return outcome && typeof outcome.goalId === 'string' && typeof outcome.attempt === 'number' ? { outcome } : {};
}

/** Largest result kept whole in heartbeat details; a larger one is kept as its digest (Temporal limits payload sizes). */
const HEARTBEAT_RESULT_BYTES = 256 * 1024;

function heartbeatSized(result: TCommandResult | THttpResult): unknown {
  return Buffer.byteLength(JSON.stringify(result)) <= HEARTBEAT_RESULT_BYTES ? result : digestOf(result);
}

/** Backoff of a write retried in place: 1 s doubling to 30 s, as the activity proxies retry. */
const WRITE_RETRY_MAX_MS = 30_000;

/**
 * Runs a Postgres write after a leaf's action has an outcome, retrying it in
 * place (heartbeating) while Postgres is down, unreachable or in a transient
 * conflict: only the write is retried, never the action. Ends when it is
 * written, when the error is not one of those, or when the activity is
 * cancelled or times out (the next attempt records the outcome from its
 * heartbeat details).
 */
async function untilWritten<T>(write: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  for (let delay = 1000; ; delay = Math.min(delay * 2, WRITE_RETRY_MAX_MS)) {
    try {
      return await write();
    } catch (err) {
      if (!isTransientDatabaseError(err) || ctx.cancellationSignal.aborted) throw err;
      ctx.log.warn('Postgres is unavailable; retrying the leaf\'s write', { error: asDatabaseError(err)?.message, delayMs: delay });
      await ctx.sleep(delay);
    }
  }
}

export function createLeafActivities(deps: TLeafActivityDeps) {
  const { prisma } = deps;

  const workspaces = workspaceCache(deps.workspaces);

  /** Runs a command for a leaf, heartbeating, killed on timeout or cancellation. */
  async function runCommand(
    goal: { id: string; rootId: string; runId?: string | null },
    context: TLeafContext,
    command: string,
    env: Record<string, string> | undefined,
    timeoutS: number,
    details: object = {},
    attempt?: string,
  ) {
    const ctx = Context.current();
    const inputs = parseRunInputs(context);
    const cwd = await workspaces.ensure(goal.rootId);
    return runShellCommand({
      command,
      env: commandEnv(goal, env, inputs, deps.workspaces.user ? cwd : undefined),
      cwd,
      user: deps.workspaces.user,
      timeoutMs: timeoutS * 1000,
      maxOutputBytes: deps.leaf.outputMaxBytes,
      signal: ctx.cancellationSignal,
      onProgress: (elapsedMs) => ctx.heartbeat({ ...details, elapsed_ms: elapsedMs }),
      ...(attempt ? { exitFile: exitFileOf(attempt), onTimeout: () => markTimedOut(attempt), onCancel: () => markCancelled(attempt) } : {}),
    }).catch((err: unknown) => {
      // It could not start: the next attempt makes its workspace again, in case that was why.
      workspaces.forget(goal.rootId);
      throw err;
    });
  }

  /** What one attempt of a shell or http action came to: the result, and why it failed if it did. */
  interface TAttempt {
    result: TCommandResult | THttpResult;
    cancelled: boolean;
    /** This attempt's own directory (attemptFiles.ts), when it ran the action with one. */
    dir?: string;
    failure?: { message: string; type: Extract<TFailureType, 'CommandFailed' | 'HttpFailed' | 'LeafTimedOut'> };
  }

  /**
   * Runs a leaf's action once (a runtime the worker runs), heartbeating,
   * killed on timeout or cancellation; `dir` is the attempt's directory
   * (attemptFiles.ts), where the outcome is kept the moment it is known.
   */
  async function attemptAction(goal: Goal, context: TLeafContext, action: TWorkerAction, dir: string | undefined, defaultTimeoutS: number): Promise<TAttempt> {
    const timeoutS = action.timeout_s ?? defaultTimeoutS;
    switch (action.runtime) {
      case 'shell':
        return shellAttemptOf(await runCommand(goal, context, action.command, action.env, timeoutS, {}, dir), timeoutS);
      case 'http':
        return attemptHttp(context, action, timeoutS);
      default:
        return assertNever(action, 'worker action');
    }
  }

  /** What a command's end means for its leaf (a fresh end, or one its launcher recorded for a worker that died). */
  function shellAttemptOf(result: TCommandResult, timeoutS: number): TAttempt {
    if (result.cancelled) return { result, cancelled: true };
    if (result.timed_out) return { result, cancelled: false, failure: { message: `the command timed out after ${timeoutS}s and was killed`, type: 'LeafTimedOut' } };
    if (result.exit_code !== 0) {
      const how = result.exit_code === null ? `was killed by ${result.signal}` : `exited with code ${result.exit_code}`;
      return { result, cancelled: false, failure: { message: `the command ${how}`, type: 'CommandFailed' } };
    }
    return { result, cancelled: false };
  }

  async function attemptHttp(context: TLeafContext, action: THttpAction, timeoutS: number): Promise<TAttempt> {
    const ctx = Context.current();
    const result = await runHttpRequest({
      action,
      internalAddresses: mayReachInternalAddresses(context.agent, context),
      timeoutMs: timeoutS * 1000,
      maxBodyBytes: deps.leaf.outputMaxBytes,
      signal: ctx.cancellationSignal,
      onProgress: (elapsedMs) => ctx.heartbeat({ elapsed_ms: elapsedMs }),
    });
    if (result.cancelled) return { result, cancelled: true };
    if (result.timed_out) return { result, cancelled: false, failure: { message: `the request timed out after ${timeoutS}s`, type: 'LeafTimedOut' } };
    if (result.error) return { result, cancelled: false, failure: { message: `the request failed: ${result.error}`, type: 'HttpFailed' } };
    const status = result.http_status ?? 0;
    const ok = action.success_status ? action.success_status.includes(status) : status >= 200 && status < 300;
    if (!ok) return { result, cancelled: false, failure: { message: `the request answered HTTP ${result.http_status}`, type: 'HttpFailed' } };
    return { result, cancelled: false };
  }

  /** The action of a leaf the worker runs (domain/runtimes); anything else is a permanent failure. */
  function runnableAction(goal: Goal): TWorkerAction {
    const action = actionOf(goal);
    if (!isWorkerAction(action)) {
      throw ApplicationFailure.nonRetryable(`goal ${goal.id} is not a shell or http leaf`, FAILURE_TYPES.InvalidAction);
    }
    return action;
  }

  /** Runs a goal's acceptance check command in the tree's workspace. */
  async function runCheck(goal: Goal, context: TLeafContext, check: string, details: object = {}, defaultTimeoutS = deps.leaf.defaultTimeoutS) {
    const action = goal.kind === 'leaf' ? actionOf(goal) : undefined;
    const env = action ? checkEnv(action) : undefined;
    const result = await runCommand(goal, context, check, env, Math.min(defaultTimeoutS, CHECK_COMMAND_MAX_S), details);
    if (result.cancelled) throw cancelledFailure(digestOf(result));
    return { passed: result.exit_code === 0, exit_code: result.exit_code, stdout: result.stdout, stderr: result.stderr, timed_out: result.timed_out };
  }

  /**
   * The outcome of the action's `n`th attempt: the one an earlier attempt
   * kept (in its heartbeat details, or on this worker's disk, attemptFiles.ts)
   * if there is one, else the action run now and its outcome kept at once.
   */
  async function outcomeOf(goal: Goal, context: TLeafContext, action: TWorkerAction, n: number, progress: TLeafProgress, defaultTimeoutS: number): Promise<TAttempt> {
    const ctx = Context.current();
    if (progress.outcome?.goalId === goal.id && progress.outcome.attempt === n) {
      return { result: progress.outcome.result as TAttempt['result'], cancelled: false, failure: progress.outcome.failure };
    }
    // An outcome holds two bounded texts, JSON-escaped (at most 6 bytes a byte): anything larger is not ours.
    const left = recoverOutcome(outcomeDir(deps.dataDir, goal.id, n), 12 * deps.leaf.outputMaxBytes + 64 * 1024);
    let attempt: TAttempt;
    if (left?.kind === 'kept') {
      attempt = { result: left.outcome.result, cancelled: false, failure: left.outcome.failure };
    } else if (left?.kind === 'exit') {
      // Only the exit status survived (the worker died before it heard of the end): judged as a fresh end would be.
      attempt = shellAttemptOf(left.result, action.timeout_s ?? defaultTimeoutS);
      ctx.log.warn('a leaf\'s command had ended when its worker died; its recorded exit status is used, not run again', { goalId: goal.id, attempt: n });
    } else {
      const dir = attemptDir(deps.dataDir, goal.id, n, ctx.info.attempt);
      const prepared = await prepareAttempt(dir);
      attempt = { ...(await attemptAction(goal, context, action, prepared ? dir : undefined, defaultTimeoutS)), ...(prepared ? { dir } : {}) };
      if (attempt.dir && !attempt.cancelled) keepOutcome(attempt.dir, { result: attempt.result, failure: attempt.failure });
    }
    // Kept for the activity's heartbeats (runLeaf's ticker sends it within a second while the write below
    // has not ended): a leaf whose write ends sooner costs Temporal no heartbeat, and until then its outcome is on disk.
    if (!attempt.cancelled) progress.outcome = { goalId: goal.id, attempt: n, result: heartbeatSized(attempt.result), failure: attempt.failure };
    return attempt;
  }

  /**
   * runLeaf's body: start, action, check, end. A leaf's `retries` count its
   * action's outcomes (`action_attempts` on the goal row), never activity
   * attempts: an attempt lost to the infrastructure (Postgres down, a worker
   * lost) came to no outcome, spends nothing, and is retried by Temporal.
   *
   * Once an action has an outcome it is never run again for that attempt:
   * the outcome is kept on the worker's disk (the command's exit status by
   * its launcher the moment it ends, then the whole outcome), in the
   * activity's heartbeat details (kept by Temporal across attempts), then in
   * Postgres, whose writes are retried in place while Postgres is away. An
   * attempt that finds an outcome its predecessor could not record records
   * that instead of running the action.
   */
  async function runLeafOnce(goalId: string, progress: TLeafProgress, defaultTimeoutS: number): Promise<TLeafResult> {
    // One statement: the goal, marked started, and who it runs for.
    const started = await startLeaf(prisma, goalId, new Date());
    if (!started) throw ApplicationFailure.nonRetryable(`goal ${goalId} does not exist`, FAILURE_TYPES.GoalNotFound);
    const { goal, context: found } = started;
    if (isTerminal(goal.lifecycle)) {
      await forgetAttempts(deps.dataDir, goalId);
      return endedLeafResult(goal);
    }
    const context = refuseRevokedRuntimes(goal, found, goalRuntimes({ action: actionOf(goal), acceptance: ZAcceptance.parse(goal.acceptance ?? {}) }));
    const action = runnableAction(goal);
    const acceptance = ZAcceptance.parse(goal.acceptance ?? {});
    let result: unknown = goal.output;
    if (goal.actionEndedAt === null) {
      // This attempt's number among the action's outcomes.
      const n = goal.actionAttempts + 1;
      const attempt = await outcomeOf(goal, context, action, n, progress, defaultTimeoutS);
      result = attempt.result;
      if (attempt.cancelled) {
        // First: an attempt whose write fails below must not leave our kill on disk as the command's end.
        if (attempt.dir) await forgetAttempt(attempt.dir);
        await goals.storeLeafOutput(prisma, goalId, attempt.result);
        throw cancelledFailure(edgeContextOf('failed', attempt.result));
      }
      if (attempt.failure) {
        const retries = action.retries ?? 0;
        const status: TEndStatus = attempt.failure.type === 'LeafTimedOut' ? 'timed_out' : 'failed';
        await untilWritten(() => goals.recordActionFailed(prisma, goalId, n, attempt.result));
        await forgetAttempts(deps.dataDir, goalId, attempt.dir);
        if (n <= retries) throw ApplicationFailure.retryable(attempt.failure.message, FAILURE_TYPES[attempt.failure.type]);
        const reason = `${attempt.failure.message}${n > 1 ? ` (after ${n} attempts)` : ''}`;
        await untilWritten(() => goals.recordGoalEnd(prisma, goalId, { lifecycle: 'failed', failureReason: reason }));
        return { status, context: edgeContextOf(status, attempt.result), recorded: true, failureReason: reason };
      }
      if (!acceptance.check && !acceptance.judgment) {
        await untilWritten(() => goals.recordLeafDone(prisma, goalId, n, attempt.result));
        // Not waited for: the end is in Postgres, so files left by a worker lost meanwhile are only ever forgotten (isTerminal above).
        void forgetAttempts(deps.dataDir, goalId, attempt.dir);
        return { status: 'succeeded', context: edgeContextOf('succeeded', attempt.result), recorded: true };
      }
      await untilWritten(() => goals.recordActionSucceeded(prisma, goalId, n, attempt.result));
      await forgetAttempts(deps.dataDir, goalId, attempt.dir);
    }
    if (acceptance.check) {
      const check = await runCheck(goal, context, acceptance.check, progress, defaultTimeoutS);
      if (!check.passed) {
        await untilWritten(() => goals.storeAcceptanceCheck(prisma, goalId, check));
        const reason = `acceptance check failed: it ${check.timed_out ? 'timed out' : `exited with code ${check.exit_code}`}`;
        await untilWritten(() => goals.recordGoalEnd(prisma, goalId, { lifecycle: 'failed', failureReason: reason }));
        return { status: 'failed', context: edgeContextOf('failed', result), recorded: true, failureReason: reason };
      }
    }
    if (acceptance.judgment) return { status: 'succeeded', context: edgeContextOf('succeeded', result), recorded: false };
    await untilWritten(() => goals.recordGoalEnd(prisma, goalId, { lifecycle: 'done', doneReason: 'accepted' }));
    return { status: 'succeeded', context: edgeContextOf('succeeded', result), recorded: true };
  }

  return {
    /**
     * A shell or http leaf, whole (pursueGoal): marks it started, runs its
     * action (throwing a retryable failure while the leaf's own retries
     * last), runs its acceptance check, and records its end. Each step is
     * idempotent: a leaf that already ended is only reported, and an action
     * that already succeeded (`action_ended_at`), or whose outcome an earlier
     * attempt holds in its heartbeat details, is never run again.
     * Heartbeats every second (none for a leaf that ends within one: each
     * costs Temporal a write), so a cancellation reaches a running command.
     * `defaultTimeoutS`: the default its activity was timed with when that was
     * not this worker's (a root leaf the API started: TPursueGoalInput.leaf),
     * so the action and its check end inside the activity's start-to-close.
     */
    async runLeaf({ goalId, defaultTimeoutS }: { goalId: string; defaultTimeoutS?: number }): Promise<TLeafResult> {
      const ctx = Context.current();
      // What an earlier attempt learnt and may not have recorded; sent again at once, so it outlives this attempt too.
      const progress = leafProgressOf(ctx.info.heartbeatDetails);
      if (progress.outcome) ctx.heartbeat(progress);
      // Heartbeats for the whole activity, not only while the command runs: a
      // slow database write must not pass for a lost worker (a retry would run the action again).
      const ticker = setInterval(() => ctx.heartbeat(progress), 1000);
      try {
        return await runLeafOnce(goalId, progress, defaultTimeoutS ?? deps.leaf.defaultTimeoutS);
      } finally {
        clearInterval(ticker);
      }
    },

    /** Runs a goal's acceptance check command in the tree's workspace: exit 0 passes. */
    async runAcceptanceCheck({ goalId }: { goalId: string }): Promise<{ passed: boolean; exit_code: number | null; stdout: string; stderr: string; timed_out: boolean }> {
      const goal = await loadGoal(prisma, goalId);
      const acceptance = ZAcceptance.parse(goal.acceptance ?? {});
      if (!acceptance.check) return { passed: true, exit_code: 0, stdout: '', stderr: '', timed_out: false };
      const context = refuseRevokedRuntimes(goal, await findLeafContext(prisma, goal.id), ['shell']);
      const check = await runCheck(goal, context, acceptance.check);
      if (!check.passed) await goals.storeAcceptanceCheck(prisma, goalId, check);
      return { ...check, stdout: tail(check.stdout, DIGEST_TEXT_BYTES), stderr: tail(check.stderr, DIGEST_TEXT_BYTES) };
    },
  };
}

/**
 * Refuses, before anything runs, work whose agents may no longer use a
 * runtime it needs (SPEC §6): plans, runs and schedules were checked when they
 * were accepted, but an agent's runtimes can be taken away since, so a
 * revoked privilege takes effect at the next leaf or check. The agents are
 * the goal's, in a run the run's acting agent, and the agent that submitted
 * the goal's plan (domain/runtimeRequirements `leafRefusal`), as `findLeafContext` read them with the run's inputs.
 * Non-retryable: retrying would only ask the same question again; the goal
 * fails with this reason. Returns what it read, for the action to run with.
 */
function refuseRevokedRuntimes(goal: Goal, context: TLeafContext | null, needed: readonly string[]): TLeafContext {
  if (!context) throw ApplicationFailure.nonRetryable(`goal ${goal.id} does not exist`, FAILURE_TYPES.GoalNotFound);
  const refusal = leafRefusal(needed, context.agent, context);
  if (refusal) throw ApplicationFailure.nonRetryable(refusal, FAILURE_TYPES.RuntimeNotAllowed);
  return context;
}

/** The variables a leaf's acceptance check runs with: a shell leaf's own (the check sees its command's world). */
function checkEnv(action: TAction): Record<string, string> | undefined {
  switch (action.runtime) {
    case 'shell':
      return action.env;
    case 'http':
    case 'manual':
    case 'agent':
      return undefined;
    default:
      return assertNever(action, 'action');
  }
}

/** A leaf that had already ended, reported as it ended (a re-delivered activity, or a goal cancelled before it ran). */
function endedLeafResult(goal: Goal): TLeafResult {
  if (goal.lifecycle === 'cancelled') return { status: 'cancelled', context: edgeContextOf('failed', goal.output), recorded: true };
  if (goal.lifecycle === 'done') return { status: 'succeeded', context: edgeContextOf('succeeded', goal.output), recorded: true };
  const status: TEndStatus = (goal.output as { timed_out?: unknown } | null)?.timed_out === true ? 'timed_out' : 'failed';
  return { status, context: edgeContextOf(status, goal.output), recorded: true, failureReason: goal.failureReason ?? 'it failed' };
}
