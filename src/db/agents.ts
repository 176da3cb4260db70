import type { TCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import { Prisma, TRANSACTION_OPTIONS, type Agent, type PrismaClient, type TDb } from './client';

/**
 * Agents (SPEC §1): executor identities with the runtimes and limits their
 * goals run under. Every agent the API shows belongs to a user; agents
 * without one (none are made today) are left to the operator.
 */

/** An agent with its stored limits; NOT_FOUND when there is none. Inside a transaction, pass its client. */
export async function findAgent(db: TDb, agentId: string): Promise<Agent> {
  const agent = await db.agent.findUnique({ where: { id: agentId } });
  if (!agent) throw new DomainError('NOT_FOUND', `agent ${agentId} not found`);
  return agent;
}

/** A user's agent (404 for anyone else's: ids don't leak). */
export async function findOwnedAgent(db: TDb, ownerUserId: string, id: string): Promise<Agent> {
  const agent = await db.agent.findFirst({ where: { id, ownerUserId } });
  if (!agent) throw new DomainError('NOT_FOUND', `agent ${id} not found`);
  return agent;
}

/** A user's agent by id or name (names are unique and never look like ids); 404 for anyone else's. */
export async function findOwnedAgentByIdOrName(db: TDb, ownerUserId: string, idOrName: string): Promise<Agent> {
  const agent = await db.agent.findFirst({ where: { ownerUserId, OR: [{ id: idOrName }, { name: idOrName }] } });
  if (!agent) throw new DomainError('NOT_FOUND', `agent ${idOrName} not found`);
  return agent;
}

/** A user's agents, newest first. */
export async function listOwnedAgents(db: TDb, ownerUserId: string, after: TCursor | undefined, take: number): Promise<Agent[]> {
  return db.agent.findMany({
    where: { ownerUserId, ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}) },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take,
  });
}

export interface TAgentSettings {
  allowedRuntimes: string[];
  maxDepth: number;
  maxChildren: number;
  maxGoals: number;
  defaultParallelism: number;
}

function nameTaken(name: string): DomainError {
  return new DomainError('CONFLICT', `an agent named "${name}" already exists; agent names are unique`);
}

/** A new agent of a user; CONFLICT when the name is taken (names are unique across users: operators address agents by name). */
export async function insertAgent(db: TDb, row: { id: string; name: string; ownerUserId: string } & TAgentSettings): Promise<Agent> {
  try {
    return await db.agent.create({ data: row });
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') throw nameTaken(row.name);
    throw err;
  }
}

/** Changes a user's agent's runtimes and limits (its name and owner never change). */
export async function updateOwnedAgent(db: TDb, ownerUserId: string, id: string, patch: Partial<TAgentSettings>): Promise<Agent> {
  const { count } = await db.agent.updateMany({ where: { id, ownerUserId }, data: patch });
  if (count === 0) throw new DomainError('NOT_FOUND', `agent ${id} not found`);
  return findOwnedAgent(db, ownerUserId, id);
}

/** What refers to an agent, counted. */
export interface TAgentUses {
  goals: number;
  workflows: number;
  schedules: number;
  runs: number;
  tokens: number;
}

/** Why an agent is in use: what refers to it, counted (only what does). */
async function usesOf(db: TDb, id: string): Promise<TAgentUses> {
  const now = new Date();
  const [goals, workflows, planned, schedules, runs, tokens] = await Promise.all([
    // Goals a plan it submitted wrote count too: their leaves check its runtimes.
    db.goal.count({ where: { OR: [{ agentId: id }, { ownerAgentId: id }, { plannedByAgentId: id }] } }),
    db.savedWorkflow.count({ where: { OR: [{ agentId: id }, { ownerAgentId: id }] } }),
    // Versions that record it as a planner (their runs' goals will): a rare question, answered by a scan.
    db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM workflows w
      WHERE (w.agent_id <> ${id} AND w.owner_agent_id IS DISTINCT FROM ${id})
        AND EXISTS (SELECT 1 FROM jsonb_each_text(w.planners) p WHERE p.value = ${id})`,
    db.schedule.count({ where: { OR: [{ ownerAgentId: id }, { createdByAgentId: id }] } }),
    // Runs it asked for: their leaves check its runtimes (the acting agent).
    db.run.count({ where: { requestedByAgentId: id } }),
    db.apiToken.count({ where: { agentId: id, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] } }),
  ]);
  return { goals, workflows: workflows + (planned[0]?.n ?? 0), schedules, runs, tokens };
}

/**
 * What a 409 for an agent in use says: what uses it, then what would free
 * it. Goals and runs are never deleted, so an agent with either is kept for
 * good (no point sending anyone to revoke tokens first); workflows and
 * schedules can be deleted and tokens revoked.
 */
export function agentInUseMessage(name: string, uses: TAgentUses): string | undefined {
  const counted: [number, string, string][] = [
    [uses.goals, 'goal', 'goals'],
    [uses.workflows, 'workflow', 'workflows'],
    [uses.schedules, 'schedule', 'schedules'],
    [uses.runs, 'run', 'runs'],
    [uses.tokens, 'live token', 'live tokens'],
  ];
  const what = counted.filter(([n]) => n > 0).map(([n, one, many]) => `${n} ${n === 1 ? one : many}`);
  if (!what.length) return undefined;
  if (uses.goals > 0 || uses.runs > 0) {
    return `agent ${name} is in use by ${what.join(', ')}; goals and runs are never deleted, so an agent that has either is kept for good (it can stay unused; \`agent update\` can take runtimes away from it)`;
  }
  const steps = [
    ...(uses.schedules ? ['delete its schedules'] : []),
    ...(uses.workflows ? ['delete its workflows'] : []),
    ...(uses.tokens ? ['revoke its live tokens (`token list`, `token revoke`)'] : []),
  ];
  return `agent ${name} is in use by ${what.join(', ')}; to delete it, first ${steps.join(', then ')}`;
}

/**
 * Deletes a user's agent that nothing refers to. The row lock it takes
 * conflicts with the key-share lock a goal, workflow or schedule insert's
 * foreign key takes on the agent row: an insert committed first is counted
 * here (409); one waiting behind this fails its foreign key. Live tokens
 * count as a use: deleting the agent would revoke them silently (their rows
 * cascade), so they are revoked first, on purpose. A user keeps at least one
 * agent, because a user token runs its goals under the user's first agent.
 */
export async function deleteOwnedAgent(prisma: PrismaClient, ownerUserId: string, id: string): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<{ name: string }[]>`SELECT name FROM agents WHERE id = ${id} AND owner_user_id = ${ownerUserId} FOR UPDATE`;
    const agent = locked[0];
    if (!agent) throw new DomainError('NOT_FOUND', `agent ${id} not found`);
    const uses = await usesOf(tx, id);
    const inUse = agentInUseMessage(agent.name, uses);
    if (inUse) throw new DomainError('CONFLICT', inUse, { uses });
    const others = await tx.agent.count({ where: { ownerUserId, id: { not: id } } });
    if (others === 0) throw new DomainError('CONFLICT', `agent ${agent.name} is its user's only agent; a user's tokens run goals under it, so it is kept`);
    try {
      await tx.agent.delete({ where: { id } });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && (err.code === 'P2003' || err.code === 'P2014')) {
        throw new DomainError('CONFLICT', `agent ${agent.name} came into use while it was being deleted; it is kept`);
      }
      throw err;
    }
  }, TRANSACTION_OPTIONS);
}
