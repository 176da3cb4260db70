import {
  ApplicationFailure,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  executeChild,
  ParentClosePolicy,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { TActivities } from '../activities';
import { FAILURE_TYPES } from '../domain/errors';
import { SA_TEMPORAL_SCHEDULED_START_TIME } from '../domain/searchAttributes';
import { RUN_WORKFLOW_TYPE, runWorkflowStart, type TScheduledRunInput, type TScheduledRunResult } from '../temporal/starts';
import type { runWorkflow } from './runWorkflow';

/** The fire's decision is one short transaction: a local activity, retried until Postgres answers. */
const scheduling = proxyLocalActivities<TActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: [FAILURE_TYPES.RunInvalid] },
});

/**
 * scheduledRun: one fire of a schedule (SPEC §5), started by its Temporal
 * Schedule (and by `temporal schedule trigger` or a backfill alike). The
 * fire's nominal time comes from Temporal (TemporalScheduledStartTime), so
 * the run's key, (schedule id, nominal time), is the same however often the
 * fire is delivered. The fire either records why it made no tree, or runs
 * the run's runWorkflow as its child and ends as the run ends, so Temporal's
 * own overlap policies (buffer, cancel other) see the run as running.
 */
export async function scheduledRun(input: TScheduledRunInput): Promise<TScheduledRunResult> {
  const info = workflowInfo();
  const nominal = info.typedSearchAttributes.get(SA_TEMPORAL_SCHEDULED_START_TIME) ?? info.startTime;
  const { tuning, ...config } = input;
  const fire = await scheduling.fireSchedule({ ...config, nominalTime: new Date(nominal).toISOString() });
  if (fire.kind === 'skipped') return { runId: fire.runId, skipped: fire.reason };
  try {
    const result = await executeChild<typeof runWorkflow>(RUN_WORKFLOW_TYPE, {
      ...runWorkflowStart(fire.target, tuning),
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
