import type { TCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import { ZStoredFrozenPlan, ZStoredWorkflowInput, type TFrozenPlan, type TWorkflowInput } from '../domain/frozenPlans';
import { z } from '../domain/zod';
import { Prisma, TRANSACTION_OPTIONS, type PrismaClient, type TDb } from './client';
import type { SavedWorkflow as TSavedWorkflowRow } from './generated/prisma/client';
import { parseStored } from './stored';
import { readPlanners, type TPlanners } from '../domain/runtimeRequirements';

/**
 * Saved workflows (SPEC §3): immutable version rows. Versions count up per
 * (owner, name) from 1, and a number is never given twice (workflow_names
 * keeps the last given, past a deleted version); concurrent saves of one
 * name are serialized by a transaction-scoped advisory lock on (owner,
 * name), and a unique violation
 * (which the lock makes unexpected) is retried a bounded number of times.
 */

/** A saved workflow with its stored JSON parsed (frozen plan, declared inputs). */
export type SavedWorkflow = Omit<TSavedWorkflowRow, 'frozenPlan' | 'inputs' | 'planners'> & { frozenPlan: TFrozenPlan; inputs: TWorkflowInput[] };

/** What a header read leaves out: the plan, and who planned its goals (workflowPlannersOf; only a run's materialization reads it). */
const HEADER_OMIT = { frozenPlan: true, planners: true } as const;
/**
 * A saved workflow without its frozen plan: what ownership checks, deletes,
 * run listings and schedule fires need. Reading one never selects the plan,
 * so it stays cheap for a plan of any size and works for a row whose plan no
 * longer reads.
 */
export type TWorkflowHeader = Omit<SavedWorkflow, 'frozenPlan'>;
/** A saved workflow without its frozen plan (lists). */
export type TWorkflowSummary = TWorkflowHeader;

/** Stored rows are read leniently (domain/frozenPlans.ts): a row valid when saved always reads. */
const ZDeclaredInputs = z.array(ZStoredWorkflowInput);

const described = (row: { id: string; name: string; version: number }) => `workflow ${row.id} (${row.name} v${row.version})`;

function summaryOf<R extends Omit<TSavedWorkflowRow, 'frozenPlan' | 'planners'>>(row: R): Omit<R, 'inputs'> & { inputs: TWorkflowInput[] } {
  return { ...row, inputs: parseStored(ZDeclaredInputs, row.inputs, `${described(row)}'s inputs`) };
}

/**
 * Parsed frozen plans by workflow id, least recently used first. A saved
 * version never changes, so an entry never goes stale; parsing a big plan
 * (10,000 goals, ~2 MB) costs tens to hundreds of milliseconds, and runs,
 * layers, fires and nested references read the same few plans again and
 * again. Bounded by count (FROZEN_PLAN_CACHE_SIZE entries per process), not
 * by bytes. Entries are deep-frozen: callers share them and must not mutate.
 */
export const FROZEN_PLAN_CACHE_SIZE = 32;
const frozenPlans = new Map<string, TFrozenPlan>();

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

function rememberPlan(id: string, plan: TFrozenPlan): TFrozenPlan {
  frozenPlans.delete(id);
  frozenPlans.set(id, plan);
  while (frozenPlans.size > FROZEN_PLAN_CACHE_SIZE) frozenPlans.delete(frozenPlans.keys().next().value as string);
  return plan;
}

/** Tests and measurements: forget every cached plan. */
export function clearFrozenPlanCache(): void {
  frozenPlans.clear();
  plannerMaps.clear();
}

/**
 * A workflow's frozen plan: from the cache, or read (its column only) and
 * parsed once. NOT_FOUND when the row is gone; CONFLICT when it does not read.
 */
export async function frozenPlanOf(db: TDb, workflow: { id: string; name: string; version: number }): Promise<TFrozenPlan> {
  const hit = frozenPlans.get(workflow.id);
  if (hit) return rememberPlan(workflow.id, hit);
  const row = await db.savedWorkflow.findUnique({ where: { id: workflow.id }, select: { frozenPlan: true } });
  if (!row) throw new DomainError('NOT_FOUND', `workflow ${workflow.id} not found`);
  return rememberPlan(workflow.id, deepFreeze(parseStored(ZStoredFrozenPlan, row.frozenPlan, `${described(workflow)}'s frozen plan`)));
}

/** Parsed planners maps by workflow id (a version never changes), bounded like the plans. */
const plannerMaps = new Map<string, TPlanners>();

/**
 * Who planned a version's goals (domain/runtimeRequirements `TPlanners`):
 * from the cache, or read (its column only) and parsed once. NOT_FOUND when
 * the row is gone; CONFLICT when it does not read (a run then fails rather
 * than drop a planner).
 */
export async function workflowPlannersOf(db: TDb, workflow: { id: string; name: string; version: number }): Promise<TPlanners> {
  let planners = plannerMaps.get(workflow.id);
  if (!planners) {
    const row = await db.savedWorkflow.findUnique({ where: { id: workflow.id }, select: { planners: true } });
    if (!row) throw new DomainError('NOT_FOUND', `workflow ${workflow.id} not found`);
    const read = readPlanners(row.planners);
    if (!read) throw new DomainError('CONFLICT', `${described(workflow)}'s record of who planned its goals does not read`);
    planners = Object.freeze(read);
  }
  plannerMaps.delete(workflow.id);
  plannerMaps.set(workflow.id, planners);
  while (plannerMaps.size > FROZEN_PLAN_CACHE_SIZE) plannerMaps.delete(plannerMaps.keys().next().value as string);
  return planners;
}

async function withPlan(db: TDb, header: TWorkflowHeader): Promise<SavedWorkflow> {
  return { ...header, frozenPlan: await frozenPlanOf(db, header) };
}

/** Who owns a workflow: a user XOR an agent (a CHECK in the migration). */
export interface TOwner {
  ownerUserId: string | null;
  ownerAgentId: string | null;
}

export function ownerWhere(owner: TOwner): { ownerUserId: string | null; ownerAgentId: string | null } {
  return { ownerUserId: owner.ownerUserId, ownerAgentId: owner.ownerAgentId };
}

export type TNewWorkflowVersion = Omit<Prisma.SavedWorkflowUncheckedCreateInput, 'version' | 'createdAt' | 'frozenPlan' | 'inputs' | 'requiredRuntimes'> & {
  frozenPlan: TFrozenPlan;
  inputs: TWorkflowInput[];
  /** Never left out: a version's requirement is what run, reference and schedule check (domain/runtimeRequirements). */
  requiredRuntimes: string[];
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
        // A number is given once: past the highest row and the last number given, which a deleted version may have had.
        const owner = row.ownerUserId ? `user:${row.ownerUserId}` : `agent:${row.ownerAgentId ?? ''}`;
        const counter = await tx.workflowName.findUnique({ where: { owner_name: { owner, name: row.name } } });
        const version = Math.max(latest._max.version ?? 0, counter?.lastVersion ?? 0) + 1;
        await tx.workflowName.upsert({ where: { owner_name: { owner, name: row.name } }, create: { owner, name: row.name, lastVersion: version }, update: { lastVersion: version } });
        // Written from typed values: returned as they are, not parsed back.
        const created = await tx.savedWorkflow.create({ data: { ...row, frozenPlan: row.frozenPlan as Prisma.InputJsonObject, version } });
        return { ...created, frozenPlan: row.frozenPlan, inputs: row.inputs };
      }, TRANSACTION_OPTIONS);
    } catch (err) {
      const unique = err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
      if (!unique) throw err;
      if (attempt >= SAVE_ATTEMPTS) throw new DomainError('CONFLICT', `another save of "${row.name}" took the same version; try again`);
    }
  }
}

