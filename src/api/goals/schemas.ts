import { ZAction } from '../../domain/actions';
import { GOAL_KINDS, GOAL_LIFECYCLES, DONE_REASONS, WAIT_KINDS } from '../../domain/goals';
import { GOAL_ID_EXAMPLE, GOAL_ID_PATTERN } from '../../domain/ids';
import { MAX_INTENT_LENGTH, MAX_TITLE_LENGTH, ZAcceptance, ZEdgeOn, ZPlan } from '../../domain/plans';
import { z } from '../../domain/zod';
import { ZLimit } from '../query';

/**
 * The goal resource's request and response schemas. Pure zod (no Express):
 * routes validate with them, the OpenAPI document is generated from them,
 * and a CLI can import them as they are.
 */

export const ZGoalId = z.string().regex(GOAL_ID_PATTERN, `must be a goal id like ${GOAL_ID_EXAMPLE}`).openapi({ example: GOAL_ID_EXAMPLE });

export const ZGoalIdParams = z.object({ id: ZGoalId });

const ZCreateCommon = {
  title: z.string().trim().min(1, 'title must not be empty').max(MAX_TITLE_LENGTH),
  intent: z.string().max(MAX_INTENT_LENGTH).optional(),
  acceptance: ZAcceptance.optional(),
  start: z.boolean().default(true).openapi({ description: 'Start running at once (default true).' }),
};

export const ZGoalCreate = z
  .preprocess(
    // `kind` may be left out: a goal with an action is a leaf, anything else a composite.
    (v) => (v && typeof v === 'object' && !Array.isArray(v) && !('kind' in v) ? { ...v, kind: 'action' in v ? 'leaf' : 'composite' } : v),
    z.discriminatedUnion('kind', [
      z.object({ ...ZCreateCommon, kind: z.literal('leaf'), action: ZAction }).strict(),
      z
        .object({
          ...ZCreateCommon,
          kind: z.literal('composite'),
          plan: ZPlan.nullable().optional().openapi({ description: 'Installed with the goal; leave it out to submit one later.' }),
        })
        .strict(),
    ]),
  )
  .openapi('GoalCreate');

const timestamp = z.string().openapi({ format: 'date-time', example: '2026-11-21T08:00:00.000Z' });

export const ZGoal = z
  .object({
    id: z.string(),
    parent_id: z.string().nullable(),
    root_id: z.string(),
    agent_id: z.string(),
    owner: z.object({ type: z.enum(['user', 'agent']), id: z.string() }),
    kind: z.enum(GOAL_KINDS),
    key: z.string().nullable(),
    depth: z.number().int(),
    title: z.string(),
    intent: z.string().nullable(),
    action: z.record(z.string(), z.unknown()).nullable(),
    acceptance: z.unknown().nullable(),
    join: z.union([z.literal('all'), z.number().int()]),
    lifecycle: z.enum(GOAL_LIFECYCLES),
    waiting_for: z.enum(WAIT_KINDS).nullable().openapi({ description: 'What a goal that is not finished waits for.' }),
    lease: z.object({ claimed_by: z.string(), expires_at: timestamp }).nullable().openapi({ description: 'Agent leaves: who holds the lease.' }),
    done_reason: z.enum(DONE_REASONS).nullable(),
    block_reason: z.string().nullable(),
    failure_reason: z.string().nullable(),
    planned_at: timestamp.nullable(),
    output: z.unknown().nullable().openapi({ description: 'Leaf result: exit code, bounded stdout/stderr, duration.' }),
    temporal: z.object({
      workflow_id: z.string().nullable(),
      ui_url: z.string().nullable().openapi({ description: 'This goal in the Temporal Web UI: null when the UI address is unknown or TEMPORAL_UI_LINKS=off.' }),
    }),
    attribution: z
      .object({
        workflow_id: z.string(),
        workflow_version: z.number().int().nullable(),
        run_id: z.string().nullable(),
        plan_frozen: z.boolean().openapi({ description: 'Its plan comes from the workflow: its run installs it, the API takes no other.' }),
      })
      .nullable()
      .openapi({ description: 'The workflow and run this goal came from.' }),
    created_at: timestamp,
    updated_at: timestamp,
    started_at: timestamp.nullable(),
    finished_at: timestamp.nullable(),
  })
  .openapi('Goal');

export type TGoalJson = z.infer<typeof ZGoal>;

export const ZEdgeJson = z.object({ from: z.string(), to: z.string(), on: ZEdgeOn }).openapi('Edge');

export interface TGoalTreeJson extends Omit<TGoalJson, 'output'> {
  output?: unknown;
  child_count: number;
  children: TGoalTreeJson[];
  edges: z.infer<typeof ZEdgeJson>[];
}

/** A goal in a tree: its output only with `include=output`, and how many children it has (more than `children` lists where the tree was cut). */
const ZGoalTreeNode = ZGoal.extend({
  output: z.unknown().optional().openapi({ description: 'Leaf result; only with `include=output`.' }),
  child_count: z.number().int().openapi({ description: 'Children this goal has; `children` lists fewer where the tree was cut (`depth`, `limit`).' }),
});

