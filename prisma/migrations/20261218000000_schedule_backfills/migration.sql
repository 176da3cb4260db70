-- A backfill's own overlap policy (review r5 #3). Temporal applies a
-- backfill's overlap to when it starts each fire, but every fire decides with
-- the overlap in the schedule's action (decideFire): a backfill asking
-- `allow_all` of a `skip` schedule had its fires skipped as overlapping, and a
-- second backfill of the range minted nothing (each fire's key was taken), so
-- those fires were lost. A backfill that names an overlap records it here; a
-- fire whose nominal time lies in its range decides with it (the latest such
-- backfill wins). Rows go with their schedule.
CREATE TABLE "schedule_backfills" (
    "id" BIGSERIAL NOT NULL,
    "schedule_id" TEXT NOT NULL,
    "start_at" TIMESTAMPTZ(3) NOT NULL,
    "end_at" TIMESTAMPTZ(3) NOT NULL,
    "overlap" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "schedule_backfills_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "schedule_backfills_schedule_id_start_at_idx" ON "schedule_backfills"("schedule_id", "start_at");

-- AddForeignKey
ALTER TABLE "schedule_backfills" ADD CONSTRAINT "schedule_backfills_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "schedules"("id") ON DELETE CASCADE ON UPDATE CASCADE;
