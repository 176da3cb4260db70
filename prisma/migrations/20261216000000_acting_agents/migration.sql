-- The acting agent of a run and of a schedule (issue 17): whose request made
-- it, as opposed to the workflow's agent that its goals run under (SPEC §4).
-- Running commands is a privilege (SPEC §6): a leaf of a run needs the
-- runtimes of both, a schedule's fire needs its creator's, so a privilege
-- taken from the agent that asked takes effect at its next fire or leaf.
--
-- Nullable: rows made before this column existed have no recorded acting
-- agent and are checked against the workflow's agent alone, as before.
-- RESTRICT, as every other reference to an agent: an agent that asked for a
-- run or created a schedule is in use and is kept.
ALTER TABLE "workflow_runs" ADD COLUMN "requested_by_agent_id" TEXT;
ALTER TABLE "schedules" ADD COLUMN "created_by_agent_id" TEXT;

-- CreateIndex
CREATE INDEX "workflow_runs_requested_by_agent_id_idx" ON "workflow_runs"("requested_by_agent_id");

-- CreateIndex
CREATE INDEX "schedules_created_by_agent_id_idx" ON "schedules"("created_by_agent_id");

-- AddForeignKey
ALTER TABLE "workflow_runs" ADD CONSTRAINT "workflow_runs_requested_by_agent_id_fkey" FOREIGN KEY ("requested_by_agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_created_by_agent_id_fkey" FOREIGN KEY ("created_by_agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
