import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { api, type TGoalTreeRoot } from './api';
import { indexTree } from './tree';

/**
 * Live polling: fast while something in view runs, slow when all is idle.
 * TanStack Query stops interval refetches while the tab is hidden
 * (refetchIntervalInBackground is false) and refetches when it shows again.
 */
export const FAST_POLL_MS = 1_500;
export const IDLE_POLL_MS = 15_000;
/** A running tree's poll backs off with its size: a changed 10,000-goal tree is megabytes to parse, so at most every 5 s. */
export const FAST_POLL_MS_PER_1000_GOALS = 500;

/** How often to poll a tree of `goals` goals. */
export function treePollMs(running: boolean, goals: number): number {
  if (!running) return IDLE_POLL_MS;
  return Math.min(IDLE_POLL_MS, Math.max(FAST_POLL_MS, Math.ceil(goals / 1000) * FAST_POLL_MS_PER_1000_GOALS));
}

/** How long a new draft tree is polled as if it ran: a tree started at creation reads `draft` until its workflow opens it. */
const NEW_DRAFT_MS = 60_000;

function justCreated(root: TGoalTreeRoot): boolean {
  return root.lifecycle === 'draft' && Date.now() - Date.parse(root.created_at) < NEW_DRAFT_MS;
}

interface TTreeAnswer {
  root: TGoalTreeRoot;
  /** The API's version of it: sent back as If-None-Match, an unchanged tree is a bodiless 304. */
  etag: string | undefined;
}

/**
 * A goal tree, polled cheaply: each poll names the version it has and an
 * unchanged tree answers 304 (the previous answer is kept, the same object,
 * so nothing is parsed, indexed or rendered again); a changed one is read
 * whole, less often the bigger it is (treePollMs).
 */
export function useGoalTree(id: string | undefined) {
  const client = useQueryClient();
  const query = useQuery({
    queryKey: ['goal-tree', id],
    enabled: !!id,
    queryFn: async (): Promise<TTreeAnswer> => {
      const previous = client.getQueryData<TTreeAnswer>(['goal-tree', id]);
      const answer = await api.callIfChanged('get', '/api/goals/{id}/tree', { params: { id: id! }, query: { depth: 100, limit: 10_000 } }, previous?.etag);
      if (answer.notModified && previous) return previous;
      if (answer.notModified) throw new Error('the API said "not modified" to a first read');
      return { root: answer.body, etag: answer.etag };
    },
    refetchInterval: (q) => {
      const root = q.state.data?.root;
      if (!root) return FAST_POLL_MS;
      return treePollMs(indexTree(root).running || justCreated(root), root.goals.shown);
    },
  });
  const root = query.data?.root;
  const tree = useMemo(() => (root ? indexTree(root) : undefined), [root]);
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
 * What never changes about a run (its number, its workflow's name and
 * version): read once, for badges and links, without polling.
 */
export function useRunIdentity(id: string | null | undefined) {
  return useQuery({
    queryKey: ['run-identity', id],
    enabled: !!id,
    queryFn: async () => {
      const { body } = await api.call('get', '/api/runs/{id}', { params: { id: id! } });
      return { number: body.number, workflow: body.workflow };
    },
    staleTime: Infinity,
  });
}
