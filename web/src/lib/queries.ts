import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { api } from './api';
import { indexTree } from './tree';

/**
 * Live polling: fast while something in view runs, slow when all is idle.
 * TanStack Query stops interval refetches while the tab is hidden
 * (refetchIntervalInBackground is false) and refetches when it shows again.
 */
export const FAST_POLL_MS = 1_500;
export const IDLE_POLL_MS = 15_000;

export function useGoalTree(id: string | undefined) {
  const query = useQuery({
    queryKey: ['goal-tree', id],
    enabled: !!id,
    queryFn: async () => (await api.call('get', '/api/goals/{id}/tree', { params: { id: id! }, query: { depth: 100, limit: 10_000 } })).body,
    refetchInterval: (q) => (q.state.data && !indexTree(q.state.data).running ? IDLE_POLL_MS : FAST_POLL_MS),
  });
  const tree = useMemo(() => (query.data ? indexTree(query.data) : undefined), [query.data]);
  return { ...query, tree };
}

export function useGoal(id: string | null | undefined, running: boolean) {
  return useQuery({
    queryKey: ['goal', id],
    enabled: !!id,
    queryFn: async () => (await api.call('get', '/api/goals/{id}', { params: { id: id! } })).body,
    refetchInterval: running ? FAST_POLL_MS : IDLE_POLL_MS,
  });
}

export function useWorkflow(id: string | null | undefined) {
  return useQuery({
    queryKey: ['workflow', id],
    enabled: !!id,
    queryFn: async () => (await api.call('get', '/api/workflows/{id}', { params: { id: id! } })).body,
    staleTime: 60_000,
  });
}

export function useRun(id: string | null | undefined) {
  return useQuery({
    queryKey: ['run', id],
    enabled: !!id,
    queryFn: async () => (await api.call('get', '/api/runs/{id}', { params: { id: id! } })).body,
    refetchInterval: (q) => {
      const s = q.state.data?.status.status;
      return s === 'running' || s === 'pending' || s === 'blocked' ? FAST_POLL_MS : IDLE_POLL_MS;
    },
  });
}

/**
 * A run's number within its workflow (1 = the first run): the API lists runs
 * newest first with their `total`, so the run at overall position i is number
 * total - i. Found by paging until the run shows up (usually the first page).
 */
export async function findRunNumber(workflowId: string, runId: string): Promise<number | null> {
  let cursor: string | undefined;
  let offset = 0;
  for (let pages = 0; pages < 50; pages++) {
    const { body } = await api.call('get', '/api/workflows/{id}/runs', { params: { id: workflowId }, query: { limit: 200, cursor } });
    const i = body.items.findIndex((r) => r.id === runId);
    if (i >= 0) return body.total - (offset + i);
    if (!body.next_cursor) return null;
    offset += body.items.length;
    cursor = body.next_cursor;
  }
  return null;
}

export function useRunNumber(workflowId: string | null | undefined, runId: string | null | undefined) {
  return useQuery({
    queryKey: ['run-number', workflowId, runId],
    enabled: !!workflowId && !!runId,
    queryFn: () => findRunNumber(workflowId!, runId!),
    staleTime: Infinity,
  });
}
