-- The engine at scale: bounded parallelism per plan (with a default per
-- agent), and a marker that a leaf's action succeeded, so a re-delivered
-- activity never runs a finished action again.

-- AlterTable
ALTER TABLE "agents" ADD COLUMN "default_parallelism" INTEGER NOT NULL DEFAULT 100;

-- AlterTable
ALTER TABLE "goals" ADD COLUMN "parallelism" INTEGER,
ADD COLUMN "action_ended_at" TIMESTAMPTZ(3);

-- Constraints Prisma's schema language cannot express.
ALTER TABLE "agents" ADD CONSTRAINT "agents_default_parallelism_positive" CHECK ("default_parallelism" > 0);
ALTER TABLE "goals" ADD CONSTRAINT "goals_parallelism_positive" CHECK ("parallelism" IS NULL OR "parallelism" > 0);
