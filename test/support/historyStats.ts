import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/**
 * What Temporal recorded for a set of executions: how long their histories
 * got and how long their workflow tasks took (WorkflowTaskStarted to
 * WorkflowTaskCompleted, by the server's clock). Used by the scale test and
 * the benchmark to assert and report the engine's limits.
 */
export interface THistoryStats {
  /** The slowest workflow task: which workflow, its event id, and what the workflow did just before. */
  slowest?: { workflowId: string; eventId: number; ms: number };
  executions: number;
  /** Activities: mean wait on the task queue (scheduled → started) and mean run (started → completed), ms. */
  activities: { count: number; meanQueueMs: number; meanRunMs: number };
  /**
   * Workflow tasks that completed: mean wait for a worker (first scheduled →
   * started, a sticky queue's timed-out wait included) and mean run (started →
   * completed), ms. Absent when no task completed, and in results recorded before a663e6e.
   */
  workflowTasks?: { count: number; meanQueueMs: number; meanRunMs: number };
  totalEvents: number;
  maxEvents: number;
  maxBytes: number;
  maxTaskMs: number;
}

const { EventType } = temporal.api.enums.v1;

function ms(t: temporal.api.history.v1.IHistoryEvent['eventTime']): number {
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

export function statsOf(histories: temporal.api.history.v1.IHistory[]): THistoryStats {
  const stats: THistoryStats = {
    executions: histories.length,
    activities: { count: 0, meanQueueMs: 0, meanRunMs: 0 },
    totalEvents: 0,
    maxEvents: 0,
    maxBytes: 0,
    maxTaskMs: 0,
  };
  const tasks = { count: 0, queueMs: 0, runMs: 0 };
  const slowestSoFar = (took: number, eventId: number, events: temporal.api.history.v1.IHistoryEvent[]): void => {
    if (took <= stats.maxTaskMs) return;
    stats.maxTaskMs = took;
    const first = events[0]?.workflowExecutionStartedEventAttributes;
    stats.slowest = { workflowId: `${first?.workflowType?.name ?? '?'} (${events.length} events)`, eventId, ms: took };
  };
  let queueMs = 0;
  let runMs = 0;
  for (const history of histories) {
    const events = history.events ?? [];
    stats.totalEvents += events.length;
    stats.maxEvents = Math.max(stats.maxEvents, events.length);
    stats.maxBytes = Math.max(stats.maxBytes, temporal.api.history.v1.History.encode(history).finish().length);
    let started: number | undefined;
    let taskScheduled: number | undefined;
    const scheduledAt = new Map<number, number>();
    const startedAt = new Map<number, number>();
    for (const e of events) {
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) scheduledAt.set(Number(e.eventId), ms(e.eventTime));
      else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) startedAt.set(Number(e.activityTaskStartedEventAttributes?.scheduledEventId), ms(e.eventTime));
      else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
        const id = Number(e.activityTaskCompletedEventAttributes?.scheduledEventId);
        const at = startedAt.get(id);
        if (at !== undefined) {
          stats.activities.count += 1;
          queueMs += at - (scheduledAt.get(id) ?? at);
          runMs += ms(e.eventTime) - at;
        }
      }
      // A task rescheduled after its sticky queue's wait timed out (never started) waits from its first scheduling.
      if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) taskScheduled ??= ms(e.eventTime);
      else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) started = ms(e.eventTime);
      else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED || (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT && started !== undefined)) {
        // A task that ran and did not complete: it may be the slowest (out of the means); the next one is a task of its own.
        if (started !== undefined) slowestSoFar(ms(e.eventTime) - started, Number(e.eventId), events);
        started = undefined;
        taskScheduled = undefined;
      } else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && started !== undefined) {
        const took = ms(e.eventTime) - started;
        tasks.count += 1;
        tasks.runMs += took;
        tasks.queueMs += started - (taskScheduled ?? started);
        slowestSoFar(took, Number(e.eventId), events);
        started = undefined;
        taskScheduled = undefined;
      }
    }
  }
  if (stats.activities.count) {
    stats.activities.meanQueueMs = Math.round(queueMs / stats.activities.count);
    stats.activities.meanRunMs = Math.round(runMs / stats.activities.count);
  }
  if (tasks.count) stats.workflowTasks = { count: tasks.count, meanQueueMs: round1(tasks.queueMs / tasks.count), meanRunMs: round1(tasks.runMs / tasks.count) };
  return stats;
}

/** Every execution (each run of a continue-as-new chain too) that a visibility query finds, with its history. */
export async function historiesOf(client: Client, query: string): Promise<temporal.api.history.v1.IHistory[]> {
  const out: temporal.api.history.v1.IHistory[] = [];
  for await (const execution of client.workflow.list({ query })) {
    out.push(await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory());
  }
  return out;
}

/** Stats for every execution of a goal tree (root, composite children, and every run of each). */
export async function treeHistoryStats(client: Client, rootGoalId: string): Promise<THistoryStats> {
  return statsOf(await historiesOf(client, `RepriseRootGoalId = '${rootGoalId}'`));
}
