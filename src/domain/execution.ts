import type { TAction, TRuntime } from './actions';

/**
 * How leaves and acceptance checks are timed and retried: facts shared by the
 * activities that run them and the workflow that schedules them. Pure, and
 * free of value imports, so workflow code may import it.
 */

/** An activity that stops heartbeating this long is presumed lost with its worker. */
export const HEARTBEAT_TIMEOUT_S = 30;

/** Time an activity may run past the action's own timeout (kill, collect output, report). */
export const KILL_GRACE_S = 15;

/** The acceptance-check activity's start-to-close timeout. */
export const CHECK_ACTIVITY_TIMEOUT_S = 3600;
/** A check command's own limit: inside its activity's timeout, with room to kill it and report. */
export const CHECK_COMMAND_MAX_S = CHECK_ACTIVITY_TIMEOUT_S - 300;

/** How the workflow runs a leaf. */
export interface TLeafRunOptions {
  runtime: TRuntime;
  timeoutS: number;
  retries: number;
  /** Whether `timeout_s` was given: external runtimes wait forever without one. */
  explicitTimeout: boolean;
}

export function leafRunOptions(action: TAction, defaultTimeoutS: number): TLeafRunOptions {
  return {
    runtime: action.runtime,
    timeoutS: action.timeout_s ?? defaultTimeoutS,
    retries: action.retries ?? 0,
    explicitTimeout: action.timeout_s !== undefined,
  };
}

/** How pursueGoal runs a leaf: from its layer (or, for a root leaf the API started, from its start), so no activity is needed to ask. */
export interface TLayerLeaf extends TLeafRunOptions {
  /** The default timeout this was computed with, when not the worker's own (a root leaf's start: the API's). */
  defaultTimeoutS?: number;
  /** Set when its stored action no longer parses: the leaf fails with this reason; its siblings run on. */
  invalid?: string;
  check: boolean;
  judgment: boolean;
  /** start-to-close of its runLeaf activity: the action's timeout, its check's, and a grace to kill and report. */
  activityTimeoutS: number;
}

/** LEAF_DEFAULT_TIMEOUT_S when unset: how long an action without `timeout_s` may run. */
export const DEFAULT_LEAF_TIMEOUT_S = 600;

/** The longest a leaf's action may run (`timeout_s`, LEAF_DEFAULT_TIMEOUT_S): a week. */
export const LEAF_TIMEOUT_MAX_S = 7 * 24 * 3600;

/** How a leaf with this (parsed) action and these acceptance flags runs, its action timing out after `defaultTimeoutS` unless it says. */
export function layerLeafOf(action: TAction, flags: { check: boolean; judgment: boolean }, defaultTimeoutS: number): TLayerLeaf {
  const options = leafRunOptions(action, defaultTimeoutS);
  const checkS = flags.check ? Math.min(defaultTimeoutS, CHECK_COMMAND_MAX_S) : 0;
  return { ...options, ...flags, activityTimeoutS: options.timeoutS + checkS + KILL_GRACE_S };
}

/** How long pursueGoal waits for a heartbeat before it presumes a leaf's worker lost. */
export const LEAF_HEARTBEAT_TIMEOUT_S = 10;

/**
 * Engine settings fixed when a root starts and passed down to every child
 * execution (part of the workflow input, so replay sees the same values).
 */
export interface TEngineTuning {
  /** Seconds between looks at Postgres while a composite waits for its plan (a lost signal only delays it). */
  planRecheckS: number;
  /**
   * History events after which an execution continues as new: it stops
   * starting children, lets the running ones finish, and carries what the
   * walk needs into a fresh history. Must leave room for the running
   * children's events (at most MAX_PARALLELISM of them) under Temporal's
   * 10,240-event warning.
   */
  historyLimit: number;
  /**
   * Hours an activity keeps retrying infrastructure failures (Postgres down
   * or unreachable, a transient conflict, a worker lost) before its goal
   * fails: backoff 1 s doubling to 30 s. Separate from a leaf's own `retries`,
   * which count only its action's outcomes. Optional: executions started
   * before this setting existed carry none, and get the default (read it
   * through infraRetryWindowS).
   */
  infraRetryHours?: number;
}

/** Hours of infrastructure retries when the tuning names none. */
export const DEFAULT_INFRA_RETRY_HOURS = 24;

export const DEFAULT_ENGINE_TUNING: TEngineTuning = { planRecheckS: 600, historyLimit: 4000, infraRetryHours: DEFAULT_INFRA_RETRY_HOURS };

/** How activities back off between attempts: 1 s doubling to 30 s (infrastructure and a leaf's own retries alike). */
export const RETRY_BACKOFF = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' } as const;

/** Seconds an activity may keep retrying infrastructure failures (its schedule-to-close budget beyond its own work). */
export function infraRetryWindowS(tuning: Pick<TEngineTuning, 'infraRetryHours'>): number {
  const hours = tuning.infraRetryHours ?? DEFAULT_INFRA_RETRY_HOURS;
  return Math.max(1, Math.round(hours * 3600));
}

/** History size (bytes) after which an execution continues as new, whatever its event count (Temporal warns at 10 MB). */
export const HISTORY_BYTES_LIMIT = 4 * 1024 * 1024;
