import type { Goal, PrismaClient } from '../db/client';
import { nestedRunsRootedAt } from '../db/runs';
import { runSummary, type TRunTarget } from '../temporal/starts';

/** The run targets of children that are nested runs' roots (the engine starts them as runs). */
export async function nestedRunTargets(prisma: PrismaClient, children: Goal[]): Promise<Map<string, TRunTarget>> {
  if (!children.length) return new Map();
  const runs = await nestedRunsRootedAt(
    prisma,
    children.map((c) => c.id),
  );
  const targets = new Map<string, TRunTarget>();
  for (const child of children) {
    const run = runs.get(child.id);
    if (!run) continue;
    const workflow = { name: run.savedWorkflow.name, version: run.savedWorkflow.version };
    targets.set(child.id, {
      id: run.id,
      temporalWorkflowId: run.temporalWorkflowId,
      rootGoalId: child.rootId,
      workflow,
      summary: runSummary(workflow, run.inputs, run.idempotencyKey),
    });
  }
  return targets;
}
