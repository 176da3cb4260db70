import { temporal } from '@temporalio/proto';
import { statsOf } from '../support/historyStats';
import { worstOf } from '../../scripts/bench/results';

const { EventType } = temporal.api.enums.v1;
type TEvent = temporal.api.history.v1.IHistoryEvent;

/** A history from (event type, ms since the epoch) pairs, ids in order. */
function history(events: [temporal.api.enums.v1.EventType, number][]): temporal.api.history.v1.IHistory {
  return {
    events: events.map(
      ([eventType, atMs], i): TEvent =>
        temporal.api.history.v1.HistoryEvent.fromObject({ eventId: i + 1, eventType, eventTime: { seconds: Math.floor(atMs / 1000), nanos: (atMs % 1000) * 1e6 } }),
    ),
  };
}

const T = 1_700_000_000_000;

/** One workflow task that completed: scheduled at `at`, started `waitMs` later, completed `runMs` after that. */
function task(at: number, waitMs: number, runMs: number): [temporal.api.enums.v1.EventType, number][] {
  return [
    [EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, at],
    [EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, at + waitMs],
    [EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, at + waitMs + runMs],
  ];
}

describe('statsOf: workflow tasks', () => {
  it('times each completed task from its scheduling to its start, and from its start to its completion', () => {
    const stats = statsOf([
      history([
        [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, T],
        ...task(T, 2, 10),
        ...task(T + 50, 4, 30),
      ]),
    ]);
    expect(stats.workflowTasks).toEqual({ count: 2, meanQueueMs: 3, meanRunMs: 20 });
    expect(stats.maxTaskMs).toBe(30);
  });

  it('counts a sticky queue wait that timed out in the wait of the task rescheduled after it', () => {
    const stats = statsOf([
      history([
        [EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, T],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, T + 5000],
        ...task(T + 5000, 10, 10),
      ]),
    ]);
    expect(stats.workflowTasks).toEqual({ count: 1, meanQueueMs: 5010, meanRunMs: 10 });
  });

  it('leaves a task that ran and failed or timed out out of the means (not out of the slowest), and times the next from its own scheduling', () => {
    const stats = statsOf([
      history([
        [EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, T],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, T + 1],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, T + 100],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, T + 200],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, T + 201],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, T + 10_201],
        ...task(T + 10_300, 4, 6),
      ]),
    ]);
    expect(stats.workflowTasks).toEqual({ count: 1, meanQueueMs: 4, meanRunMs: 6 });
    expect(stats.maxTaskMs).toBe(10_000);
    expect(stats.slowest?.eventId).toBe(6);
  });

  it('has no workflow-task figures for histories without a completed task', () => {
    expect(statsOf([history([[EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, T]])]).workflowTasks).toBeUndefined();
  });
});

describe('worstOf: workflow tasks', () => {
  it('weighs each set of stats by its tasks, and keeps stats recorded without them out of the mean', () => {
    const one = statsOf([history(task(T, 10, 10))]);
    const three = statsOf([history([...task(T, 2, 2), ...task(T + 5, 2, 2), ...task(T + 10, 2, 2)])]);
    const older = { ...one };
    delete older.workflowTasks;
    expect(worstOf([one, three, older])?.workflowTasks).toEqual({ count: 4, meanQueueMs: 4, meanRunMs: 4 });
    expect(worstOf([older])?.workflowTasks).toBeUndefined();
  });
});
