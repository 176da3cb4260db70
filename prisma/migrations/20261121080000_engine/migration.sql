-- The execution engine: goal depth (plan limits), what a goal waits for, and
-- agent leases.

-- CreateEnum
CREATE TYPE "goal_wait" AS ENUM ('plan', 'completion', 'agent', 'judgment');

-- AlterTable
ALTER TABLE "goals" ADD COLUMN "depth" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "waiting_for" "goal_wait",
ADD COLUMN "claimed_by" TEXT,
ADD COLUMN "lease_expires_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "goals_waiting_for_idx" ON "goals"("waiting_for");

-- Constraints Prisma's schema language cannot express.
ALTER TABLE "goals" ADD CONSTRAINT "goals_depth_shape" CHECK (("parent_id" IS NULL) = ("depth" = 0) AND "depth" >= 0);
ALTER TABLE "goals" ADD CONSTRAINT "goals_lease_whole" CHECK (("claimed_by" IS NULL) = ("lease_expires_at" IS NULL));
