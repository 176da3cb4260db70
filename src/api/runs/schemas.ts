import { RUN_STATE_VALUES, RUN_STATUSES } from '../../domain/runs';
import { idPattern, RESERVED_KEY_PREFIXES, reservedKeyPrefix } from '../../domain/ids';
import { MAX_INPUT_VALUE_LENGTH } from '../../domain/plans';
import { z } from '../../domain/zod';
import { ZCursorParam, ZLimit } from '../query';

/**
 * The run resource's request and response schemas (SPEC §4). Pure zod:
 * routes validate with them and the OpenAPI document comes from them.
 */

const RUN_ID_EXAMPLE = 'run_01jd3v8k2m7q9x4w5y6z7a8b9c';
export const ZRunId = z.string().regex(idPattern('run'), `must be a run id like ${RUN_ID_EXAMPLE}`).openapi({ example: RUN_ID_EXAMPLE });
export const ZRunIdParams = z.object({ id: ZRunId });

const timestamp = z.string().openapi({ format: 'date-time', example: '2026-11-21T08:00:00.000Z' });

export const ZRunPageQuery = z.object({ cursor: ZCursorParam, limit: ZLimit(200, 50) }).strict();

/** Values for a workflow's declared inputs, by name. */
export const ZInputValues = z.record(z.string().max(64), z.string().max(MAX_INPUT_VALUE_LENGTH));

export const ZRunCreate = z
  .object({
    idempotency_key: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[\x21-\x7e]+$/, 'the key is 1-200 printable ASCII characters without spaces')
      .superRefine((key, ctx) => {
        const prefix = reservedKeyPrefix(key);
        if (prefix) ctx.addIssue({ code: 'custom', message: `keys starting with "${prefix}" are reserved for the runs Reprise starts itself (schedule fires, nested runs)` });
      })
      .openapi({
        example: '2026-11-22',
        description: `The same key with the same inputs is the same run, forever. Keys starting with ${RESERVED_KEY_PREFIXES.map((p) => `\`${p}\``).join(' or ')} are reserved, in any case.`,
      }),
    inputs: ZInputValues.default({}).openapi({ description: 'Values for the declared inputs (defaults fill the rest).' }),
  })
  .strict()
  .openapi('RunCreate');

export const ZRun = z
  .object({
    id: z.string(),
    number: z.number().int().min(1).openapi({
      description: "The run's number within its workflow version (1 = its first run), its ordinal by (`created_at`, `id`): assigned when the run is made, it never changes (runs are never deleted while their workflow exists). Skipped fires count too.",
      example: 7,
    }),
    workflow: z.object({ id: z.string(), name: z.string(), version: z.number().int() }),
    title: z.string().nullable().openapi({ description: "The root goal's title, inputs substituted (null until the root exists)." }),
    idempotency_key: z.string(),
    inputs: z.record(z.string(), z.string()),
    state: z.enum(RUN_STATE_VALUES).openapi({ description: 'Instantiation: claimed → materializing → materialized | failed (or skipped). `materialized` means the tree exists, not that it ended: `status` says that.' }),
    error: z.string().nullable().openapi({ description: 'Why instantiation failed.' }),
    status: z
      .object({
        status: z.enum(RUN_STATUSES),
        reason: z.string().nullable(),
        goal_id: z.string().nullable().openapi({ description: 'The goal the reason is about (a blocked goal, or the root).' }),
      })
      .openapi({ description: "The tree's state, derived from its root goal (and any blocked goal)." }),
    root_goal_id: z.string().nullable(),
    parent_run_id: z.string().nullable().openapi({ description: 'A nested run: the run whose tree it is part of.' }),
    schedule_id: z.string().nullable(),
    requested_by_agent_id: z.string().nullable().openapi({
      description:
        "The acting agent: whose request made the run (the caller's agent; a schedule's creator; a nested run's outer run's). Its goals run under the workflow's agent, and each leaf needs its runtimes in both. Null for runs made before it was recorded.",
    }),
    temporal: z.object({ workflow_id: z.string(), ui_url: z.string().nullable() }),
    progress: z
      .object({
        goals: z.number().int().openapi({ description: 'Goals in the tree so far (it grows while the run materializes).' }),
        ended: z.number().int().openapi({ description: 'Goals that ended: done, failed or cancelled.' }),
        by_lifecycle: z.record(z.string(), z.number().int()),
        current_layer: z.number().int().nullable().openapi({ description: 'The deepest layer (root = 0) with an active or blocked goal: where the work is now.' }),
        layers: z.number().int(),
      })
      .optional()
      .openapi({ description: 'Only when one run is read (`GET /api/runs/{id}`); lists leave it out.' }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .openapi('Run');

export const ZRunCreated = z.object({ run: ZRun, created: z.boolean() }).openapi('RunCreated');
export const ZRunList = z.object({ items: z.array(ZRun), next_cursor: z.string().nullable(), total: z.number().int() }).openapi('RunList');

export type TRunJson = z.infer<typeof ZRun>;
