import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { PrismaClient } from '../db/client';
import { Prisma } from '../db/client';
import { subtree, UNFINISHED } from '../db/subtree';
import { leafRunOptions, ZAction, type TAction, type TLeafRunOptions } from '../domain/actions';
import type { TGoalOutcome } from '../domain/goals';
import { TERMINAL_LIFECYCLES } from '../domain/goals';
import { ZAcceptance, ZEdgeOn, type TEdgeOn } from '../domain/plans';
import { parseOutputObject } from '../domain/expressions';
import { runHttpRequest, type THttpResult } from './httpRequest';
import { runShellCommand, type TCommandResult } from './shellCommand';

/**
 * Activities: all of Reprise's I/O on behalf of Temporal workflows. Each may
 * run more than once (retries, a worker lost mid-call), so every database
 * write is idempotent: it moves a goal forward only from the states it
 * expects, and never out of a terminal state.
 *
 * Failures the workflow must tell apart carry a `type` string (never a class):
 * CommandFailed, HttpFailed, LeafTimedOut, CommandCancelled, WorkerShutdown,
 * GoalNotFound, InvalidAction.
 */

export interface TActivityDeps {
  prisma: PrismaClient;
  /** Leaf workspaces live under `<dataDir>/workspaces/<root goal id>`. */
  dataDir: string;
  leaf: { outputMaxBytes: number; defaultTimeoutS: number };
}

export interface TStartedGoal {
  kind: 'leaf' | 'composite';
  lifecycle: string;
  leaf?: TLeafRunOptions;
  acceptance: { check: boolean; judgment: boolean };
  planned: boolean;
}

export interface TPlanChildRef {
  id: string;
  key: string;
  kind: 'leaf' | 'composite';
  title: string;
  temporalWorkflowId: string;
  joinCount: number | null;
  lifecycle: string;
}

export interface TLoadedPlan {
  children: TPlanChildRef[];
  edges: { from: string; to: string; on: TEdgeOn }[];
}

export type TWaitFor = 'plan' | 'completion' | 'agent' | 'judgment';

const WAIT_REASONS: Record<TWaitFor, string> = {
  plan: 'needs a plan',
  completion: 'waiting for someone to complete it',
  agent: 'waiting for an agent to claim and complete it',
  judgment: 'waiting for judgment (accept or reject)',
};

const NOT_TERMINAL = { notIn: [...TERMINAL_LIFECYCLES] };

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

