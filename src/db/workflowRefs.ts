import type { TNestedRunRow } from './runs';
import { findWorkflowRef, frozenPlanOf, type TOwner } from './workflows';
import type { TDb } from './client';
import { DomainError } from '../domain/errors';
import { resolveInputs, workflowRefsIn, type TWorkflowInput } from '../domain/frozenPlans';
import { childGoalIdAt, runId as deriveRunId, inputsHash, nestedRunKey, runTemporalWorkflowId } from '../domain/ids';
import { parseWorkflowRef, type TPlan } from '../domain/plans';
import { NO_FOOTPRINT, parsedRefs, planFootprint, type TPlanFootprint } from '../domain/planSize';

/**
 * Plan children that name a saved workflow (`"workflow": "name@version"`):
 * resolved against the owner's workflows, with their inputs checked against
 * what the named workflow declares, and turned into nested runs. Used when a
 * plan is saved (checks only), installed live, and materialized by a run.
 */

export interface TResolvedRef {
  path: string;
  workflow: { id: string; name: string; version: number; inputs: TWorkflowInput[]; fullyFrozen: boolean; requiredRuntimes: string[]; planned: boolean };
  inputs: Record<string, string>;
}

/** Resolves every reference in a plan (nested plans included); unknown workflows and bad inputs are 400s naming where. */
export async function resolveWorkflowRefs(db: TDb, owner: TOwner, plan: TPlan | null, at = 'plan'): Promise<TResolvedRef[]> {
  const refs = workflowRefsIn(plan, at);
  const cache = new Map<string, TResolvedRef['workflow'] | null>();
  const resolved: TResolvedRef[] = [];
  const problems: { path: string; message: string }[] = [];
  for (const ref of refs) {
    const parsed = parseWorkflowRef(ref.ref);
    if (!parsed) {
      // A request's plan schema refuses it; a stored plan is read without patterns, so it is refused here.
      problems.push({ path: `${ref.path}.workflow`, message: `"${ref.ref}" is not a workflow reference (name@version)` });
      continue;
    }
    // One header query per distinct reference: the named workflow's plan is neither read nor parsed.
    if (!cache.has(ref.ref)) cache.set(ref.ref, await findWorkflowRef(db, owner, parsed.name, parsed.version));
    const workflow = cache.get(ref.ref);
    if (!workflow) {
      problems.push({ path: `${ref.path}.workflow`, message: `no workflow ${ref.ref} (name@version among your saved workflows)` });
      continue;
    }
    try {
      // Placeholders are checked where they are declared; here only names and required inputs.
      resolveInputs(workflow.inputs, ref.inputs);
    } catch (err) {
      problems.push({ path: `${ref.path}.inputs`, message: `${ref.ref}: ${(err as Error).message}` });
      continue;
    }
    resolved.push({ path: ref.path, workflow, inputs: ref.inputs });
  }
  if (problems.length) {
    throw new DomainError('VALIDATION_FAILED', `workflow references: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
  }
  return resolved;
}

/**
 * The nested runs a plan creates under `parent` (a live install writes the
 * whole plan; a run's layer only its own children, `deep: false`). Inputs
 * given to a nested run are resolved against its workflow's declarations.
 * `requestedByAgentId` is the nested runs' acting agent: the outer run's, or
 * the agent whose request installs a live plan.
 */
export async function nestedRunsFor(
  db: TDb,
  owner: TOwner,
  parent: { id: string; runId: string | null; requestedByAgentId: string | null },
  plan: TPlan,
  options: { deep: boolean },
): Promise<TNestedRunRow[]> {
  const shallow = options.deep ? plan : { ...plan, children: plan.children.map((c) => (c.kind === 'composite' ? { ...c, plan: undefined } : c)) };
  const refs = await resolveWorkflowRefs(db, owner, shallow);
  return refs.map((ref) => {
    const childId = childGoalIdAt(parent.id, plan, ref.path);
    const key = nestedRunKey(childId);
    const values = resolveInputs(ref.workflow.inputs, ref.inputs);
    return {
      childGoalId: childId,
      run: {
        id: deriveRunId(ref.workflow.id, key),
        savedWorkflowId: ref.workflow.id,
        idempotencyKey: key,
        inputs: values,
        inputsHash: inputsHash(ref.inputs),
        temporalWorkflowId: runTemporalWorkflowId(ref.workflow, key),
        parentRunId: parent.runId,
        requestedByAgentId: parent.requestedByAgentId,
      },
      rows: { runId: deriveRunId(ref.workflow.id, key), savedWorkflowId: ref.workflow.id, savedWorkflowVersion: ref.workflow.version, planned: ref.workflow.planned },
    };
  });
}

/**
 * Footprints of saved versions by workflow id: a version never changes, nor
 * do the versions it names, so an entry never goes stale. Bounded by count.
 */
const FOOTPRINT_CACHE_SIZE = 1000;
const footprints = new Map<string, TPlanFootprint>();

/**
 * What each workflow a plan names (`name@version`, nested plans included)
 * adds to the tree as a nested run: the goals below the child that runs it
 * and how deep they go, transitively through the workflows it names in
 * turn. References that resolve to nothing are left out (refused elsewhere).
 */
export async function refFootprints(db: TDb, owner: TOwner, plan: TPlan | null, visiting: Set<string> = new Set()): Promise<Map<string, TPlanFootprint>> {
  const out = new Map<string, TPlanFootprint>();
  for (const { ref, name, version } of parsedRefs(workflowRefsIn(plan).map((r) => r.ref))) {
    const workflow = await findWorkflowRef(db, owner, name, version);
    if (workflow) out.set(ref, await workflowFootprint(db, owner, workflow, visiting));
  }
  return out;
}

async function workflowFootprint(db: TDb, owner: TOwner, workflow: { id: string; name: string; version: number }, visiting: Set<string>): Promise<TPlanFootprint> {
  const hit = footprints.get(workflow.id);
  if (hit) return hit;
  // A version names only versions saved before it, so the API cannot make a cycle; a row written otherwise counts once.
  if (visiting.has(workflow.id)) return NO_FOOTPRINT;
  visiting.add(workflow.id);
  const plan = (await frozenPlanOf(db, workflow)).root.plan;
  const footprint = planFootprint(plan, await refFootprints(db, owner, plan, visiting));
  visiting.delete(workflow.id);
  if (footprints.size >= FOOTPRINT_CACHE_SIZE) footprints.delete(footprints.keys().next().value as string);
  footprints.set(workflow.id, footprint);
  return footprint;
}
