import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { PrismaClient } from '../db/client';
import { Prisma } from '../db/client';
import { leafRunOptions, ZAction, type TLeafRunOptions } from '../domain/actions';
import type { TGoalOutcome } from '../domain/goals';
import { TERMINAL_LIFECYCLES } from '../domain/goals';
import { runShellCommand, type TCommandResult } from './shellCommand';

/**
 * Activities: all of Reprise's I/O on behalf of Temporal workflows. Each may
 * run more than once (retries, a worker lost mid-call), so every database
 * write is idempotent: it moves a goal forward only from the state it expects.
 *
 * Failures the workflow must tell apart carry a `type` string (never a class):
 * CommandFailed, LeafTimedOut, CommandCancelled, WorkerShutdown, GoalNotFound,
 * InvalidAction.
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

  return {
    /** Marks a goal active (once) and tells the workflow how to run it. */
    async startGoal({ goalId }: { goalId: string }): Promise<TStartedGoal> {
      const goal = await loadGoal(goalId);
      let lifecycle: string = goal.lifecycle;
      if (goal.lifecycle === 'draft') {
        await prisma.goal.updateMany({
          where: { id: goalId, lifecycle: 'draft' },
          data: { lifecycle: 'active', startedAt: new Date() },
        });
        lifecycle = 'active';
      }
      if (goal.kind === 'composite') return { kind: 'composite', lifecycle };
      const action = ZAction.safeParse(goal.action);
      if (!action.success) {
        throw ApplicationFailure.nonRetryable(`goal ${goalId} has an invalid action: ${action.error.message}`, 'InvalidAction');
      }
      return { kind: 'leaf', lifecycle, leaf: leafRunOptions(action.data, deps.leaf.defaultTimeoutS) };
    },

    /**
     * Runs a shell leaf's command. Returns the result when it exits 0; throws
     * CommandFailed (retryable: the leaf's `retries` decide) on a non-zero
     * exit, LeafTimedOut when its timeout killed it. Heartbeats every second,
     * so Temporal cancellation reaches it and kills the process group.
     */
    async runShellAction({ goalId }: { goalId: string }): Promise<TCommandResult> {
      const goal = await loadGoal(goalId);
      const parsed = ZAction.safeParse(goal.action);
      if (!parsed.success || parsed.data.runtime !== 'shell') {
        throw ApplicationFailure.nonRetryable(`goal ${goalId} is not a shell leaf`, 'InvalidAction');
      }
      const action = parsed.data;
      const timeoutS = action.timeout_s ?? deps.leaf.defaultTimeoutS;
      const cwd = path.join(deps.dataDir, 'workspaces', goal.rootId);
      await mkdir(cwd, { recursive: true });

      const ctx = Context.current();
      const result = await runShellCommand({
        command: action.command,
        env: commandEnv(goal, action.env),
        cwd,
        timeoutMs: timeoutS * 1000,
        maxOutputBytes: deps.leaf.outputMaxBytes,
        signal: ctx.cancellationSignal,
        onProgress: (elapsedMs) => ctx.heartbeat({ elapsed_ms: elapsedMs }),
      });
      if (result.cancelled) {
        // A worker shutting down is not the command's fault: another worker retries it.
        if (ctx.cancellationDetails?.workerShutdown) {
          throw ApplicationFailure.retryable('the worker shut down while the command ran', 'WorkerShutdown', result);
        }
        throw ApplicationFailure.nonRetryable('the command was cancelled', 'CommandCancelled', result);
      }
      // The leaf's own `retries` are enforced here; Temporal's attempt cap also
      // leaves room for retries after infrastructure failures.
      const lastAttempt = ctx.info.attempt > (action.retries ?? 0);
      const fail = (message: string, type: string) =>
        ApplicationFailure.create({ message, type, details: [result], nonRetryable: lastAttempt });
      if (result.timed_out) throw fail(`the command timed out after ${timeoutS}s and was killed`, 'LeafTimedOut');
      if (result.exit_code !== 0) {
        const how = result.exit_code === null ? `was killed by ${result.signal}` : `exited with code ${result.exit_code}`;
        throw fail(`the command ${how}`, 'CommandFailed');
      }
      return result;
    },

    /** Records a goal's end. Idempotent: a goal already in a terminal state is left alone. */
    async finishGoal({ goalId, outcome }: { goalId: string; outcome: TGoalOutcome }): Promise<void> {
      await prisma.goal.updateMany({
        where: { id: goalId, lifecycle: { notIn: [...TERMINAL_LIFECYCLES] } },
        data: {
          lifecycle: outcome.lifecycle,
          doneReason: outcome.lifecycle === 'done' ? outcome.doneReason : null,
          failureReason: outcome.lifecycle === 'failed' ? outcome.failureReason : null,
          blockReason: null,
          output: outcome.output === undefined ? Prisma.DbNull : (outcome.output as Prisma.InputJsonValue),
          finishedAt: new Date(),
        },
      });
    },
  };
}

export type TActivities = ReturnType<typeof createActivities>;
