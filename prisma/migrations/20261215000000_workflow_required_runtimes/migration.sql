-- What each saved workflow version needs of the agent that runs it (SPEC §6):
-- the runtimes of its leaves, "shell" for every acceptance check (a check is
-- a shell command), and, transitively, what every workflow it names as a
-- nested child ("workflow": "name@version") needs. Checked when a workflow is
-- run, referenced or scheduled; src/domain/runtimeRequirements.ts computes
-- the same set for new versions.
--
-- Existing rows are backfilled here, in SQL, from their stored frozen plans,
-- so no code path ever sees a row whose requirement is unknown, and rows
-- (immutable once saved) are never updated by the application. Prisma maps a
-- String[] to a nullable TEXT[], so "never null" is a CHECK (Prisma's schema
-- language cannot express it).
ALTER TABLE "workflows" ADD COLUMN "required_runtimes" TEXT[];

WITH RECURSIVE
  -- Every goal of every frozen tree below its root (a plan's children, then theirs).
  "nodes" ("workflow_id", "node") AS (
    SELECT w."id", c."value"
      FROM "workflows" w,
           jsonb_array_elements(CASE WHEN jsonb_typeof(w."frozen_plan" -> 'root' -> 'plan' -> 'children') = 'array'
                                     THEN w."frozen_plan" -> 'root' -> 'plan' -> 'children' ELSE '[]'::jsonb END) c
    UNION ALL
    SELECT n."workflow_id", c."value"
      FROM "nodes" n,
           jsonb_array_elements(CASE WHEN jsonb_typeof(n."node" -> 'plan' -> 'children') = 'array'
                                     THEN n."node" -> 'plan' -> 'children' ELSE '[]'::jsonb END) c
  ),
  -- What each workflow's own tree uses: leaf runtimes, and shell for checks (the root's included).
  "own" ("workflow_id", "runtime") AS (
    SELECT "workflow_id", "node" -> 'action' ->> 'runtime' FROM "nodes"
     WHERE "node" ->> 'kind' = 'leaf' AND "node" -> 'action' ->> 'runtime' IS NOT NULL
    UNION
    SELECT "workflow_id", 'shell' FROM "nodes" WHERE jsonb_typeof("node" -> 'acceptance' -> 'check') = 'string'
    UNION
    SELECT "id", 'shell' FROM "workflows" WHERE jsonb_typeof("frozen_plan" -> 'root' -> 'acceptance' -> 'check') = 'string'
  ),
  -- The workflows each one names, resolved as the application resolves them: same owner, name and version.
  "refs" ("workflow_id", "ref_id") AS (
    SELECT n."workflow_id", r."id"
      FROM "nodes" n
      JOIN "workflows" w ON w."id" = n."workflow_id"
      JOIN "workflows" r
        ON r."owner_user_id" IS NOT DISTINCT FROM w."owner_user_id"
       AND r."owner_agent_id" IS NOT DISTINCT FROM w."owner_agent_id"
       AND r."name" = split_part(n."node" ->> 'workflow', '@', 1)
       AND r."version"::text = split_part(n."node" ->> 'workflow', '@', 2)
     WHERE jsonb_typeof(n."node" -> 'workflow') = 'string'
  ),
  -- Each workflow reaches itself and everything it names, transitively (UNION ends any cycle).
  "reach" ("workflow_id", "ref_id") AS (
    SELECT "id", "id" FROM "workflows"
    UNION
    SELECT r."workflow_id", f."ref_id" FROM "reach" r JOIN "refs" f ON f."workflow_id" = r."ref_id"
  )
UPDATE "workflows" w
   SET "required_runtimes" = coalesce((
         SELECT array_agg(DISTINCT o."runtime" ORDER BY o."runtime")
           FROM "reach" r JOIN "own" o ON o."workflow_id" = r."ref_id"
          WHERE r."workflow_id" = w."id"), ARRAY[]::TEXT[]);

ALTER TABLE "workflows" ADD CONSTRAINT "workflows_required_runtimes_known" CHECK ("required_runtimes" IS NOT NULL);
