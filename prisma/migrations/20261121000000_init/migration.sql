-- Initial schema: generated from prisma/schema.prisma (scripts/schemaSql.ts),
-- plus what Prisma's schema language cannot express, at the end of this file.

-- CreateEnum
CREATE TYPE "goal_kind" AS ENUM ('leaf', 'composite');

-- CreateEnum
CREATE TYPE "goal_lifecycle" AS ENUM ('draft', 'active', 'blocked', 'done', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "done_reason" AS ENUM ('accepted', 'skipped');

-- CreateEnum
CREATE TYPE "run_state" AS ENUM ('claimed', 'materializing', 'done', 'failed', 'skipped');

-- CreateTable
CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agents" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "owner_user_id" TEXT,
    "allowed_runtimes" TEXT[],
    "max_depth" INTEGER NOT NULL,
    "max_children" INTEGER NOT NULL,
    "max_goals" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "scopes" TEXT[],
    "user_id" TEXT,
    "agent_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goals" (
    "id" TEXT NOT NULL,
    "parent_id" TEXT,
    "root_id" TEXT NOT NULL,
    "agent_id" TEXT NOT NULL,
    "owner_user_id" TEXT,
    "owner_agent_id" TEXT,
    "kind" "goal_kind" NOT NULL,
    "key" TEXT,
    "position" INTEGER NOT NULL DEFAULT 0,
    "title" TEXT NOT NULL,
    "intent" TEXT,
    "action" JSONB,
    "acceptance" JSONB,
    "join_count" INTEGER,
    "lifecycle" "goal_lifecycle" NOT NULL DEFAULT 'draft',
    "done_reason" "done_reason",
    "block_reason" TEXT,
    "failure_reason" TEXT,
    "planned_at" TIMESTAMPTZ(3),
    "output" JSONB,
    "temporal_workflow_id" TEXT,
    "workflow_id" TEXT,
    "workflow_version" INTEGER,
    "run_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "goals_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goal_edges" (
    "parent_id" TEXT NOT NULL,
    "from_goal_id" TEXT NOT NULL,
    "to_goal_id" TEXT NOT NULL,
    "on" JSONB NOT NULL,
    "position" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "goal_edges_pkey" PRIMARY KEY ("from_goal_id","to_goal_id")
);

-- CreateTable
CREATE TABLE "workflows" (
    "id" TEXT NOT NULL,
    "owner_user_id" TEXT,
    "owner_agent_id" TEXT,
    "agent_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "description" TEXT,
    "inputs" JSONB NOT NULL,
    "format" TEXT NOT NULL,
    "frozen_plan" JSONB NOT NULL,
    "content_hash" TEXT NOT NULL,
    "fully_frozen" BOOLEAN NOT NULL,
    "source_goal_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workflows_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_runs" (
    "id" TEXT NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "inputs" JSONB NOT NULL,
    "inputs_hash" TEXT NOT NULL,
    "state" "run_state" NOT NULL DEFAULT 'claimed',
    "root_goal_id" TEXT,
    "temporal_workflow_id" TEXT NOT NULL,
    "schedule_id" TEXT,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workflow_runs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_name_key" ON "users"("name");

-- CreateIndex
CREATE UNIQUE INDEX "agents_name_key" ON "agents"("name");

-- CreateIndex
CREATE INDEX "agents_owner_user_id_idx" ON "agents"("owner_user_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "api_tokens_user_id_idx" ON "api_tokens"("user_id");

-- CreateIndex
CREATE INDEX "api_tokens_agent_id_idx" ON "api_tokens"("agent_id");

-- CreateIndex
CREATE INDEX "goals_root_id_idx" ON "goals"("root_id");

-- CreateIndex
CREATE INDEX "goals_owner_user_id_created_at_id_idx" ON "goals"("owner_user_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "goals_owner_agent_id_created_at_id_idx" ON "goals"("owner_agent_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "goals_lifecycle_idx" ON "goals"("lifecycle");

-- CreateIndex
CREATE INDEX "goals_workflow_id_idx" ON "goals"("workflow_id");

-- CreateIndex
CREATE INDEX "goals_run_id_idx" ON "goals"("run_id");

-- CreateIndex
CREATE UNIQUE INDEX "goals_parent_id_key_key" ON "goals"("parent_id", "key");

-- CreateIndex
CREATE INDEX "goal_edges_parent_id_idx" ON "goal_edges"("parent_id");

-- CreateIndex
CREATE INDEX "goal_edges_to_goal_id_idx" ON "goal_edges"("to_goal_id");

-- CreateIndex
CREATE INDEX "workflows_name_idx" ON "workflows"("name");

-- CreateIndex
-- NULLS NOT DISTINCT: one of the two owner columns is always null.
CREATE UNIQUE INDEX "workflows_owner_user_id_owner_agent_id_name_version_key" ON "workflows"("owner_user_id", "owner_agent_id", "name", "version") NULLS NOT DISTINCT;

-- CreateIndex
CREATE INDEX "workflow_runs_schedule_id_idx" ON "workflow_runs"("schedule_id");

-- CreateIndex
CREATE INDEX "workflow_runs_root_goal_id_idx" ON "workflow_runs"("root_goal_id");

-- CreateIndex
CREATE UNIQUE INDEX "workflow_runs_workflow_id_idempotency_key_key" ON "workflow_runs"("workflow_id", "idempotency_key");

-- AddForeignKey
ALTER TABLE "agents" ADD CONSTRAINT "agents_owner_user_id_fkey" FOREIGN KEY ("owner_user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goals" ADD CONSTRAINT "goals_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "goals"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goals" ADD CONSTRAINT "goals_root_id_fkey" FOREIGN KEY ("root_id") REFERENCES "goals"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goals" ADD CONSTRAINT "goals_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goals" ADD CONSTRAINT "goals_owner_user_id_fkey" FOREIGN KEY ("owner_user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goals" ADD CONSTRAINT "goals_owner_agent_id_fkey" FOREIGN KEY ("owner_agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goals" ADD CONSTRAINT "goals_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "workflows"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goals" ADD CONSTRAINT "goals_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "workflow_runs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goal_edges" ADD CONSTRAINT "goal_edges_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "goals"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goal_edges" ADD CONSTRAINT "goal_edges_from_goal_id_fkey" FOREIGN KEY ("from_goal_id") REFERENCES "goals"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goal_edges" ADD CONSTRAINT "goal_edges_to_goal_id_fkey" FOREIGN KEY ("to_goal_id") REFERENCES "goals"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_owner_user_id_fkey" FOREIGN KEY ("owner_user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_owner_agent_id_fkey" FOREIGN KEY ("owner_agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_source_goal_id_fkey" FOREIGN KEY ("source_goal_id") REFERENCES "goals"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_runs" ADD CONSTRAINT "workflow_runs_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "workflows"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_runs" ADD CONSTRAINT "workflow_runs_root_goal_id_fkey" FOREIGN KEY ("root_goal_id") REFERENCES "goals"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Constraints Prisma's schema language cannot express.
ALTER TABLE "agents" ADD CONSTRAINT "agents_limits_positive" CHECK ("max_depth" > 0 AND "max_children" > 0 AND "max_goals" > 0);
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_one_owner" CHECK (num_nonnulls("user_id", "agent_id") = 1);
ALTER TABLE "goals" ADD CONSTRAINT "goals_one_owner" CHECK (num_nonnulls("owner_user_id", "owner_agent_id") = 1);
ALTER TABLE "goals" ADD CONSTRAINT "goals_root_shape" CHECK (("parent_id" IS NULL) = ("root_id" = "id"));
ALTER TABLE "goals" ADD CONSTRAINT "goals_child_has_key" CHECK ("parent_id" IS NULL OR "key" IS NOT NULL);
ALTER TABLE "goals" ADD CONSTRAINT "goals_leaf_has_action" CHECK (("kind" = 'leaf') = ("action" IS NOT NULL));
ALTER TABLE "goals" ADD CONSTRAINT "goals_done_reason_iff_done" CHECK (("lifecycle" = 'done') = ("done_reason" IS NOT NULL));
ALTER TABLE "goals" ADD CONSTRAINT "goals_join_count_positive" CHECK ("join_count" IS NULL OR "join_count" > 0);
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_one_owner" CHECK (num_nonnulls("owner_user_id", "owner_agent_id") = 1);
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_version_positive" CHECK ("version" > 0);

-- Bootstrap identities. Until API tokens arrive, every request acts as the
-- local user, and goals run under the default agent.
INSERT INTO "users" ("id", "name") VALUES ('user_local', 'local');
INSERT INTO "agents" ("id", "name", "owner_user_id", "allowed_runtimes", "max_depth", "max_children", "max_goals")
VALUES ('agent_default', 'default', 'user_local', ARRAY['shell', 'http', 'manual', 'agent'], 8, 100, 1000);
