import {
  ApplicationFailure,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  executeChild,
  ParentClosePolicy,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { SA_TEMPORAL_SCHEDULED_START_TIME } from '../domain/searchAttributes';
import { PERFORM_RUN_TYPE, performRunStart, type TFireScheduleInput, type TFireScheduleResult } from '../temporal/starts';
import type { performRun } from './performRun';
import { schedulingActivities, schedulingThroughOutages } from './proxies';

/** Fires started before the longer backoff (histories without this marker) replay with the old one. */
export const FIRE_DECISION_BACKOFF_PATCH = 'fire-decision-backoff-through-outages';

/**
 * fireSchedule: one fire of a schedule (SPEC §5), started by its Temporal
 * Schedule (and by `temporal schedule trigger` or a backfill alike). The
 * fire's nominal time comes from Temporal (TemporalScheduledStartTime), so
 * the run's key, (schedule id, nominal time), is the same however often the
 * fire is delivered. The fire either records why it made no tree, or runs
 * the run's performRun as its child and ends as the run ends, so Temporal's
 * own overlap policies (buffer, cancel other) see the run as running.
 */
export async function fireSchedule(input: TFireScheduleInput): Promise<TFireScheduleResult> {
  const info = workflowInfo();
  const nominal = info.typedSearchAttributes.get(SA_TEMPORAL_SCHEDULED_START_TIME) ?? info.startTime;
  const { tuning, ...config } = input;
  // The fire's decision is one short transaction: a local activity, retried until Postgres answers
  // (fires started before the longer backoff replay with the old one).
  const decide = patched(FIRE_DECISION_BACKOFF_PATCH) ? schedulingThroughOutages(tuning) : schedulingActivities(tuning);
  const fire = await decide.decideFire({ ...config, nominalTime: new Date(nominal).toISOString() });
  if (fire.kind === 'skipped') return { runId: fire.runId, skipped: fire.reason };
  try {
    const result = await executeChild<typeof performRun>(PERFORM_RUN_TYPE, {
      ...performRunStart(fire.target, tuning),
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    });
    return { runId: fire.target.id, lifecycle: result.lifecycle };
  } catch (err) {
    // An earlier delivery of this fire (or the run's own key, resumed) started it: the ledger has the rest.
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { runId: fire.target.id };
    if (err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure) throw err.cause;
    throw err;
  }
}