/** An owner's workflow without its plan (404 otherwise): ownership checks, deletes, run listings. */
export async function findOwnedWorkflowHeader(db: TDb, owner: TOwner, id: string): Promise<TWorkflowHeader> {
  const found = await db.savedWorkflow.findFirst({ where: { id, ...ownerWhere(owner) }, omit: HEADER_OMIT });
  if (!found) throw new DomainError('NOT_FOUND', `workflow ${id} not found`);
  return summaryOf(found);
}

export async function findOwnedWorkflow(db: TDb, owner: TOwner, id: string): Promise<SavedWorkflow> {
  return withPlan(db, await findOwnedWorkflowHeader(db, owner, id));
}

/** Any workflow by id, without its plan (activities act for whoever owns it). */
export async function findWorkflowHeader(db: TDb, id: string): Promise<TWorkflowHeader | null> {
  const found = await db.savedWorkflow.findUnique({ where: { id }, omit: HEADER_OMIT });
  return found && summaryOf(found);
}

/** Any workflow by id (activities act for whoever owns it). */
export async function findWorkflow(db: TDb, id: string): Promise<SavedWorkflow | null> {
  const header = await findWorkflowHeader(db, id);
  return header && withPlan(db, header);
}

/** What a plan child naming `name@version` needs of that workflow: its header, and whether it was saved planned (no plan parsed). */
export async function findWorkflowRef(
  db: TDb,
  owner: TOwner,
  name: string,
  version: number,
): Promise<(Pick<TWorkflowHeader, 'id' | 'name' | 'version' | 'inputs' | 'fullyFrozen' | 'requiredRuntimes'> & { planned: boolean }) | null> {
  const [row] = await db.$queryRaw<{ id: string; name: string; version: number; inputs: unknown; fully_frozen: boolean; required_runtimes: string[]; planned: boolean }[]>`
    SELECT id, name, version, inputs, fully_frozen, required_runtimes, jsonb_typeof(frozen_plan -> 'root' -> 'plan') = 'object' AS planned
      FROM workflows
     WHERE owner_user_id IS NOT DISTINCT FROM ${owner.ownerUserId} AND owner_agent_id IS NOT DISTINCT FROM ${owner.ownerAgentId}
       AND name = ${name} AND version = ${version}`;
  if (!row) return null;
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    inputs: parseStored(ZDeclaredInputs, row.inputs, `${described(row)}'s inputs`),
    fullyFrozen: row.fully_frozen,
    requiredRuntimes: row.required_runtimes,
    planned: row.planned,
  };
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
    omit: HEADER_OMIT,
    include: { _count: { select: { runs: true } } },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take,
  });
  return rows.map(({ _count, ...row }) => ({ ...summaryOf(row), runCount: _count.runs }));
}

