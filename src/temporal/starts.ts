import type { SearchAttributePair } from '@temporalio/common';
import type { TEngineTuning, TLayerLeaf } from '../domain/execution';
import type { TEndStatus } from '../domain/goals';
import type { TGraphSnapshot } from '../domain/graph';
import { SA_GOAL_ID, SA_ROOT_GOAL_ID, SA_RUN_ID, SA_WORKFLOW_NAME, SA_WORKFLOW_VERSION } from '../domain/searchAttributes';

/**
 * The start options of each Temporal workflow type, built once: the API's
 * client starts (services) and parent workflows' child starts use the same
 * builder, so ids, search attributes and summaries never drift apart.
 *
 * Pure, and imported by workflow code: only `@temporalio/common` types and
 * pure domain modules here.
 */

/** The Temporal workflow type that runs goals. */
export const PURSUE_GOAL_TYPE = 'pursueGoal';

/** What a pursueGoal execution carries into the next execution of its goal when it continues as new. */
export type TGoalCarry =
  | { stage: 'plan' }
  | {
      stage: 'walk';
      acceptance: { check: boolean; judgment: boolean };
      graph: TGraphSnapshot;
      /** Children decided to start but not started yet, in order (plan indices). */
      ready: number[];
      /** Children that ended other than done: how many, and the first in plan order with what happened to it. */
      notDone: { count: number; first?: { index: number; what: string } };
      /** How many executions (the first and each continue-as-new) this goal's walk has had, this one included (for logs and the Web UI). */
      executions: number;
    };

export interface TPursueGoalInput {
  goalId: string;
  tuning: TEngineTuning;
  carry?: TGoalCarry;
  /**
   * A root leaf the worker runs (shell, http), as the API that started it
   * knew it from its action: the execution runs it at once, without opening
   * it first (a local activity less before the leaf starts). Without an
   * explicit `timeout_s` it is timed with the API's LEAF_DEFAULT_TIMEOUT_S
   * (`defaultTimeoutS`), which its runLeaf activity is handed and uses, so the
   * action always ends inside the activity's timeout whatever the worker's
   * setting. Absent from every other start (and from starts made before it existed).
   */
  leaf?: TLayerLeaf;
  /**
   * A root (the goal is its tree's root) that opens and finishes its own goal
   * by local activities, in the workflow tasks that decide them (a root leaf
   * records its end in its runLeaf activity, as any leaf does): no
   * task-queue hop and no workflow task of their own. Every root start sets
   * it (and a root's continue-as-new carries it), so the choice needs no
   * patch marker, nor the search-attribute upsert each marker costs. Roots
   * started before it choose their open by OPEN_GOAL_LOCALLY_PATCH and finish
   * with a regular activity, as their histories say.
   */
  ownStepsLocal?: true;
}

/** What a pursueGoal execution ends with (and so a performRun, which ends as its root goal ends). */
export interface TPursueGoalResult {
  goalId: string;
  /** How it ended; `already_ended` when the goal was terminal before this execution started. */
  status: TEndStatus | 'already_ended';
  lifecycle: string;
}

/** What a start of pursueGoal needs from the goal it pursues. */
export interface TPursueGoalTarget {
  id: string;
  rootId: string;
  title: string;
  /** Stored on the goal row (domain/ids), never re-derived from a title. */
  temporalWorkflowId: string;
}

/** The options shared by a root start (API) and a child start (a parent pursueGoal or performRun) of pursueGoal. */
export function pursueGoalStart(
  goal: TPursueGoalTarget,
  tuning: TEngineTuning,
  leaf?: TLayerLeaf,
): {
  workflowId: string;
  args: [TPursueGoalInput];
  typedSearchAttributes: SearchAttributePair[];
  staticSummary: string;
} {
  return {
    workflowId: goal.temporalWorkflowId,
    args: [{ goalId: goal.id, tuning, ...(goal.id === goal.rootId ? { ownStepsLocal: true as const } : {}), ...(leaf ? { leaf } : {}) }],
    typedSearchAttributes: [
      { key: SA_GOAL_ID, value: goal.id },
      { key: SA_ROOT_GOAL_ID, value: goal.rootId },
    ],
    staticSummary: goal.title,
  };
}

