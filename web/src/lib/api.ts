import { ApiError, createApiClient } from '../../../src/client/http';
import type { components } from '../../../src/generated/api';
import { getToken, signOut } from './auth';

// The UI talks only to the documented HTTP API, through the client typed from
// its OpenAPI document (src/client/http.ts, the CLI's too): a route that drifts
// from the document breaks `npm run typecheck` here as well.

export { ApiError };
export type TSchemas = components['schemas'];
export type TGoal = TSchemas['Goal'];
export type TGoalSummary = TSchemas['GoalSummary'];
export type TGoalTree = TSchemas['GoalTree'];
export type TGoalTreeRoot = TSchemas['GoalTreeRoot'];
export type TEdge = TSchemas['Edge'];
export type TWorkflow = TSchemas['Workflow'];
export type TWorkflowSummary = TSchemas['WorkflowSummary'];
export type TWorkflowInput = TSchemas['WorkflowInput'];
export type TRun = TSchemas['Run'];
export type TSchedule = TSchemas['Schedule'];
export type TLifecycle = TGoal['lifecycle'];

type TClient = ReturnType<typeof createApiClient>;

/** Same origin: paths are relative to the page's host. */
async function signedIn<T>(send: (client: TClient) => Promise<T>): Promise<T> {
  const token = getToken();
  try {
    return await send(createApiClient({ baseUrl: '', token: token ?? undefined }));
  } catch (err) {
    // A token that stopped working (revoked, expired, another stack's): back to the sign-in page.
    if (err instanceof ApiError && err.status === 401) signOut(err.message);
    throw err;
  }
}

export const api: TClient = {
  call: (...args: Parameters<TClient['call']>) => signedIn((c) => c.call(...args)),
  callIfChanged: (...args: Parameters<TClient['callIfChanged']>) => signedIn((c) => c.callIfChanged(...args)),
} as TClient;

/** What to show for a failed request: 403 names the missing scope (the API's message says which). */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 403) return `Not allowed: ${err.message}. Ask for a token with that scope.`;
    return err.message;
  }
  if (err instanceof TypeError) return 'The API did not answer (network error). Is `npm start` still running?';
  return err instanceof Error ? err.message : String(err);
}

/** A 400's per-field problems, keyed by their path without the `body.` prefix (`inputs.0.name`). */
export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(err instanceof ApiError) || !Array.isArray(err.details)) return out;
  for (const d of err.details as { path?: unknown; message?: unknown }[]) {
    if (typeof d.path === 'string' && typeof d.message === 'string') out[d.path.replace(/^body\./, '')] ??= d.message;
  }
  return out;
}
