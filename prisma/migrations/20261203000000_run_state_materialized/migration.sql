-- A run's instantiation state `done` is now `materialized`: it says the tree
-- is written, not that the run ended (the status derived from its root says
-- that). Renaming the enum value rewrites no row: stored `done` rows read
-- back as `materialized`.
ALTER TYPE "run_state" RENAME VALUE 'done' TO 'materialized';
