-- The agent that planned a goal: set on every goal a submitted plan writes
-- (POST /api/goals/{id}/plan), null for goals made otherwise (a root, a run's
-- materialization). A plan's leaves are the submitter's work even when they
-- run under another agent's goal: a leaf needs the planner's runtimes, and an
-- http leaf reaches internal addresses only when the planner may run shell.
--
-- RESTRICT, as every other reference to an agent: an agent that planned a
-- goal is in use, and goals are never deleted, so it is kept for good.
ALTER TABLE "goals" ADD COLUMN "planned_by_agent_id" TEXT;

-- CreateIndex
CREATE INDEX "goals_planned_by_agent_id_idx" ON "goals"("planned_by_agent_id");

-- AddForeignKey
ALTER TABLE "goals" ADD CONSTRAINT "goals_planned_by_agent_id_fkey" FOREIGN KEY ("planned_by_agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
