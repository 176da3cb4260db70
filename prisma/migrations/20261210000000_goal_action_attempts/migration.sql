-- A leaf's action attempts that came to an outcome of the action's own
-- (succeeded, failed, timed out): what the leaf's `retries` count. Attempts
-- lost to the infrastructure (Postgres down, a worker lost) never reach an
-- outcome and are not counted, so an outage cannot spend a user's retries.
ALTER TABLE "goals" ADD COLUMN "action_attempts" INTEGER NOT NULL DEFAULT 0;
