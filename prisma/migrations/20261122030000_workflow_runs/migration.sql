-- Saved workflows and their runs (SPEC §3-4).
--
-- goals.plan_frozen: a composite whose plan comes from a saved workflow. Its
-- run materializes that plan; the API refuses a submitted plan for it, so no
-- planner can replace what the workflow promised to replay. A composite saved
-- unplanned (`plan: null`) is not frozen: it waits for a plan through the API.
--
-- workflows.source_run_id: lineage. A version saved from a run's root records
-- the run it came from.
--
-- workflow_runs.parent_run_id: a nested run (a plan child naming another saved
-- workflow) records the run, if any, whose tree it belongs to.

ALTER TABLE "goals" ADD COLUMN "plan_frozen" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "workflows" ADD COLUMN "source_run_id" TEXT;
ALTER TABLE "workflow_runs" ADD COLUMN "parent_run_id" TEXT;

-- CreateIndex
CREATE INDEX "workflows_owner_user_id_created_at_id_idx" ON "workflows"("owner_user_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "workflows_owner_agent_id_created_at_id_idx" ON "workflows"("owner_agent_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "workflow_runs_workflow_id_created_at_id_idx" ON "workflow_runs"("workflow_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "workflow_runs_parent_run_id_idx" ON "workflow_runs"("parent_run_id");

-- AddForeignKey
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_source_run_id_fkey" FOREIGN KEY ("source_run_id") REFERENCES "workflow_runs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_runs" ADD CONSTRAINT "workflow_runs_parent_run_id_fkey" FOREIGN KEY ("parent_run_id") REFERENCES "workflow_runs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Constraints Prisma's schema language cannot express.
ALTER TABLE "goals" ADD CONSTRAINT "goals_plan_frozen_composite" CHECK (NOT "plan_frozen" OR "kind" = 'composite');
ALTER TABLE "workflow_runs" ADD CONSTRAINT "workflow_runs_not_own_parent" CHECK ("parent_run_id" IS NULL OR "parent_run_id" <> "id");
