-- Every goal is created with the Temporal workflow id that runs it (its own,
-- or its parent composite's for a leaf child); the column says so.

-- AlterTable
ALTER TABLE "goals" ALTER COLUMN "temporal_workflow_id" SET NOT NULL;
