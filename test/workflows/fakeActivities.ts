import { randomBytes } from 'node:crypto';
import type { TActivities, TLayerChild, TLayerLeaf, TLeafResult, TOpenedGoal } from '../../src/activities';
import type { TEdgeContext } from '../../src/domain/expressions';
import { isTerminal, type TGoalOutcome, type TWaitKind } from '../../src/domain/goals';
import type { TEdgeOn } from '../../src/domain/plans';

/**
 * In-memory activities for the workflows tier: the goal workflow's
 * bookkeeping against a Map instead of Postgres (the activity factory's
 * contract, house rule 2), so a test asserts on the workflow's own decisions
 * (what it recorded, in what order, how often) with no database in the way.
 * The integration tier runs the same workflows on the real activities.
 *
 * Only the activities the goal workflow calls are here; `Pick` keeps their
 * signatures those of the real ones.
 */

type TFakeActivities = Pick<
  TActivities,
  'openGoal' | 'enterWait' | 'setWaiting' | 'finishGoal' | 'skipGoals' | 'failSubtree' | 'cancelSubtree' | 'runLeaf' | 'runAcceptanceCheck'
>;

/** How a fake shell/http leaf ends when the workflow runs it. */
export type TLeafScript = { status: 'succeeded'; output?: Record<string, unknown> } | { status: 'failed'; reason: string };

export interface TFakeGoal {
  id: string;
  key: string;
  lifecycle: string;
  waitingFor: TWaitKind | null;
  outcome?: TGoalOutcome;
  skippedBecause?: string[];
  /** Leaves: how the workflow runs it; shell/http leaves end as `script` says. */
  leaf?: TLayerLeaf;
  script?: TLeafScript;
  /** Composites: its layer, null while unplanned. */
  layer?: { parallelism: number; children: string[]; edges: { from: string; to: string; on: TEdgeOn }[] } | null;
}