export const ZGoalTree: z.ZodType<TGoalTreeJson> = ZGoalTreeNode.extend({
  get children(): z.ZodArray<z.ZodType<TGoalTreeJson>> {
    return z.array(ZGoalTree);
  },
  edges: z.array(ZEdgeJson),
}).openapi('GoalTree');

export type TGoalTreeRootJson = TGoalTreeJson & { truncated: boolean; goals: { shown: number; total: number } };

/** The answer of GET /api/goals/{id}/tree: the tree's root, with whether (and how much) the tree was cut. */
export const ZGoalTreeRoot: z.ZodType<TGoalTreeRootJson> = ZGoalTreeNode.extend({
  children: z.array(ZGoalTree),
  edges: z.array(ZEdgeJson),
  truncated: z.boolean().openapi({ description: 'Goals of the subtree were left out (past `depth`, or past `limit`); a goal whose `child_count` exceeds its `children` is where.' }),
  goals: z
    .object({ shown: z.number().int(), total: z.number().int().openapi({ description: 'Goals in the whole subtree, this one included.' }) })
    .openapi({ description: 'How many goals this answer holds, of how many.' }),
}).openapi('GoalTreeRoot');

/** The tree's bounds: levels and goals per read, as the route takes and defaults them. */
export const TREE_DEPTH = { fallback: 10, max: 100 } as const;
export const TREE_LIMIT = { fallback: 1000, max: 10_000 } as const;

export const ZGoalTreeQuery = z
  .object({
    depth: z
      .string()
      .regex(/^[0-9]{1,4}$/, `depth is a whole number from 0 to ${TREE_DEPTH.max}, in plain digits`)
      .transform(Number)
      .pipe(z.number().int().max(TREE_DEPTH.max, `depth is at most ${TREE_DEPTH.max}`))
      .optional()
      .transform((n) => n ?? TREE_DEPTH.fallback)
      .openapi({ type: 'integer', description: `Levels below the goal to include, 0-${TREE_DEPTH.max} (default ${TREE_DEPTH.fallback}); 0 is the goal alone.` }),
    limit: ZLimit(TREE_LIMIT.max, TREE_LIMIT.fallback).openapi({
      description: `Goals at most, the goal included, breadth first in plan order, 1-${TREE_LIMIT.max} (default ${TREE_LIMIT.fallback}).`,
    }),
    include: z.enum(['output']).optional().openapi({ description: '`output`: each goal with its output (left out by default: each can be large).' }),
  })
  .strict();

/** A goal in a list: everything but its action, acceptance and output (each can be large); `GET /api/goals/{id}` has them. */
export const ZGoalSummary = ZGoal.omit({ action: true, acceptance: true, output: true }).openapi('GoalSummary');
export type TGoalSummaryJson = z.infer<typeof ZGoalSummary>;

export const ZGoalList = z.object({ items: z.array(ZGoalSummary), next_cursor: z.string().nullable() }).openapi('GoalList');

export const ZGoalListQuery = z
  .object({
    cursor: z.string().max(200).optional(),
    limit: ZLimit(200, 50),
    lifecycle: z.enum(GOAL_LIFECYCLES).optional(),
    root_only: z.enum(['true', 'false']).optional().openapi({ description: 'Only goals without a parent.' }),
    workflow_id: z.string().max(100).optional(),
    waiting_for: z.enum(WAIT_KINDS).optional().openapi({ description: 'e.g. `judgment`: what waits for a person.' }),
    claimable: z.enum(['true', 'false']).optional().openapi({ description: 'The agent pool: agent leaves with no live lease.' }),
  })
  .strict();

/** Leaf output is size-bounded (SPEC §2): a completion's output too, and it travels through Temporal history. */
const MAX_COMPLETION_OUTPUT_BYTES = 64 * 1024;

export const ZGoalCompletion = z
  .object({
    outcome: z.enum(['succeeded', 'failed']),
    output: z
      .record(z.string(), z.unknown())
      .refine((o) => Buffer.byteLength(JSON.stringify(o)) <= MAX_COMPLETION_OUTPUT_BYTES, `output must be at most ${MAX_COMPLETION_OUTPUT_BYTES} bytes as JSON`)
      .optional()
      .openapi({ description: 'The result (at most 64 KiB as JSON); `when` edges read it as `output`.' }),
    reason: z.string().max(2000).optional().openapi({ description: 'Why it failed.' }),
    worker: z.string().min(1).max(200).optional().openapi({ description: 'Agent leaves: the worker id holding the lease.' }),
  })
  .strict()
  .openapi('GoalCompletion');

export const ZGoalClaim = z
  .object({
    worker: z.string().min(1).max(200).openapi({ description: 'The claiming agent worker; claim again to renew.' }),
    lease_s: z.number().int().min(5).max(24 * 3600).optional().openapi({ description: "Lease length; default the action's lease_s, else 300." }),
  })
  .strict()
  .openapi('GoalClaim');

export const ZGoalAccept = z.object({ reason: z.string().max(2000).optional() }).strict();
export const ZGoalReject = z.object({ reason: z.string().min(1, 'say why it is rejected').max(2000) }).strict();
