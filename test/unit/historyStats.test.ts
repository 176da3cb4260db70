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

describe('statsOf: workflow tasks', () => {
  it('times each completed task from its scheduling to its start, and from its start to its completion', () => {
    const stats = statsOf([
      history([
        [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, T],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, T],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, T + 2],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, T + 12],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, T + 50],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, T + 54],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, T + 84],
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
        [EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, T + 5000],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, T + 5010],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, T + 5020],
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
        [EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, T + 10_300],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, T + 10_304],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, T + 10_310],
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
    const one = statsOf([
      history([
        [EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, T],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, T + 10],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, T + 20],
      ]),
    ]);
    const three = statsOf([
      history([
        [EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, T],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, T + 2],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, T + 4],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, T + 5],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, T + 7],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, T + 9],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, T + 10],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, T + 12],
        [EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, T + 14],
      ]),
    ]);
    const older = { ...one };
    delete older.workflowTasks;
    expect(worstOf([one, three, older])?.workflowTasks).toEqual({ count: 4, meanQueueMs: 4, meanRunMs: 4 });
    expect(worstOf([older])?.workflowTasks).toBeUndefined();
  });
});
