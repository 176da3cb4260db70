import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { PrismaClient } from '../db/client';
import * as goals from '../db/goals';
import { FAILURE_TYPES, type TFailureType } from '../domain/errors';
import { CHECK_COMMAND_MAX_S } from '../domain/execution';
import { parseOutputObject } from '../domain/expressions';
import { ZAcceptance } from '../domain/plans';
import { actionOf, loadGoal } from './goals';
import { runHttpRequest, type THttpResult } from './httpRequest';
import { runShellCommand, type TCommandResult } from './shellCommand';

/**
 * Leaf activities: they run a leaf's action (a shell command, an HTTP
 * request) or an acceptance check, store the full result on the goal row,
 * and hand the workflow a bounded digest. Failures the workflow must tell
 * apart carry a FAILURE_TYPES string.
 */

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

/** The environment a command sees: a minimal base (never the worker's secrets) plus the action's own. */
function commandEnv(goal: { id: string; rootId: string }, actionEnv: Record<string, string> | undefined): Record<string, string> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    LANG: process.env.LANG ?? 'C.UTF-8',
    REPRISE_GOAL_ID: goal.id,
    REPRISE_ROOT_GOAL_ID: goal.rootId,
  };
  return { ...base, ...(actionEnv ?? {}) };
}

/**
 * How a failed attempt is reported: the leaf's own `retries` are enforced
 * here (the activity knows its attempt number); Temporal's attempt cap also
 * leaves room for retries after infrastructure failures.
 */
function attemptFailure(retries: number, message: string, type: TFailureType, details: unknown): ApplicationFailure {
  const lastAttempt = Context.current().info.attempt > retries;
  return ApplicationFailure.create({ message, type: FAILURE_TYPES[type], details: [details], nonRetryable: lastAttempt });
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
  async function runCommand(goal: { id: string; rootId: string }, command: string, env: Record<string, string> | undefined, timeoutS: number) {
    const ctx = Context.current();
    return runShellCommand({
      command,
      env: commandEnv(goal, env),
      cwd: await workspace(goal.rootId),
      timeoutMs: timeoutS * 1000,
      maxOutputBytes: deps.leaf.outputMaxBytes,
      signal: ctx.cancellationSignal,
      onProgress: (elapsedMs) => ctx.heartbeat({ elapsed_ms: elapsedMs }),
    });
  }

  return {
    /**
     * Runs a shell leaf's command. Returns the result when it exits 0; throws
     * CommandFailed on a non-zero exit and LeafTimedOut when its timeout
     * killed it. Heartbeats every second, so cancellation reaches it.
     */
    async runShellAction({ goalId }: { goalId: string }): Promise<ReturnType<typeof digestOf<TCommandResult>>> {
      const goal = await loadGoal(prisma, goalId);
      const action = actionOf(goal);
      if (action.runtime !== 'shell') throw ApplicationFailure.nonRetryable(`goal ${goalId} is not a shell leaf`, FAILURE_TYPES.InvalidAction);
      const timeoutS = action.timeout_s ?? deps.leaf.defaultTimeoutS;
      const result = await runCommand(goal, action.command, action.env, timeoutS);
      await goals.storeLeafOutput(prisma, goalId, result);
      const digest = digestOf(result);
      if (result.cancelled) throw cancelledFailure(digest);
      const retries = action.retries ?? 0;
      if (result.timed_out) throw attemptFailure(retries, `the command timed out after ${timeoutS}s and was killed`, 'LeafTimedOut', digest);
      if (result.exit_code !== 0) {
        const how = result.exit_code === null ? `was killed by ${result.signal}` : `exited with code ${result.exit_code}`;
        throw attemptFailure(retries, `the command ${how}`, 'CommandFailed', digest);
      }
      return digest;
    },

    /** Runs an http leaf's request: success is a 2xx (or a listed) status. */
    async runHttpAction({ goalId }: { goalId: string }): Promise<ReturnType<typeof digestOf<THttpResult>>> {
      const goal = await loadGoal(prisma, goalId);
      const action = actionOf(goal);
      if (action.runtime !== 'http') throw ApplicationFailure.nonRetryable(`goal ${goalId} is not an http leaf`, FAILURE_TYPES.InvalidAction);
      const timeoutS = action.timeout_s ?? deps.leaf.defaultTimeoutS;
      const ctx = Context.current();
      const result = await runHttpRequest({
        action,
        timeoutMs: timeoutS * 1000,
        maxBodyBytes: deps.leaf.outputMaxBytes,
        signal: ctx.cancellationSignal,
        onProgress: (elapsedMs) => ctx.heartbeat({ elapsed_ms: elapsedMs }),
      });
      await goals.storeLeafOutput(prisma, goalId, result);
      const digest = digestOf(result);
      if (result.cancelled) throw cancelledFailure(digest);
      const retries = action.retries ?? 0;
      if (result.timed_out) throw attemptFailure(retries, `the request timed out after ${timeoutS}s`, 'LeafTimedOut', digest);
      if (result.error) throw attemptFailure(retries, `the request failed: ${result.error}`, 'HttpFailed', digest);
      const ok = action.success_status ? action.success_status.includes(result.http_status ?? 0) : (result.http_status ?? 0) >= 200 && (result.http_status ?? 0) < 300;
      if (!ok) throw attemptFailure(retries, `the request answered HTTP ${result.http_status}`, 'HttpFailed', digest);
      return digest;
    },

    /** Runs a goal's acceptance check command in the tree's workspace: exit 0 passes. */
    async runAcceptanceCheck({ goalId }: { goalId: string }): Promise<{ passed: boolean; exit_code: number | null; stdout: string; stderr: string; timed_out: boolean }> {
      const goal = await loadGoal(prisma, goalId);
      const acceptance = ZAcceptance.parse(goal.acceptance ?? {});
      if (!acceptance.check) return { passed: true, exit_code: 0, stdout: '', stderr: '', timed_out: false };
      const action = goal.kind === 'leaf' ? actionOf(goal) : undefined;
      const env = action?.runtime === 'shell' ? action.env : undefined;
      const result = await runCommand(goal, acceptance.check, env, Math.min(deps.leaf.defaultTimeoutS, CHECK_COMMAND_MAX_S));
      if (result.cancelled) throw cancelledFailure(digestOf(result));
      const check = { passed: result.exit_code === 0, exit_code: result.exit_code, stdout: result.stdout, stderr: result.stderr, timed_out: result.timed_out };
      if (!check.passed) await goals.storeAcceptanceCheck(prisma, goalId, check);
      return { ...check, stdout: tail(check.stdout, DIGEST_TEXT_BYTES), stderr: tail(check.stderr, DIGEST_TEXT_BYTES) };
    },
  };
}
