-- A run's number (review ui2 #2): its 1-based ordinal among its workflow
-- version's runs by (created_at, id), stored so it never drifts. The UI
-- computed it from a page's offset and older pages drifted; counting at read
-- time would drift too, while two claims race (the later-created one can
-- commit first and read its number before the other exists).
--
-- The number is assigned by this trigger on every insert (a claim, a nested
-- run, a skipped fire), under a per-workflow advisory lock held to the end of
-- the inserting transaction: claims of one workflow take their numbers one at
-- a time, and each reads the max after the previous one committed (a
-- VOLATILE function takes a new snapshot per statement). The same trigger
-- keeps created_at in step: strictly after the workflow's previous run, so the
-- order by (created_at, id) that lists use is the order of the numbers.
-- An insert skipped by ON CONFLICT DO NOTHING (a replayed key) consumes no
-- number: the trigger's value dies with the row that was never written.
ALTER TABLE "workflow_runs" ADD COLUMN "number" INTEGER NOT NULL DEFAULT 0;

UPDATE "workflow_runs" r SET "number" = n.number
  FROM (SELECT id, row_number() OVER (PARTITION BY workflow_id ORDER BY created_at, id)::int AS number FROM "workflow_runs") n
 WHERE n.id = r.id;

CREATE UNIQUE INDEX "workflow_runs_workflow_id_number_key" ON "workflow_runs"("workflow_id", "number");

CREATE FUNCTION "workflow_runs_assign_number"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  previous_number integer;
  previous_created timestamptz(3);
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('workflow_runs.number:' || NEW.workflow_id, 0));
  SELECT "number", created_at INTO previous_number, previous_created
    FROM "workflow_runs" WHERE workflow_id = NEW.workflow_id ORDER BY "number" DESC LIMIT 1;
  NEW."number" := coalesce(previous_number, 0) + 1;
  IF previous_created IS NOT NULL AND NEW.created_at <= previous_created THEN
    NEW.created_at := previous_created + interval '1 millisecond';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "workflow_runs_number" BEFORE INSERT ON "workflow_runs"
  FOR EACH ROW EXECUTE FUNCTION "workflow_runs_assign_number"();
