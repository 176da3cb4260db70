-- Who planned each goal of a saved version (review r6 #2). A goal written by
-- a plan submitted into another agent's composite records its submitter
-- (goals.planned_by_agent_id, 20261217000000) and its leaves need that
-- agent's runtimes, and its shell to reach internal addresses. The frozen
-- plan did not keep it: saved, a request planted by an agent without shell
-- into a shell agent's tree ran with the shell agent's reach in every run a
-- shell agent asked for (a follow_latest schedule picked the new version up by
-- itself). A version now maps the key path of each such goal ('' for the
-- saved goal, 'a/b' below it; keys never hold '/') to its planner, and a
-- run's materialization writes it back onto the goals it makes. Goals planned
-- by the workflow's own agent are left out (nothing to add). Outside the
-- frozen plan: the content hash and diffs are about what runs, not who wrote it.
ALTER TABLE "workflows" ADD COLUMN "planners" JSONB NOT NULL DEFAULT '{}';

-- Versions saved since goals recorded their planner: recovered from the tree
-- each was saved from, as the save does it (down to nested runs, which are
-- saved as references: their goals are another version's).
WITH RECURSIVE walk AS (
  SELECT w.id AS workflow_id, w.agent_id, g.id AS goal_id, ''::text AS path, g.planned_by_agent_id AS planner, true AS is_root
    FROM "workflows" w JOIN "goals" g ON g.id = w.source_goal_id
  UNION ALL
  SELECT walk.workflow_id, walk.agent_id, c.id,
         CASE WHEN walk.path = '' THEN c.key ELSE walk.path || '/' || c.key END,
         c.planned_by_agent_id, false
    FROM walk JOIN "goals" c ON c.parent_id = walk.goal_id
   WHERE walk.is_root OR NOT EXISTS (SELECT 1 FROM "workflow_runs" r WHERE r.root_goal_id = walk.goal_id)
)
UPDATE "workflows" w SET planners = p.planners
  FROM (SELECT workflow_id, jsonb_object_agg(path, planner) AS planners
          FROM walk WHERE planner IS NOT NULL AND planner <> agent_id GROUP BY workflow_id) p
 WHERE w.id = p.workflow_id;
