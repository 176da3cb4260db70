import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Our custom Temporal search attributes (SPEC §8). Registered on the dev server
 * at start (`--search-attribute Name=Type`) and, on an external server, by
 * ensureSearchAttributes (src/temporal/namespace.ts) when `npm start` or
 * `npm run worker` starts. The dev server has 10 Keyword and 3 Int slots.
 */
export const SA_GOAL_ID = defineSearchAttributeKey('RepriseGoalId', SearchAttributeType.KEYWORD);
export const SA_ROOT_GOAL_ID = defineSearchAttributeKey('RepriseRootGoalId', SearchAttributeType.KEYWORD);
export const SA_WORKFLOW_NAME = defineSearchAttributeKey('RepriseWorkflowName', SearchAttributeType.KEYWORD);
export const SA_WORKFLOW_VERSION = defineSearchAttributeKey('RepriseWorkflowVersion', SearchAttributeType.INT);
export const SA_RUN_ID = defineSearchAttributeKey('RepriseRunId', SearchAttributeType.KEYWORD);
export const SA_SCHEDULE_ID = defineSearchAttributeKey('RepriseScheduleId', SearchAttributeType.KEYWORD);

/** Temporal's own, set on every execution a Schedule starts: the fire's nominal time (not registered by us). */
export const SA_TEMPORAL_SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export const SEARCH_ATTRIBUTES = [
  SA_GOAL_ID,
  SA_ROOT_GOAL_ID,
  SA_WORKFLOW_NAME,
  SA_WORKFLOW_VERSION,
  SA_RUN_ID,
  SA_SCHEDULE_ID,
] as const;

/** The type names `temporal server start-dev --search-attribute` expects. */
const CLI_TYPE_NAMES: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
};

/** `Name=Type` pairs for the dev server's `--search-attribute` flag. */
export function searchAttributeCliArgs(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((sa) => ['--search-attribute', `${sa.name}=${CLI_TYPE_NAMES[sa.type]}`]);
}