/**
 * A client start from the API, of a root goal's pursueGoal or of a run's
 * performRun: a repeated start of the same id attaches to the running
 * execution; a closed one is never started again (a goal, or a run, runs once).
 * Client starts only: child workflows take no conflict policy.
 */
export const ROOT_AND_RUN_START_POLICY = {
  workflowIdConflictPolicy: 'USE_EXISTING',
  workflowIdReusePolicy: 'REJECT_DUPLICATE',
} as const;

/** The Temporal workflow type of a run (SPEC §4): claim, materialize, then the root goal's execution. */
export const PERFORM_RUN_TYPE = 'performRun';

/** What a performRun execution carries into its next execution (continue-as-new) while it materializes. */
export interface TRunCarry {
  /** Frozen composites whose layers are still to be written, in order. */
  pending: string[];
  /** Layers written so far (for logs and the run's progress). */
  layers: number;
}

/** The performRun paths a start made now asks for (TPerformRunInput.version). */
export const PERFORM_RUN_VERSION = 2;

export interface TPerformRunInput {
  runId: string;
  tuning: TEngineTuning;
  carry?: TRunCarry;
  /**
   * The performRun paths this start was made for. 2: instantiation backs off
   * through long outages and writes many layers per activity, chosen without
   * `patched()`, so the history has no patch markers nor the
   * TemporalChangeVersion upsert each costs. Every start sets it (and
   * continue-as-new carries it). Absent (starts made before it existed): the
   * paths are chosen by INSTANTIATION_BACKOFF_PATCH and
   * MATERIALIZE_MANY_LAYERS_PATCH, as their histories say.
   */
  version?: number;
}

/** What a run's start needs: its ledger row and its workflow's identity. */
export interface TRunTarget {
  id: string;
  temporalWorkflowId: string;
  rootGoalId: string;
  workflow: { name: string; version: number };
  /** runSummary's text. */
  summary: string;
}

/** A run's summary in the Web UI: the workflow, its version, the inputs and the key (bounded). */
export function runSummary(workflow: { name: string; version: number }, inputs: Record<string, string>, idempotencyKey: string): string {
  const shown = Object.entries(inputs).map(([k, v]) => `${k}=${v.length > 40 ? `${v.slice(0, 39)}…` : v}`);
  const text = `${workflow.name} v${workflow.version}${shown.length ? ` (${shown.join(', ')})` : ''} · key ${idempotencyKey}`;
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** The options shared by a run's client start (API) and its child start (a nested run inside a tree). */
export function performRunStart(run: TRunTarget, tuning: TEngineTuning): {
  workflowId: string;
  args: [TPerformRunInput];
  typedSearchAttributes: SearchAttributePair[];
  staticSummary: string;
} {
  return {
    workflowId: run.temporalWorkflowId,
    args: [{ runId: run.id, tuning, version: PERFORM_RUN_VERSION }],
    typedSearchAttributes: [
      { key: SA_WORKFLOW_NAME, value: run.workflow.name },
      { key: SA_WORKFLOW_VERSION, value: run.workflow.version },
      { key: SA_RUN_ID, value: run.id },
      { key: SA_ROOT_GOAL_ID, value: run.rootGoalId },
    ],
    staticSummary: run.summary,
  };
}

/** The Temporal workflow type a schedule's action starts: one fire, made into a run (or a recorded skip). */
export const FIRE_SCHEDULE_TYPE = 'fireSchedule';

/** What a schedule's action passes to each fire: Temporal keeps it (PATCH updates it), the fire reads it. */
export interface TFireScheduleInput {
  scheduleId: string;
  /** The version the schedule was created with (with followLatest: the name it follows). */
  savedWorkflowId: string;
  followLatest: boolean;
  allowReplan: boolean;
  /** skip is ours (status-aware); the others are Temporal's, applied by the Schedule itself. */
  overlap: 'skip' | 'buffer_one' | 'buffer_all' | 'cancel_other' | 'allow_all';
  inputs: Record<string, string>;
  tuning: TEngineTuning;
  /** The spec as the user gave it (`cron`+`timezone`, `every` or `at`), for display: Temporal keeps it compiled. */
  spec?: unknown;
}

/** What one fire came to. */
export interface TFireScheduleResult {
  runId: string;
  /** Why the fire made no tree (also on its ledger row). */
  skipped?: string;
  lifecycle?: string;
}