const id = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`;

export function shellLeaf(script: TLeafScript = { status: 'succeeded' }): Pick<TFakeGoal, 'leaf' | 'script'> {
  return { leaf: { runtime: 'shell', timeoutS: 60, retries: 0, explicitTimeout: false, check: false, judgment: false, activityTimeoutS: 75 }, script };
}

export function manualLeaf(timeoutS?: number): Pick<TFakeGoal, 'leaf'> {
  return { leaf: { runtime: 'manual', timeoutS: timeoutS ?? 0, retries: 0, explicitTimeout: timeoutS !== undefined, check: false, judgment: false, activityTimeoutS: 0 } };
}

function edgeContext(status: TEdgeContext['status']): TEdgeContext {
  return { status, exit_code: status === 'succeeded' ? 0 : 1, stdout: '', stderr: '', http_status: null, output: {} };
}

export function createFakeGoals() {
  const goals = new Map<string, TFakeGoal>();
  /** Every activity call, in order: `name goalId`. */
  const calls: string[] = [];

  const get = (goalId: string): TFakeGoal => {
    const goal = goals.get(goalId);
    if (!goal) throw new Error(`goal ${goalId} does not exist`);
    return goal;
  };
  const end = (goal: TFakeGoal, outcome: TGoalOutcome) => {
    if (isTerminal(goal.lifecycle)) return;
    goal.lifecycle = outcome.lifecycle;
    goal.outcome = outcome;
    goal.waitingFor = null;
  };
  const start = (goal: TFakeGoal) => {
    if (goal.lifecycle === 'draft') goal.lifecycle = 'active';
  };
  const below = (goalId: string): TFakeGoal[] => {
    const layer = get(goalId).layer;
    return (layer?.children ?? []).flatMap((c) => [get(c), ...below(c)]);
  };

  function layerChild(childId: string): TLayerChild {
    const child = get(childId);
    if (child.leaf) return { id: child.id, key: child.key, joinCount: null, leaf: child.leaf };
    return { id: child.id, key: child.key, joinCount: null, composite: { temporalWorkflowId: `wf-${child.id}`, title: child.key } };
  }

  const activities: TFakeActivities = {
    async openGoal({ goalId, start: starting = true }) {
      calls.push(`openGoal ${goalId}`);
      const goal = get(goalId);
      const acceptance = { check: false, judgment: false };
      if (goal.leaf) return { kind: 'leaf', lifecycle: goal.lifecycle, acceptance, leaf: goal.leaf };
      if (starting) start(goal);
      const opened: TOpenedGoal = { kind: 'composite', lifecycle: goal.lifecycle, acceptance, layer: null };
      if (!goal.layer) return opened;
      return { ...opened, layer: { parallelism: goal.layer.parallelism, children: goal.layer.children.map(layerChild), edges: goal.layer.edges } };
    },
    async enterWait({ goalId, waitingFor }) {
      calls.push(`enterWait ${goalId} ${waitingFor}`);
      const goal = get(goalId);
      start(goal);
      goal.waitingFor = waitingFor;
      return { lifecycle: goal.lifecycle };
    },
    async setWaiting({ goalId, waitingFor }) {
      calls.push(`setWaiting ${goalId} ${waitingFor}`);
      get(goalId).waitingFor = waitingFor;
    },
    async finishGoal({ goalId, outcome }) {
      calls.push(`finishGoal ${goalId} ${outcome.lifecycle}`);
      end(get(goalId), outcome);
    },
    async skipGoals({ goals: skipped }) {
      for (const { goalId, because } of skipped) {
        calls.push(`skipGoals ${goalId}`);
        const goal = get(goalId);
        end(goal, { lifecycle: 'done', doneReason: 'skipped' });
        goal.skippedBecause = because;
      }
    },
    async failSubtree({ goalId, reason }) {
      calls.push(`failSubtree ${goalId}`);
      const open = [get(goalId), ...below(goalId)].filter((g) => !isTerminal(g.lifecycle));
      for (const g of open) end(g, { lifecycle: 'failed', failureReason: reason });
      return open.length;
    },
    async cancelSubtree({ goalId }) {
      calls.push(`cancelSubtree ${goalId}`);
      const open = [get(goalId), ...below(goalId)].filter((g) => !isTerminal(g.lifecycle));
      for (const g of open) end(g, { lifecycle: 'cancelled' });
      return open.length;
    },
    async runLeaf({ goalId }): Promise<TLeafResult> {
      calls.push(`runLeaf ${goalId}`);
      const goal = get(goalId);
      start(goal);
      const script = goal.script ?? { status: 'succeeded' };
      // The real runLeaf records the end itself (`recorded`): so does this one.
      if (script.status === 'succeeded') {
        end(goal, { lifecycle: 'done', doneReason: 'accepted' });
        return { status: 'succeeded', context: { ...edgeContext('succeeded'), output: script.output ?? {} }, recorded: true };
      }
      end(goal, { lifecycle: 'failed', failureReason: script.reason });
      return { status: 'failed', context: edgeContext('failed'), recorded: true, failureReason: script.reason };
    },
    async runAcceptanceCheck({ goalId }) {
      calls.push(`runAcceptanceCheck ${goalId}`);
      return { passed: true, exit_code: 0, stdout: '', stderr: '', timed_out: false };
    },
  };

  return {
    activities,
    calls,
    goal: get,
    /** A goal in the store (a draft); children of a composite are added first, then named in its layer. */
    add(key: string, fields: Omit<Partial<TFakeGoal>, 'id' | 'key'> = {}): TFakeGoal {
      const goal: TFakeGoal = { id: id('goal'), key, lifecycle: 'draft', waitingFor: null, ...fields };
      goals.set(goal.id, goal);
      return goal;
    },
    /** Activity calls of one kind for one goal. */
    count(name: string, goalId: string): number {
      return calls.filter((c) => c.startsWith(`${name} ${goalId}`)).length;
    },
  };
}

export type TFakeGoals = ReturnType<typeof createFakeGoals>;
