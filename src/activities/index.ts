import type { PrismaClient } from '../db/client';
import { createGoalActivities } from './goals';
import { createLeafActivities } from './leaves';
import { createRunActivities } from './runs';
import { createScheduleActivities } from './schedules';
import type { TWorkspaces } from './workspaces';

/**
 * Activities: all of Reprise's I/O on behalf of Temporal workflows, one
 * factory per area spread into the one object the worker registers. Activity
 * names are part of recorded histories: renaming one breaks running workflows.
 */

export type { TLayer, TLayerChild, TLayerLeaf, TOpenedGoal } from './goals';
export type { TLeafResult } from './leaves';
export type { TBegunRun } from './runs';

export interface TActivityDeps {
  prisma: PrismaClient;
  /** Attempt files live under `<dataDir>/attempts/<goal id>` (attemptFiles.ts). */
  dataDir: string;
  /** Where leaf commands run (`<dir>/<root goal id>`), and as whom. */
  workspaces: TWorkspaces;
  leaf: { outputMaxBytes: number; defaultTimeoutS: number };
}

export function createActivities(deps: TActivityDeps) {
  return {
    ...createGoalActivities(deps),
    ...createLeafActivities(deps),
    ...createRunActivities(deps),
    ...createScheduleActivities(deps),
  };
}

export type TActivities = ReturnType<typeof createActivities>;