export function createActivities(deps: TActivityDeps) {
  const { prisma } = deps;

  async function loadGoal(goalId: string) {
    const goal = await prisma.goal.findUnique({ where: { id: goalId } });
    if (!goal) throw ApplicationFailure.nonRetryable(`goal ${goalId} does not exist`, 'GoalNotFound');
    return goal;
  }

  function actionOf(goal: { id: string; action: unknown }): TAction {
    const parsed = ZAction.safeParse(goal.action);
    if (!parsed.success) throw ApplicationFailure.nonRetryable(`goal ${goal.id} has an invalid action: ${parsed.error.message}`, 'InvalidAction');
    return parsed.data;
  }

  /** Stores a leaf's full result on its row (not once it has ended). */
  async function storeOutput(goalId: string, output: unknown): Promise<void> {
    await prisma.goal.updateMany({ where: { id: goalId, lifecycle: NOT_TERMINAL }, data: { output: output as Prisma.InputJsonValue } });
  }

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

  /**
   * How a failed attempt is reported: the leaf's own `retries` are enforced
   * here (the activity knows its attempt number); Temporal's attempt cap also
   * leaves room for retries after infrastructure failures.
   */
  function attemptFailure(retries: number, message: string, type: string, details: unknown): ApplicationFailure {
    const lastAttempt = Context.current().info.attempt > retries;
    return ApplicationFailure.create({ message, type, details: [details], nonRetryable: lastAttempt });
  }

  function cancelledFailure(details: unknown): ApplicationFailure | CancelledFailure {
    // A worker shutting down is not the leaf's fault: another worker retries it.
    if (Context.current().cancellationDetails?.workerShutdown) {
      return ApplicationFailure.retryable('the worker shut down while the leaf ran', 'WorkerShutdown', details);
    }
    // A real cancellation, reported as one: the workflow sees it as cancelled, not failed.
    return new CancelledFailure('the leaf was cancelled; its command was killed', [details]);
  }

  return {
    /** Marks a goal active (once) and tells the workflow how to run it. */
    async startGoal({ goalId }: { goalId: string }): Promise<TStartedGoal> {
      let goal = await loadGoal(goalId);
      if (goal.lifecycle === 'draft') {
        await prisma.goal.updateMany({ where: { id: goalId, lifecycle: 'draft' }, data: { lifecycle: 'active', startedAt: new Date() } });
        // Read back what won: a cancel may have ended the draft in between.
        goal = await loadGoal(goalId);
      }
      const lifecycle: string = goal.lifecycle;
      const acceptance = ZAcceptance.safeParse(goal.acceptance ?? {});
      const flags = { check: Boolean(acceptance.data?.check), judgment: Boolean(acceptance.data?.judgment) };
      if (goal.kind === 'composite') return { kind: 'composite', lifecycle, acceptance: flags, planned: goal.plannedAt !== null };
      return { kind: 'leaf', lifecycle, leaf: leafRunOptions(actionOf(goal), deps.leaf.defaultTimeoutS), acceptance: flags, planned: true };
    },

    /** One layer of a composite's plan: its children (ids, not trees) and edges by key. Null when unplanned. */
    async loadPlan({ goalId }: { goalId: string }): Promise<TLoadedPlan | null> {
      const goal = await loadGoal(goalId);
      if (goal.plannedAt === null) return null;
      const [children, edges] = await Promise.all([
        prisma.goal.findMany({ where: { parentId: goalId }, orderBy: { position: 'asc' } }),
        prisma.goalEdge.findMany({ where: { parentId: goalId }, orderBy: { position: 'asc' } }),
      ]);
      const keyOf = new Map(children.map((c) => [c.id, c.key as string]));
      return {
        children: children.map((c) => ({
          id: c.id,
          key: c.key as string,
          kind: c.kind,
          title: c.title,
          temporalWorkflowId: c.temporalWorkflowId as string,
          joinCount: c.joinCount,
          lifecycle: c.lifecycle,
        })),
        edges: edges.map((e) => ({ from: keyOf.get(e.fromGoalId) as string, to: keyOf.get(e.toGoalId) as string, on: ZEdgeOn.parse(e.on) })),
      };
    },

    /**
     * Records what a goal waits for: `blocked` with a reason (an agent leaf
     * stays `active`: it is in the pool), or back to `active` with `null`.
     */
    async setWaiting({ goalId, waitingFor }: { goalId: string; waitingFor: TWaitFor | null }): Promise<void> {
      await prisma.goal.updateMany({
        // Entering the agent pool clears any old claim, once: a retry must not wipe a claim made meanwhile.
        where: { id: goalId, lifecycle: NOT_TERMINAL, ...(waitingFor === 'agent' ? { OR: [{ waitingFor: null }, { waitingFor: { not: 'agent' } }] } : {}) },
        data:
          waitingFor === null
            ? { lifecycle: 'active', waitingFor: null, blockReason: null, claimedBy: null, leaseExpiresAt: null }
            : {
                lifecycle: waitingFor === 'agent' ? 'active' : 'blocked',
                waitingFor,
                blockReason: WAIT_REASONS[waitingFor],
                ...(waitingFor === 'agent' ? { claimedBy: null, leaseExpiresAt: null } : {}),
              },
      });
    },

    /**
     * Runs a shell leaf's command. Returns the result when it exits 0; throws
     * CommandFailed on a non-zero exit and LeafTimedOut when its timeout
     * killed it. Heartbeats every second, so cancellation reaches it.
     */
    async runShellAction({ goalId }: { goalId: string }): Promise<ReturnType<typeof digestOf<TCommandResult>>> {
      const goal = await loadGoal(goalId);
      const action = actionOf(goal);
      if (action.runtime !== 'shell') throw ApplicationFailure.nonRetryable(`goal ${goalId} is not a shell leaf`, 'InvalidAction');
      const timeoutS = action.timeout_s ?? deps.leaf.defaultTimeoutS;
      const result = await runCommand(goal, action.command, action.env, timeoutS);
      await storeOutput(goalId, result);
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
      const goal = await loadGoal(goalId);
      const action = actionOf(goal);
      if (action.runtime !== 'http') throw ApplicationFailure.nonRetryable(`goal ${goalId} is not an http leaf`, 'InvalidAction');
      const timeoutS = action.timeout_s ?? deps.leaf.defaultTimeoutS;
      const ctx = Context.current();
      const result = await runHttpRequest({
        action,
        timeoutMs: timeoutS * 1000,
        maxBodyBytes: deps.leaf.outputMaxBytes,
        signal: ctx.cancellationSignal,
        onProgress: (elapsedMs) => ctx.heartbeat({ elapsed_ms: elapsedMs }),
      });
      await storeOutput(goalId, result);
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
      const goal = await loadGoal(goalId);
      const acceptance = ZAcceptance.parse(goal.acceptance ?? {});
      if (!acceptance.check) return { passed: true, exit_code: 0, stdout: '', stderr: '', timed_out: false };
      const env = goal.kind === 'leaf' && goal.action && (goal.action as { runtime?: string }).runtime === 'shell' ? (actionOf(goal) as { env?: Record<string, string> }).env : undefined;
      // Bounded by the checks proxy's own 1-hour activity timeout.
      const result = await runCommand(goal, acceptance.check, env, Math.min(deps.leaf.defaultTimeoutS, 3300));
      if (result.cancelled) throw cancelledFailure(digestOf(result));
      const check = { passed: result.exit_code === 0, exit_code: result.exit_code, stdout: result.stdout, stderr: result.stderr, timed_out: result.timed_out };
      if (!check.passed) {
        // Beside the action's own output, stored on the row (not carried through history).
        await prisma.$executeRaw`UPDATE goals SET output = coalesce(output, '{}'::jsonb) || jsonb_build_object('acceptance_check', ${JSON.stringify(check)}::jsonb), updated_at = now()
                                  WHERE id = ${goalId} AND lifecycle NOT IN ('done', 'failed', 'cancelled')`;
      }
      return { ...check, stdout: tail(check.stdout, DIGEST_TEXT_BYTES), stderr: tail(check.stderr, DIGEST_TEXT_BYTES) };
    },

    /** Records a goal's end. Idempotent: a goal already in a terminal state is left alone. */
    async finishGoal({ goalId, outcome }: { goalId: string; outcome: TGoalOutcome }): Promise<void> {
      await prisma.goal.updateMany({
        where: { id: goalId, lifecycle: NOT_TERMINAL },
        data: {
          lifecycle: outcome.lifecycle,
          doneReason: outcome.lifecycle === 'done' ? outcome.doneReason : null,
          failureReason: outcome.lifecycle === 'failed' ? outcome.failureReason : null,
          blockReason: null,
          waitingFor: null,
          claimedBy: null,
          leaseExpiresAt: null,
          // A leaf's full output was stored by the activity that ran it; only an explicit output replaces it.
          ...(outcome.output === undefined ? {} : { output: outcome.output as Prisma.InputJsonValue }),
          finishedAt: new Date(),
        },
      });
    },

    /**
     * Ends children whose join can no longer be met: done/skipped, with why in
     * `output`. Everything below a skipped composite is skipped with it.
     */
    async skipGoals({ goals }: { goals: { goalId: string; because: string[] }[] }): Promise<void> {
      await prisma.$transaction(
        goals.flatMap((g) => [
          prisma.goal.updateMany({
            where: { id: g.goalId, lifecycle: NOT_TERMINAL },
            data: { lifecycle: 'done', doneReason: 'skipped', output: { skipped_because: g.because }, waitingFor: null, blockReason: null, finishedAt: new Date() },
          }),
          prisma.$executeRaw`
            ${subtree(g.goalId, { includeRoot: false })}
            UPDATE goals SET lifecycle = 'done', done_reason = 'skipped', output = ${JSON.stringify({ skipped_because: ['its parent was skipped'] })}::jsonb,
                   waiting_for = NULL, block_reason = NULL, finished_at = now(), updated_at = now()
             WHERE id IN (SELECT id FROM subtree) AND ${UNFINISHED}`,
        ]),
      );
    },

    /**
     * Fails a goal whose workflow ended without recording it (terminated, or
     * it never started), with everything unfinished below it. Idempotent: a
     * goal that recorded its own end is left alone.
     */
    async failSubtree({ goalId, reason }: { goalId: string; reason: string }): Promise<number> {
      return prisma.$executeRaw`
        ${subtree(goalId)}
        UPDATE goals SET lifecycle = 'failed', failure_reason = CASE WHEN id = ${goalId} THEN ${reason} ELSE 'its parent ended: ' || ${reason} END,
               waiting_for = NULL, block_reason = NULL, claimed_by = NULL, lease_expires_at = NULL, done_reason = NULL,
               finished_at = now(), updated_at = now()
         WHERE id IN (SELECT id FROM subtree) AND ${UNFINISHED}`;
    },

    /** Marks a goal and every unfinished goal below it `cancelled`. */
    async cancelSubtree({ goalId }: { goalId: string }): Promise<number> {
      return prisma.$executeRaw`
        ${subtree(goalId)}
        UPDATE goals SET lifecycle = 'cancelled', waiting_for = NULL, block_reason = NULL,
               claimed_by = NULL, lease_expires_at = NULL, done_reason = NULL,
               finished_at = now(), updated_at = now()
         WHERE id IN (SELECT id FROM subtree) AND ${UNFINISHED}`;
    },
  };
}

export type TActivities = ReturnType<typeof createActivities>;
