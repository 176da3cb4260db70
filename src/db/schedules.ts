import type { TCursor } from '../domain/cursor';
import { DomainError } from '../domain/errors';
import type { Schedule } from './generated/prisma/client';
import { Prisma, TRANSACTION_OPTIONS, type PrismaClient, type TDb } from './client';
import { ownerWhere, type TOwner } from './workflows';
import { OVERLAP_POLICIES, type TOverlapPolicy } from '../domain/schedules';

/**
 * What Postgres keeps of a schedule (its owner, its workflow, follow-latest);
 * Temporal keeps the rest. Runs made by its fires carry its id.
 */

export type { Schedule };

/**
 * Inserts a schedule's row unless its owner already has `maxPerOwner`
 * (QUOTA_EXCEEDED). The count and the insert happen under a
 * transaction-scoped advisory lock on the owner, so racing creations cannot
 * all pass the count.
 */
export async function insertSchedule(
  prisma: PrismaClient,
  row: { id: string; owner: TOwner; savedWorkflowId: string; followLatest: boolean; createdByAgentId: string },
  maxPerOwner: number,
): Promise<Schedule> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`reprise:schedules-of:${row.owner.ownerUserId ?? ''}|${row.owner.ownerAgentId ?? ''}`}, 0))`;
    const count = await tx.schedule.count({ where: ownerWhere(row.owner) });
    if (count >= maxPerOwner) {
      throw new DomainError('QUOTA_EXCEEDED', `you have ${count} schedules; SCHEDULE_MAX_PER_OWNER allows ${maxPerOwner} per owner. Delete one you no longer need first`, [
        { path: '', message: `at most ${maxPerOwner} schedules per owner (SCHEDULE_MAX_PER_OWNER)` },
      ]);
    }
    return tx.schedule
      .create({
        data: { id: row.id, ...ownerWhere(row.owner), savedWorkflowId: row.savedWorkflowId, followLatest: row.followLatest, createdByAgentId: row.createdByAgentId },
      })
      .catch((err: unknown) => {
        // Its workflow was deleted meanwhile (the delete held the row; this insert waited on its key, then found it gone).
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2003') throw new DomainError('NOT_FOUND', `workflow ${row.savedWorkflowId} not found`);
        throw err;
      });
  }, TRANSACTION_OPTIONS);
}

export async function findOwnedSchedule(db: TDb, owner: TOwner, id: string): Promise<Schedule & { savedWorkflow: { name: string; version: number } }> {
  const found = await db.schedule.findFirst({ where: { id, ...ownerWhere(owner) }, include: { savedWorkflow: { select: { name: true, version: true } } } });
  if (!found) throw new DomainError('NOT_FOUND', `schedule ${id} not found`);
  return found;
}

export async function findSchedule(db: TDb, id: string): Promise<Schedule | null> {
  return db.schedule.findUnique({ where: { id } });
}

export async function listOwnedSchedules(prisma: PrismaClient, owner: TOwner, filters: { savedWorkflowId?: string }, after: TCursor | undefined, take: number) {
  return prisma.schedule.findMany({
    where: {
      ...ownerWhere(owner),
      ...(filters.savedWorkflowId ? { savedWorkflowId: filters.savedWorkflowId } : {}),
      ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
    },
    include: { savedWorkflow: { select: { name: true, version: true } } },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take,
  });
}

export async function deleteScheduleRow(db: TDb, id: string): Promise<void> {
  await db.schedule.deleteMany({ where: { id } });
}

/** Schedules that run this workflow (pinned to it, or following its name). */
export async function schedulesOfWorkflow(db: TDb, savedWorkflowId: string): Promise<Schedule[]> {
  return db.schedule.findMany({ where: { savedWorkflowId } });
}

/**
 * Takes, until `tx` ends, the one lock a schedule's fire decisions take (a
 * transaction-scoped advisory lock on the schedule id), if no other decision
 * holds it: fires that Temporal starts together (a catch-up after an outage,
 * a backfill) decide one after another, so an `overlap: skip` schedule sees
 * the run the previous fire claimed instead of each claiming a tree of its
 * own. It never waits: a waiting decision would hold a pooled connection that
 * the one holding the lock may need.
 */
export async function tryLockScheduleDecisions(tx: TDb, scheduleId: string): Promise<boolean> {
  const [row] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(hashtextextended(${`reprise:schedule-fire:${scheduleId}`}, 0)) AS locked`;
  return row?.locked === true;
}

/** An agent as a fire's privilege check needs it. */
export type TScheduleCreator = { id: string; name: string; allowedRuntimes: string[] };

/**
 * What a fire needs of its schedule's row: the agent that created it (its
 * fires act for it; null when none was recorded, for a schedule made before
 * creators were kept), or null when the row is gone (the schedule was
 * deleted while this fire was on its way). The two must never be confused:
 * a fire without a creator to check runs with the workflow's agent alone.
 */
export async function findScheduleForFire(db: TDb, id: string): Promise<{ creator: TScheduleCreator | null } | null> {
  const row = await db.schedule.findUnique({ where: { id }, select: { createdByAgent: { select: { id: true, name: true, allowedRuntimes: true } } } });
  return row ? { creator: row.createdByAgent } : null;
}

/**
 * Records a backfill's own overlap policy over its range (nominal times,
 * inclusive), for its fires to decide with; returns the row's id (pruneBackfillOverlaps).
 */
export async function recordBackfillOverlap(db: TDb, scheduleId: string, range: { start: Date; end: Date }, overlap: TOverlapPolicy): Promise<bigint> {
  const row = await db.scheduleBackfill.create({ data: { scheduleId, startAt: range.start, endAt: range.end, overlap }, select: { id: true } });
  return row.id;
}

/**
 * Once Temporal took the backfill `id` records: older rows whose range lies
 * inside its own can never again be the latest covering a fire (backfillOverlapAt),
 * so they go. The same backfill asked for again keeps one row, and the table
 * holds at most one row per distinct range a schedule was backfilled over.
 */
export async function pruneBackfillOverlaps(db: TDb, scheduleId: string, id: bigint, range: { start: Date; end: Date }): Promise<void> {
  await db.scheduleBackfill.deleteMany({ where: { scheduleId, id: { lt: id }, startAt: { gte: range.start }, endAt: { lte: range.end } } });
}

/** The overlap policy the latest backfill covering `nominal` asked for, or null (the schedule's own then applies). */
export async function backfillOverlapAt(db: TDb, scheduleId: string, nominal: Date): Promise<TOverlapPolicy | null> {
  const row = await db.scheduleBackfill.findFirst({
    where: { scheduleId, startAt: { lte: nominal }, endAt: { gte: nominal } },
    orderBy: { id: 'desc' },
    select: { overlap: true },
  });
  return row && (OVERLAP_POLICIES as readonly string[]).includes(row.overlap) ? (row.overlap as TOverlapPolicy) : null;
}
