import { findAgent } from '../db/agents';
import type { TDb } from '../db/client';
import { resolveWorkflowRefs } from '../db/workflowRefs';
import type { TOwner } from '../db/workflows';
import type { TPlan } from '../domain/plans';
import type { TFrozenPlan } from '../domain/frozenPlans';
import { literalInternalHost } from '../lib/internalAddresses';
import { requireInternalAddressPrivilege, requireScheduleReach, requireWorkflowRuntimes } from '../domain/runtimeRequirements';

/**
 * Running commands is a privilege (SPEC §6), and a saved workflow carries its
 * commands with it: whoever runs, references or schedules one needs the
 * runtimes it records (domain/runtimeRequirements). These are the checks the
 * services make at those doors; the leaf activity checks the goal's agent
 * again when a leaf runs, so a privilege revoked later still takes effect.
 */

/** A workflow's requirement: its recorded runtimes, and (where the caller has read it) its frozen plan, for the internal addresses its own requests name. */
type TRequirement = { name: string; version: number; requiredRuntimes: readonly string[]; frozenPlan?: TFrozenPlan };

/** What a caller tried, as the refusal says it: "agent X may not <doing> workflow N@V". */
export type TPrivilegedDoing = 'run' | 'schedule' | 'trigger a schedule of' | 'backfill a schedule of' | 'change a schedule of';

/**
 * Refuses (400 RUNTIME_NOT_ALLOWED) unless the agent may use every runtime the workflow needs and, given the
 * frozen plan, may reach the internal addresses its own requests name literally (host names: at request time).
 */
export async function requireAgentRuntimes(db: TDb, agentId: string, workflow: TRequirement, doing: TPrivilegedDoing): Promise<void> {
  const agent = await findAgent(db, agentId);
  requireWorkflowRuntimes(agent, workflow, doing);
  if (workflow.frozenPlan) requireInternalAddressPrivilege(agent, { ...workflow, frozenPlan: workflow.frozenPlan }, doing, literalInternalHost);
}

/**
 * Refuses (400 RUNTIME_NOT_ALLOWED) a caller without shell asking for fires
 * of a schedule whose fires may reach internal addresses (domain/runtimeRequirements
 * `requireScheduleReach`): the fires of `workflow` (its agent) made for the
 * schedule's creator (null for a schedule made before creators were kept).
 */
export async function requireScheduleCallerReach(
  db: TDb,
  callerId: string,
  workflow: TRequirement & { agentId: string },
  creatorId: string | null,
  doing: TPrivilegedDoing,
): Promise<void> {
  if (!workflow.requiredRuntimes.includes('http')) return;
  const caller = await findAgent(db, callerId);
  if (caller.allowedRuntimes.includes('shell')) return;
  const [agent, creator] = await Promise.all([findAgent(db, workflow.agentId), creatorId ? findAgent(db, creatorId) : Promise.resolve(null)]);
  requireScheduleReach(caller, workflow, { agent, creator }, doing);
}

/**
 * Refuses a plan that names a workflow (`"workflow": "name@version"`, nested
 * plans included) needing a runtime one of `agentIds` may not use: the
 * goal's agent, and the caller's when it submits a plan for another agent's goal.
 */
export async function requireReferencedRuntimes(db: TDb, owner: TOwner, plan: TPlan | null | undefined, agentIds: readonly string[]): Promise<void> {
  const refs = await resolveWorkflowRefs(db, owner, plan ?? null);
  if (!refs.length) return;
  const agents = await Promise.all([...new Set(agentIds)].map((id) => findAgent(db, id)));
  for (const ref of refs) {
    for (const agent of agents) requireWorkflowRuntimes(agent, ref.workflow, 'reference', `${ref.path}.workflow`);
  }
}
