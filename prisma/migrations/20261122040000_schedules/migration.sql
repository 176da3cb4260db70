-- Schedules (SPEC §5). Temporal is the source of truth for a schedule's
-- state (spec, paused, note, next fires, recent actions); this row is what
-- Postgres needs beside it: who owns it (visibility), which workflow it
-- runs, and whether it follows that workflow's newest version. Its fires
-- are runs (workflow_runs.schedule_id), skipped fires included.

-- CreateTable
CREATE TABLE "schedules" (
    "id" TEXT NOT NULL,
    "owner_user_id" TEXT,
    "owner_agent_id" TEXT,
    "workflow_id" TEXT NOT NULL,
    "follow_latest" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "schedules_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "schedules_owner_user_id_created_at_id_idx" ON "schedules"("owner_user_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "schedules_owner_agent_id_created_at_id_idx" ON "schedules"("owner_agent_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "schedules_workflow_id_idx" ON "schedules"("workflow_id");

-- AddForeignKey
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_owner_user_id_fkey" FOREIGN KEY ("owner_user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_owner_agent_id_fkey" FOREIGN KEY ("owner_agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "workflows"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Constraints Prisma's schema language cannot express.
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_one_owner" CHECK (num_nonnulls("owner_user_id", "owner_agent_id") = 1);
