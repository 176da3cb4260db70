// The baseline for `npm run bench`: what a user would write with bare
// Temporal instead of Reprise, doing the same leaf work (spawn `true`, insert
// one row through `pg`). Workflow code: bundled for the bench's bare worker.
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { TBareActivities } from './bareActivities';

const { bareLeaf } = proxyActivities<TBareActivities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 3 } });

export async function bareFanOut(n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => bareLeaf(`${workflowInfo().workflowId}/${i}`)));
}

export async function bareChain(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await bareLeaf(`${workflowInfo().workflowId}/${i}`);
}

export async function bareNested(groups: number, n: number): Promise<void> {
  const id = workflowInfo().workflowId;
  await Promise.all(Array.from({ length: groups }, (_, g) => executeChild(bareFanOut, { workflowId: `${id}-g${g}`, args: [n] })));
}
