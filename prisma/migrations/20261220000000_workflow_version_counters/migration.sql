-- A version number is given once (review r6 #5). Versions counted up from the
-- highest row, so deleting the newest version (no runs yet) let the next save
-- take its number again: a plan child saved naming `name@3` then ran other
-- content than the one its version's required_runtimes were recorded from.
-- Each (owner, name) keeps the last number it gave; a save takes the next one.
-- `owner` is `user:<id>` or `agent:<id>` (a workflow has exactly one owner).
CREATE TABLE "workflow_names" (
    "owner" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "last_version" INTEGER NOT NULL,

    CONSTRAINT "workflow_names_pkey" PRIMARY KEY ("owner","name")
);

INSERT INTO "workflow_names" ("owner", "name", "last_version")
SELECT CASE WHEN owner_user_id IS NOT NULL THEN 'user:' || owner_user_id ELSE 'agent:' || owner_agent_id END, name, max(version)
  FROM "workflows"
 GROUP BY 1, 2;
