import { isTerminal } from './goals';
/**
 * Runs (SPEC §4): the instantiation states of the ledger, and the status a
 * run shows, derived from its tree. One list each, used by the schema, the
 * database enum and the derivation.
 */

export const RUN_STATE_VALUES = ['claimed', 'materializing', 'materialized', 'failed', 'skipped'] as const;
export type TRunState = (typeof RUN_STATE_VALUES)[number];

export const RUN_STATUSES = ['pending', 'running', 'blocked', 'done', 'failed', 'cancelled', 'skipped'] as const;
export type TRunStatus = (typeof RUN_STATUSES)[number];

/**
 * Whether a run in each status has ended for good: its tree ended, or
 * instantiation failed or was skipped (deriveRunStatus folds those states
 * into the status). A Record, so a new status fails tsc until it is decided
 * here. Only `done` is a success.
 */
const RUN_STATUS_ENDED: Record<TRunStatus, boolean> = {
  pending: false,
  running: false,
  blocked: false,
  done: true,
  failed: true,
  cancelled: true,
  skipped: true,
};

/** The statuses a run never leaves: what a wait for a run waits for. */
export const TERMINAL_RUN_STATUSES: readonly TRunStatus[] = RUN_STATUSES.filter((s) => RUN_STATUS_ENDED[s]);

export function isTerminalRunStatus(status: TRunStatus): boolean {
  return RUN_STATUS_ENDED[status];
}

export interface TRunStatusInput {
  state: TRunState;
  error: string | null;
  root: { id: string; lifecycle: string; doneReason: string | null; blockReason: string | null; failureReason: string | null } | null;
  blocked: { id: string; key: string | null; blockReason: string | null } | null;
}

/** What a run shows: the tree's state from its root goal, with the reason (SPEC §4). */
export function deriveRunStatus(run: TRunStatusInput): { status: TRunStatus; reason: string | null; goalId: string | null } {
  const { root, blocked } = run;
  if (run.state === 'failed') return { status: 'failed', reason: `instantiation failed: ${run.error ?? 'no reason recorded'}`, goalId: root?.id ?? null };
  if (run.state === 'skipped') return { status: 'skipped', reason: run.error, goalId: null };
  if (!root) return { status: 'pending', reason: `instantiation ${run.state}`, goalId: null };
  switch (root.lifecycle) {
    case 'done':
      return { status: 'done', reason: root.doneReason, goalId: root.id };
    case 'failed':
      return { status: 'failed', reason: root.failureReason, goalId: root.id };
    case 'cancelled':
      return { status: 'cancelled', reason: root.failureReason ?? 'cancelled', goalId: root.id };
    case 'blocked':
      return { status: 'blocked', reason: root.blockReason, goalId: root.id };
  }
  if (blocked) return { status: 'blocked', reason: `goal "${blocked.key ?? blocked.id}" ${blocked.blockReason ?? 'is blocked'}`, goalId: blocked.id };
  if (root.lifecycle === 'draft') return { status: 'pending', reason: run.state === 'materialized' ? 'materialized; the tree is starting' : `instantiation ${run.state}`, goalId: root.id };
  return { status: 'running', reason: null, goalId: root.id };
}

/** A run tree's progress, for `GET /api/runs/{id}` and `reprise workflow run --wait`. */
export interface TRunProgress {
  /** Goals in the tree so far (it grows while the run materializes). */
  goals: number;
  /** Goals that ended (done, failed or cancelled). */
  ended: number;
  byLifecycle: Record<string, number>;
  /** The deepest layer (depth, the root is 0) where a goal is active or blocked: where the work is now. Null when none is. */
  currentLayer: number | null;
  /** Layers the tree has (its deepest depth + 1). */
  layers: number;
}

export function summarizeRunProgress(rows: readonly { lifecycle: string; depth: number; goals: number }[]): TRunProgress {
  const byLifecycle: Record<string, number> = {};
  let goals = 0;
  let ended = 0;
  let currentLayer: number | null = null;
  let layers = 0;
  for (const r of rows) {
    goals += r.goals;
    byLifecycle[r.lifecycle] = (byLifecycle[r.lifecycle] ?? 0) + r.goals;
    if (isTerminal(r.lifecycle)) ended += r.goals;
    if ((r.lifecycle === 'active' || r.lifecycle === 'blocked') && (currentLayer === null || r.depth > currentLayer)) currentLayer = r.depth;
    layers = Math.max(layers, r.depth + 1);
  }
  return { goals, ended, byLifecycle, currentLayer, layers };
}

/**
 * The counts of a progress line: `3/5 goals done, layer 2 of 3`. Layers are
 * counted from 1 (the root's is layer 1), so the last layer reads `n of n`;
 * the layer is left out once the run has ended, or while no goal is active
 * or blocked.
 */
export function describeRunProgress(p: TRunProgress, runEnded: boolean): string {
  const failed = (p.byLifecycle.failed ?? 0) + (p.byLifecycle.cancelled ?? 0);
  let line = `${p.byLifecycle.done ?? 0}/${p.goals} goals done${failed ? `, ${failed} failed or cancelled` : ''}`;
  if (p.currentLayer !== null && !runEnded) line += `, layer ${p.currentLayer + 1} of ${p.layers}`;
  return line;
}
