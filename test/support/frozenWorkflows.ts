import type { PrismaClient } from '../../src/db/client';
import { insertWorkflowVersion, type SavedWorkflow } from '../../src/db/workflows';
import { contentHash, FROZEN_FORMAT, type TFrozenPlan, type TWorkflowInput } from '../../src/domain/frozenPlans';
import { newId } from '../../src/domain/ids';
import { requiredRuntimes } from '../../src/domain/runtimeRequirements';
import type { TPlan } from '../../src/domain/plans';

/**
 * Saves a frozen plan as a workflow version straight through the database,
 * for tests and benchmarks of runs at sizes where building and accepting a
 * live tree first (what the API's save needs) is not what is measured.
 */
export async function saveFrozenWorkflow(
  prisma: PrismaClient,
  input: { agentId: string; name: string; title: string; intent?: string; plan: TPlan; description?: string; ownerUserId?: string; inputs?: TWorkflowInput[] },
): Promise<SavedWorkflow> {
  const frozen: TFrozenPlan = { format: FROZEN_FORMAT, root: { title: input.title, intent: input.intent ?? null, plan: input.plan } };
  return insertWorkflowVersion(prisma, {
    id: newId('wf'),
    ownerUserId: input.ownerUserId ?? 'user_local',
    ownerAgentId: null,
    agentId: input.agentId,
    name: input.name,
    description: input.description ?? null,
    inputs: input.inputs ?? [],
    format: FROZEN_FORMAT,
    frozenPlan: frozen,
    contentHash: contentHash(frozen),
    fullyFrozen: true,
    requiredRuntimes: requiredRuntimes(frozen),
    sourceGoalId: null,
    sourceRunId: null,
  });
}
