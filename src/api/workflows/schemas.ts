import { ZWorkflowInput } from '../../domain/frozenPlans';
import { idPattern } from '../../domain/ids';
import { WORKFLOW_NAME_PATTERN } from '../../domain/plans';
import { z } from '../../domain/zod';
import { ZCursorParam, ZLimit } from '../query';

/**
 * The workflow resource's request and response schemas (SPEC §3); a run's are in ../runs/schemas.ts.
 * Pure zod: routes validate with them and the OpenAPI document comes from them.
 */

const WORKFLOW_ID_EXAMPLE = 'wf_01jd3v8k2m7q9x4w5y6z7a8b9c';
export const ZWorkflowId = z.string().regex(idPattern('wf'), `must be a workflow id like ${WORKFLOW_ID_EXAMPLE}`).openapi({ example: WORKFLOW_ID_EXAMPLE });
export const ZWorkflowIdParams = z.object({ id: ZWorkflowId });

const timestamp = z.string().openapi({ format: 'date-time', example: '2026-11-21T08:00:00.000Z' });
const ZPageLimit = ZLimit(200, 50);
const ZCursor = ZCursorParam;

export const MAX_DECLARED_INPUTS = 50;

export const ZSaveAsWorkflow = z
  .object({
    name: z
      .string()
      .regex(WORKFLOW_NAME_PATTERN, 'a workflow name is a slug: 1-64 of a-z 0-9 _ - starting with a letter or digit')
      .openapi({ example: 'nightly-report', description: 'A slug; saving the same name again makes its next version.' }),
    description: z.string().max(2000).optional(),
    inputs: z
      .array(ZWorkflowInput)
      .max(MAX_DECLARED_INPUTS, `at most ${MAX_DECLARED_INPUTS} inputs`)
      .optional()
      .openapi({ description: 'Declared text inputs, used as `{{inputs.name}}` in titles, intents and judgment texts. Saving a run root without `inputs` keeps its workflow\'s.' }),
  })
  .strict()
  .openapi('SaveAsWorkflow');

const ZOwner = z.object({ type: z.enum(['user', 'agent']), id: z.string() });

/**
 * A declared input as a response shows it: the shape of WorkflowInput without
 * its request limits, so a workflow saved before a limit tightened still
 * reads back (the response body is parsed through this schema).
 */
const ZWorkflowInputView = z.object({ name: z.string(), description: z.string().optional(), default: z.string().optional(), required: z.boolean().optional() });

const workflowCommon = {
  id: z.string(),
  name: z.string(),
  version: z.number().int(),
  description: z.string().nullable(),
  owner: ZOwner,
  agent_id: z.string(),
  inputs: z.array(ZWorkflowInputView),
  format: z.string().openapi({ example: 'frozen/v0' }),
  content_hash: z.string().openapi({ description: 'sha256 of the canonical frozen plan.' }),
  fully_frozen: z.boolean().openapi({ description: 'Every composite has its plan: a run needs no planner.' }),
  required_runtimes: z.array(z.string()).openapi({
    description: 'The action runtimes running it needs: its leaves\', `shell` for every acceptance check, and those of the workflows it names, transitively. Running, referencing or scheduling it needs an agent allowed all of them.',
    example: ['http', 'shell'],
  }),
  source_goal_id: z.string().nullable(),
  source_run_id: z.string().nullable().openapi({ description: 'Lineage: the run whose root this version was saved from.' }),
  run_count: z.number().int(),
  created_at: timestamp,
};

export const ZWorkflowSummary = z.object(workflowCommon).openapi('WorkflowSummary');
export const ZWorkflow = z
  .object({ ...workflowCommon, frozen_plan: z.record(z.string(), z.unknown()).openapi({ description: 'The structural snapshot (`format`), root first.' }) })
  .openapi('Workflow');

export const ZWorkflowList = z.object({ items: z.array(ZWorkflowSummary), next_cursor: z.string().nullable() }).openapi('WorkflowList');

export const ZWorkflowListQuery = z
  .object({ cursor: ZCursor, limit: ZPageLimit, name: z.string().regex(WORKFLOW_NAME_PATTERN, 'name is a workflow name (a slug)').optional() })
  .strict();

export const ZDiffQuery = z.object({ against: ZWorkflowId.openapi({ description: 'The other version (the older side of the diff).' }) }).strict();

const ZGoalRef = z.object({ path: z.string(), kind: z.string(), title: z.string() });
const ZEdgeRef = z.object({ parent_path: z.string(), from: z.string(), to: z.string(), on: z.unknown() });
export const ZWorkflowDiff = z
  .object({
    workflow: z.object({ id: z.string(), version: z.number().int() }),
    against: z.object({ id: z.string(), version: z.number().int() }),
    identical: z.boolean(),
    goals: z.object({
      added: z.array(ZGoalRef),
      removed: z.array(ZGoalRef),
      changed: z.array(z.object({ path: z.string(), fields: z.array(z.object({ field: z.string(), from: z.unknown(), to: z.unknown() })) })),
    }),
    edges: z.object({ added: z.array(ZEdgeRef), removed: z.array(ZEdgeRef) }),
  })
  .openapi('WorkflowDiff');

export type TWorkflowJson = z.infer<typeof ZWorkflow>;
export type TWorkflowSummaryJson = z.infer<typeof ZWorkflowSummary>;
