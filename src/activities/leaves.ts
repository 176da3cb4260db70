import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Goal, PrismaClient } from '../db/client';
import * as goals from '../db/goals';
import { isWorkerAction, type TAction, type THttpAction, type TShellAction, type TWorkerAction } from '../domain/actions';
import { assertNever } from '../domain/assertNever';
import { FAILURE_TYPES, type TFailureType } from '../domain/errors';
import { CHECK_COMMAND_MAX_S } from '../domain/execution';
import { parseOutputObject, type TEdgeContext } from '../domain/expressions';
import { isTerminal, type TEndStatus } from '../domain/goals';
import { ZAcceptance } from '../domain/plans';
import { actionOf, loadGoal } from './goals';
import { findAgent } from '../db/agents';
import { runHttpRequest, type THttpResult } from './httpRequest';
import { runShellCommand, type TCommandResult } from './shellCommand';
import { runInputs } from '../db/runs';
import { inputEnvName } from '../domain/frozenPlans';

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
  /** Leaf workspaces live under `<dataDir>/workspaces/<root goal id>`. */
  dataDir: string;
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
): Record<string, string> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
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

export function createLeafActivities(deps: TLeafActivityDeps) {
  const { prisma } = deps;

  async function workspace(rootId: string): Promise<string> {
    const cwd = path.join(deps.dataDir, 'workspaces', rootId);
    await mkdir(cwd, { recursive: true });
    return cwd;
  }

  /** Runs a command for a leaf, heartbeating, killed on timeout or cancellation. */
  async function runCommand(goal: { id: string; rootId: string; runId?: string | null }, command: string, env: Record<string, string> | undefined, timeoutS: number) {
    const ctx = Context.current();
    const inputs = goal.runId ? await runInputs(prisma, goal.runId) : {};
    return runShellCommand({
      command,
      env: commandEnv(goal, env, inputs),
      cwd: await workspace(goal.rootId),
      timeoutMs: timeoutS * 1000,
      maxOutputBytes: deps.leaf.outputMaxBytes,
      signal: ctx.cancellationSignal,
      onProgress: (elapsedMs) => ctx.heartbeat({ elapsed_ms: elapsedMs }),
    });
  }

  /** What one attempt of a shell or http action came to: the result, and why it failed if it did. */
  interface TAttempt {
    result: TCommandResult | THttpResult;
    cancelled: boolean;
    failure?: { message: string; type: Extract<TFailureType, 'CommandFailed' | 'HttpFailed' | 'LeafTimedOut'> };
  }

  /** Runs a leaf's action once (a runtime the worker runs), heartbeating, killed on timeout or cancellation. */
  async function attemptAction(goal: Goal, action: TWorkerAction): Promise<TAttempt> {
    const timeoutS = action.timeout_s ?? deps.leaf.defaultTimeoutS;
    switch (action.runtime) {
      case 'shell':
        return attemptShell(goal, action, timeoutS);
      case 'http':
        return attemptHttp(goal, action, timeoutS);
      default:
        return assertNever(action, 'worker action');
    }
  }

  async function attemptShell(goal: Goal, action: TShellAction, timeoutS: number): Promise<TAttempt> {
    const result = await runCommand(goal, action.command, action.env, timeoutS);
    if (result.cancelled) return { result, cancelled: true };
    if (result.timed_out) return { result, cancelled: false, failure: { message: `the command timed out after ${timeoutS}s and was killed`, type: 'LeafTimedOut' } };
    if (result.exit_code !== 0) {
      const how = result.exit_code === null ? `was killed by ${result.signal}` : `exited with code ${result.exit_code}`;
      return { result, cancelled: false, failure: { message: `the command ${how}`, type: 'CommandFailed' } };
    }
    return { result, cancelled: false };
  }

  async function attemptHttp(goal: Goal, action: THttpAction, timeoutS: number): Promise<TAttempt> {
    const ctx = Context.current();
    const agent = await findAgent(prisma, goal.agentId);
    const result = await runHttpRequest({
      action,
      internalAddresses: agent.allowedRuntimes.includes('shell'),
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
  async function runCheck(goal: Goal, check: string) {
    const action = goal.kind === 'leaf' ? actionOf(goal) : undefined;
    const env = action ? checkEnv(action) : undefined;
    const result = await runCommand(goal, check, env, Math.min(deps.leaf.defaultTimeoutS, CHECK_COMMAND_MAX_S));
    if (result.cancelled) throw cancelledFailure(digestOf(result));
    return { passed: result.exit_code === 0, exit_code: result.exit_code, stdout: result.stdout, stderr: result.stderr, timed_out: result.timed_out };
  }

  /** runLeaf's body: start, action, check, end. */
  async function runLeafOnce(goalId: string): Promise<TLeafResult> {
    const goal = await goals.loadGoalForRun(prisma, goalId);
    if (!goal) throw ApplicationFailure.nonRetryable(`goal ${goalId} does not exist`, FAILURE_TYPES.GoalNotFound);
    if (isTerminal(goal.lifecycle)) return endedLeafResult(goal);
    const action = runnableAction(goal);
    const acceptance = ZAcceptance.parse(goal.acceptance ?? {});
    let result: unknown = goal.output;
    if (goal.actionEndedAt === null) {
      const attempt = await attemptAction(goal, action);
      result = attempt.result;
      if (attempt.cancelled) {
        await goals.storeLeafOutput(prisma, goalId, attempt.result);
        throw cancelledFailure(edgeContextOf('failed', attempt.result));
      }
      if (attempt.failure) {
        const retries = action.retries ?? 0;
        const status: TEndStatus = attempt.failure.type === 'LeafTimedOut' ? 'timed_out' : 'failed';
        if (Context.current().info.attempt <= retries) {
          await goals.storeLeafOutput(prisma, goalId, attempt.result);
          throw ApplicationFailure.retryable(attempt.failure.message, FAILURE_TYPES[attempt.failure.type]);
        }
        const reason = `${attempt.failure.message}${retries > 0 ? ` (after ${retries + 1} attempts)` : ''}`;
        await goals.recordGoalEnd(prisma, goalId, { lifecycle: 'failed', failureReason: reason, output: attempt.result });
        return { status, context: edgeContextOf(status, attempt.result), recorded: true, failureReason: reason };
      }
      if (!acceptance.check && !acceptance.judgment) {
        await goals.recordLeafDone(prisma, goalId, attempt.result);
        return { status: 'succeeded', context: edgeContextOf('succeeded', attempt.result), recorded: true };
      }
      await goals.recordActionSucceeded(prisma, goalId, attempt.result);
    }
    if (acceptance.check) {
      const check = await runCheck(goal, acceptance.check);
      if (!check.passed) {
        await goals.storeAcceptanceCheck(prisma, goalId, check);
        const reason = `acceptance check failed: it ${check.timed_out ? 'timed out' : `exited with code ${check.exit_code}`}`;
        await goals.recordGoalEnd(prisma, goalId, { lifecycle: 'failed', failureReason: reason });
        return { status: 'failed', context: edgeContextOf('failed', result), recorded: true, failureReason: reason };
      }
    }
    if (acceptance.judgment) return { status: 'succeeded', context: edgeContextOf('succeeded', result), recorded: false };
    await goals.recordGoalEnd(prisma, goalId, { lifecycle: 'done', doneReason: 'accepted' });
    return { status: 'succeeded', context: edgeContextOf('succeeded', result), recorded: true };
  }

  return {
    /**
     * A shell or http leaf, whole (pursueGoal): marks it started, runs its
     * action (throwing a retryable failure while the leaf's own retries
     * last), runs its acceptance check, and records its end. Each step is
     * idempotent: a leaf that already ended is only reported, and an action
     * that already succeeded (`action_ended_at`) is never run again.
     * Heartbeats every second, so a cancellation reaches a running command.
     */
    async runLeaf({ goalId }: { goalId: string }): Promise<TLeafResult> {
      // Heartbeats for the whole activity, not only while the command runs: a
      // slow database write must not pass for a lost worker (a retry would run the action again).
      const ctx = Context.current();
      const ticker = setInterval(() => ctx.heartbeat(), 1000);
      try {
        return await runLeafOnce(goalId);
      } finally {
        clearInterval(ticker);
      }
    },

    /** Runs a goal's acceptance check command in the tree's workspace: exit 0 passes. */
    async runAcceptanceCheck({ goalId }: { goalId: string }): Promise<{ passed: boolean; exit_code: number | null; stdout: string; stderr: string; timed_out: boolean }> {
      const goal = await loadGoal(prisma, goalId);
      const acceptance = ZAcceptance.parse(goal.acceptance ?? {});
      if (!acceptance.check) return { passed: true, exit_code: 0, stdout: '', stderr: '', timed_out: false };
      const check = await runCheck(goal, acceptance.check);
      if (!check.passed) await goals.storeAcceptanceCheck(prisma, goalId, check);
      return { ...check, stdout: tail(check.stdout, DIGEST_TEXT_BYTES), stderr: tail(check.stderr, DIGEST_TEXT_BYTES) };
    },
  };
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
