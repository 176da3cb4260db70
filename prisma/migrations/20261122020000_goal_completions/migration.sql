-- A completion's output, kept by the API under the completion's update id
-- before the update reaches the goal's workflow. The workflow records the end
-- by update id, so the output passes through Temporal history once (in the
-- update) instead of twice (update and end).

-- CreateTable
CREATE TABLE "goal_completions" (
    "goal_id" TEXT NOT NULL,
    "update_id" TEXT NOT NULL,
    "output" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "goal_completions_pkey" PRIMARY KEY ("goal_id","update_id")
);

-- AddForeignKey
ALTER TABLE "goal_completions" ADD CONSTRAINT "goal_completions_goal_id_fkey" FOREIGN KEY ("goal_id") REFERENCES "goals"("id") ON DELETE CASCADE ON UPDATE CASCADE;
