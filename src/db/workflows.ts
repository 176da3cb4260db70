import type { TCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import { ZFrozenPlan, ZWorkflowInput, type TFrozenPlan, type TWorkflowInput } from '../domain/frozenPlans';
import { z } from '../domain/zod';
import { Prisma, TRANSACTION_OPTIONS, type PrismaClient, type TDb } from './client';
import type { SavedWorkflow as TSavedWorkflowRow } from './generated/prisma/client';
import { parseStored } from './stored';

/**
 * Saved workflows (SPEC §3): immutable version rows. Versions count up per
 * (owner, name) from 1; concurrent saves of one name are serialized by a
 * transaction-scoped advisory lock on (owner, name), and a unique violation
 * (which the lock makes unexpected) is retried a bounded number of times.
 */

/** A saved workflow with its stored JSON parsed (frozen plan, declared inputs). */
export type SavedWorkflow = Omit<TSavedWorkflowRow, 'frozenPlan' | 'inputs'> & { frozenPlan: TFrozenPlan; inputs: TWorkflowInput[] };
/** A saved workflow without its frozen plan (lists). */
export type TWorkflowSummary = Omit<SavedWorkflow, 'frozenPlan'>;

const ZDeclaredInputs = z.array(ZWorkflowInput);

const described = (row: { id: string; name: string; version: number }) => `workflow ${row.id} (${row.name} v${row.version})`;

function summaryOf<R extends Omit<TSavedWorkflowRow, 'frozenPlan'>>(row: R): Omit<R, 'inputs'> & { inputs: TWorkflowInput[] } {
  return { ...row, inputs: parseStored(ZDeclaredInputs, row.inputs, `${described(row)}'s inputs`) };
}

/** Parses a row's JSON once per read (a big frozen plan included: callers that read one often keep it, see activities/runs.ts). */
function savedWorkflowOf(row: TSavedWorkflowRow): SavedWorkflow {
  return { ...summaryOf(row), frozenPlan: parseStored(ZFrozenPlan, row.frozenPlan, `${described(row)}'s frozen plan`) };
}

/** Who owns a workflow: a user XOR an agent (a CHECK in the migration). */
export interface TOwner {
  ownerUserId: string | null;
  ownerAgentId: string | null;
}

export function ownerWhere(owner: TOwner): { ownerUserId: string | null; ownerAgentId: string | null } {
  return { ownerUserId: owner.ownerUserId, ownerAgentId: owner.ownerAgentId };
}

export type TNewWorkflowVersion = Omit<Prisma.SavedWorkflowUncheckedCreateInput, 'version' | 'createdAt' | 'frozenPlan' | 'inputs'> & {
  frozenPlan: TFrozenPlan;
  inputs: TWorkflowInput[];
};

const SAVE_ATTEMPTS = 3;

/** Inserts the next version of (owner, name). */
export async function insertWorkflowVersion(prisma: PrismaClient, row: TNewWorkflowVersion): Promise<SavedWorkflow> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await prisma.$transaction(async (tx) => {
        const lockKey = `${row.ownerUserId ?? ''}|${row.ownerAgentId ?? ''}|${row.name}`;
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`;
        const latest = await tx.savedWorkflow.aggregate({
          where: { ownerUserId: row.ownerUserId ?? null, ownerAgentId: row.ownerAgentId ?? null, name: row.name },
          _max: { version: true },
        });
        // Written from typed values: returned as they are, not parsed back.
        const created = await tx.savedWorkflow.create({ data: { ...row, frozenPlan: row.frozenPlan as Prisma.InputJsonObject, version: (latest._max.version ?? 0) + 1 } });
        return { ...created, frozenPlan: row.frozenPlan, inputs: row.inputs };
      }, TRANSACTION_OPTIONS);
    } catch (err) {
      const unique = err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
      if (!unique) throw err;
      if (attempt >= SAVE_ATTEMPTS) throw new DomainError('CONFLICT', `another save of "${row.name}" took the same version; try again`);
    }
  }
}

export async function findOwnedWorkflow(db: TDb, owner: TOwner, id: string): Promise<SavedWorkflow> {
  const found = await db.savedWorkflow.findFirst({ where: { id, ...ownerWhere(owner) } });
  if (!found) throw new DomainError('NOT_FOUND', `workflow ${id} not found`);
  return savedWorkflowOf(found);
}

/** Any workflow by id (activities act for whoever owns it). */
export async function findWorkflow(db: TDb, id: string): Promise<SavedWorkflow | null> {
  const found = await db.savedWorkflow.findUnique({ where: { id } });
  return found && savedWorkflowOf(found);
}

/** `name@version` of one owner, or null. */
export async function findWorkflowVersion(db: TDb, owner: TOwner, name: string, version: number): Promise<SavedWorkflow | null> {
  const found = await db.savedWorkflow.findFirst({ where: { ...ownerWhere(owner), name, version } });
  return found && savedWorkflowOf(found);
}

/** Workflow summaries (no frozen plan), newest first, with how many runs each has. */
export async function listOwnedWorkflows(
  prisma: PrismaClient,
  owner: TOwner,
  filters: { name?: string },
  after: TCursor | undefined,
  take: number,
): Promise<(TWorkflowSummary & { runCount: number })[]> {
  const rows = await prisma.savedWorkflow.findMany({
    where: {
      ...ownerWhere(owner),
      ...(filters.name ? { name: filters.name } : {}),
      ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
    },
    omit: { frozenPlan: true },
    include: { _count: { select: { runs: true } } },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take,
  });
  return rows.map(({ _count, ...row }) => ({ ...summaryOf(row), runCount: _count.runs }));
}

export async function countRuns(db: TDb, savedWorkflowId: string): Promise<number> {
  return db.run.count({ where: { savedWorkflowId } });
}

/**
 * Deletes a workflow that has no runs. The row lock it takes conflicts with
 * the key-share lock a run claim's foreign key takes on the workflow row: a
 * claim committed first makes this a 409; a claim waiting behind it fails as
 * NOT_FOUND (see claimRun). Never an orphan run.
 */
export async function deleteOwnedWorkflow(prisma: PrismaClient, owner: TOwner, id: string): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM workflows WHERE id = ${id} AND owner_user_id IS NOT DISTINCT FROM ${owner.ownerUserId} AND owner_agent_id IS NOT DISTINCT FROM ${owner.ownerAgentId} FOR UPDATE`;
    if (!locked.length) throw new DomainError('NOT_FOUND', `workflow ${id} not found`);
    const runs = await tx.run.count({ where: { savedWorkflowId: id } });
    if (runs > 0) throw new DomainError('CONFLICT', `workflow ${id} has ${runs} run${runs === 1 ? '' : 's'}; a workflow with runs is kept (their goals name it)`);
    try {
      await tx.savedWorkflow.delete({ where: { id } });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && (err.code === 'P2003' || err.code === 'P2014')) {
        throw new DomainError('CONFLICT', `workflow ${id} is still referred to by goals; it is kept`);
      }
      throw err;
    }
  }, TRANSACTION_OPTIONS);
}

/** The newest version of a name (a schedule that follows the latest runs it). */
export async function latestWorkflowVersion(db: TDb, owner: TOwner, name: string): Promise<SavedWorkflow | null> {
  const found = await db.savedWorkflow.findFirst({ where: { ...ownerWhere(owner), name }, orderBy: { version: 'desc' } });
  return found && savedWorkflowOf(found);
}