export async function countRuns(db: TDb, savedWorkflowId: string): Promise<number> {
  return db.run.count({ where: { savedWorkflowId } });
}

/** Why a workflow with runs is never deleted (the 409 its delete answers). */
export function keptForRuns(id: string, runs: number): DomainError {
  return new DomainError('CONFLICT', `workflow ${id} has ${runs} run${runs === 1 ? '' : 's'}; a workflow with runs is kept (their goals name it)`);
}

/**
 * Deletes a workflow that has no runs. The row lock it takes conflicts with
 * the key-share lock a run claim's foreign key takes on the workflow row: a
 * claim committed first makes this a 409; a claim waiting behind it fails as
 * NOT_FOUND (see claimRun). Never an orphan run. Its schedules go with it
 * (their rows cascade); with `checkedSchedules`, the ones the caller looked
 * at in Temporal, a schedule made since (committed before the lock; one
 * waiting behind it fails on the foreign key) makes this a 409 instead, so
 * no schedule is deleted here that was not checked there.
 */
export async function deleteOwnedWorkflow(prisma: PrismaClient, owner: TOwner, id: string, checkedSchedules?: readonly string[]): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM workflows WHERE id = ${id} AND owner_user_id IS NOT DISTINCT FROM ${owner.ownerUserId} AND owner_agent_id IS NOT DISTINCT FROM ${owner.ownerAgentId} FOR UPDATE`;
    if (!locked.length) throw new DomainError('NOT_FOUND', `workflow ${id} not found`);
    const runs = await tx.run.count({ where: { savedWorkflowId: id } });
    if (runs > 0) throw keptForRuns(id, runs);
    if (checkedSchedules) {
      const made = (await tx.schedule.findMany({ where: { savedWorkflowId: id }, select: { id: true } })).filter((s) => !checkedSchedules.includes(s.id));
      if (made.length) throw new DomainError('CONFLICT', `workflow ${id} is kept: schedule ${made.map((s) => s.id).join(', ')} was made for it while it was being deleted; try again`);
    }
    try {
      await tx.savedWorkflow.delete({ where: { id } });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && (err.code === 'P2003' || err.code === 'P2014')) {
        throw new DomainError('CONFLICT', `workflow ${id} is still referred to by goals; it is kept`);
      }
      throw err;
    }
  }, TRANSACTION_OPTIONS);
  frozenPlans.delete(id);
}

/** The newest version of a name, without its plan (a schedule that follows the latest runs it). */
export async function latestWorkflowHeader(db: TDb, owner: TOwner, name: string): Promise<TWorkflowHeader | null> {
  const found = await db.savedWorkflow.findFirst({ where: { ...ownerWhere(owner), name }, orderBy: { version: 'desc' }, omit: HEADER_OMIT });
  return found && summaryOf(found);
}
