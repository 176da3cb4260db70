import { useQuery } from '@tanstack/react-query';
import { ChevronRight, Plus, Repeat } from 'lucide-react';
import { useState } from 'react';
import { NewGoalDialog } from '../components/NewGoalDialog';
import { Link, useSearchParams } from 'react-router';
import { Button, Card, Empty, ErrorNote, Loading, PageHeader, Pill, StatusBadge, Time, TextLink, buttonClass, inputClass } from '../components/ui';
import { api, type TGoalSummary, type TLifecycle, type TWorkflowSummary } from '../lib/api';
import { isEnded, plural, reasonOf } from '../lib/format';

const LIFECYCLES: TLifecycle[] = ['draft', 'active', 'blocked', 'done', 'failed', 'cancelled'];
const WAITING = ['plan', 'completion', 'agent', 'judgment'] as const;
const PAGE_SIZE = 25;
const selectClass = inputClass.replace('block w-full', 'inline-block w-auto');

type TRow = { kind: 'goal'; goal: TGoalSummary } | { kind: 'runs'; workflowId: string; goals: TGoalSummary[] };

/**
 * Finished run roots of one workflow collapse into one row (linking to the
 * workflow, where its runs are listed); every other root goal is its own row.
 */
function rowsOf(goals: TGoalSummary[]): TRow[] {
  const rows: TRow[] = [];
  const groups = new Map<string, TGoalSummary[]>();
  for (const goal of goals) {
    const wf = goal.attribution?.run_id ? goal.attribution.workflow_id : null;
    if (wf && isEnded(goal.lifecycle)) {
      let group = groups.get(wf);
      if (!group) {
        group = [];
        groups.set(wf, group);
        rows.push({ kind: 'runs', workflowId: wf, goals: group });
      }
      group.push(goal);
    } else rows.push({ kind: 'goal', goal });
  }
  return rows;
}

export function GoalsPage() {
  const [params, setParams] = useSearchParams();
  const lifecycle = params.get('lifecycle') as TLifecycle | null;
  const waiting = params.get('waiting_for') as (typeof WAITING)[number] | null;
  const cursor = params.get('cursor') ?? undefined;
  const page = Number(params.get('page') ?? '1') || 1;
  const [creating, setCreating] = useState(false);

  const goals = useQuery({
    queryKey: ['goals', 'roots', lifecycle, waiting, cursor],
    queryFn: async () =>
      (await api.call('get', '/api/goals', { query: { root_only: 'true', limit: PAGE_SIZE, cursor, lifecycle: lifecycle ?? undefined, waiting_for: waiting ?? undefined } })).body,
    refetchInterval: 5_000,
  });
  const workflows = useQuery({
    queryKey: ['workflows', 'all'],
    queryFn: async () => (await api.call('get', '/api/workflows', { query: { limit: 200 } })).body,
    refetchInterval: 15_000,
  });
  const workflowById = new Map((workflows.data?.items ?? []).map((w) => [w.id, w]));

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    next.delete('cursor');
    next.delete('page');
    setParams(next);
  };
  const pageLink = (nextCursor: string | null, nextPage: number) => {
    const next = new URLSearchParams(params);
    if (nextCursor) next.set('cursor', nextCursor);
    else next.delete('cursor');
    if (nextPage > 1) next.set('page', String(nextPage));
    else next.delete('page');
    return `?${next.toString()}`;
  };

  return (
    <>
      <PageHeader
        title="Goals"
        eyebrow="Overview"
        actions={
          <Button variant="primary" onClick={() => setCreating(true)}>
            <Plus className="size-4" aria-hidden /> New goal…
          </Button>
        }
      >
        Root goals and the trees under them. A tree that worked can be saved as a workflow and run again.
      </PageHeader>

      <Repeatable workflows={workflows.data?.items ?? []} />

      <Card
        id="roots"
        title="Root goals"
        actions={
          <form className="flex flex-wrap items-center gap-2" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
            <label className="sr-only" htmlFor="filter-lifecycle">
              Lifecycle
            </label>
            <select id="filter-lifecycle" className={selectClass} value={lifecycle ?? ''} onChange={(e) => setFilter('lifecycle', e.target.value)}>
              <option value="">Any lifecycle</option>
              {LIFECYCLES.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
            <label className="sr-only" htmlFor="filter-waiting">
              Waiting for
            </label>
            <select id="filter-waiting" className={selectClass} value={waiting ?? ''} onChange={(e) => setFilter('waiting_for', e.target.value)}>
              <option value="">Waiting for anything</option>
              {WAITING.map((w) => (
                <option key={w} value={w}>
                  waiting for {w}
                </option>
              ))}
            </select>
            {(lifecycle || waiting) && (
              <button
                type="button"
                className={buttonClass('ghost')}
                onClick={() => {
                  const next = new URLSearchParams(params);
                  for (const name of ['lifecycle', 'waiting_for', 'cursor', 'page']) next.delete(name);
                  setParams(next);
                }}
              >
                Clear filters
              </button>
            )}
          </form>
        }
      >
        {goals.isPending ? (
          <Loading what="goals" />
        ) : goals.isError ? (
          <ErrorNote error={goals.error} className="m-4" />
        ) : goals.data.items.length === 0 ? (
          <Empty>
            {lifecycle || waiting ? 'No root goal matches these filters.' : (
              <>
                No goals yet. Create one with New goal…, <code>reprise goal create</code> or <code>POST /api/goals</code> (see the <a className="underline" href="/api/docs">API reference</a>).
              </>
            )}
          </Empty>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm">
              <caption className="sr-only">Root goals, newest first</caption>
              <thead className="border-b border-zinc-200 text-xs text-zinc-500 uppercase dark:border-zinc-800 dark:text-zinc-400">
                <tr>
                  <th scope="col" className="px-4 py-2 font-medium">Goal</th>
                  <th scope="col" className="px-4 py-2 font-medium">State</th>
                  <th scope="col" className="px-4 py-2 font-medium">Kind</th>
                  <th scope="col" className="px-4 py-2 font-medium">Created</th>
                  <th scope="col" className="px-4 py-2 font-medium">Updated</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
                {rowsOf(goals.data.items).map((row) =>
                  row.kind === 'goal' ? (
                    <GoalRow key={row.goal.id} goal={row.goal} workflow={row.goal.attribution ? workflowById.get(row.goal.attribution.workflow_id) : undefined} />
                  ) : (
                    <RunsRow key={`runs-${row.workflowId}`} goals={row.goals} workflow={workflowById.get(row.workflowId)} workflowId={row.workflowId} />
                  ),
                )}
              </tbody>
            </table>
          </div>
        )}
        <nav aria-label="Pages" className="flex items-center justify-between border-t border-zinc-200 px-4 py-2 text-sm dark:border-zinc-800">
          <span className="text-zinc-500 dark:text-zinc-400">Page {page}</span>
          <div className="flex gap-2">
            {cursor && (
              <Link className={buttonClass('secondary')} to={pageLink(null, 1)}>
                First page
              </Link>
            )}
            {goals.data?.next_cursor && (
              <Link className={buttonClass('secondary')} to={pageLink(goals.data.next_cursor, page + 1)}>
                Next page <ChevronRight className="size-4" aria-hidden />
              </Link>
            )}
          </div>
        </nav>
      </Card>
      {creating && <NewGoalDialog open onOpenChange={setCreating} />}
    </>
  );
}

function GoalRow({ goal, workflow }: { goal: TGoalSummary; workflow?: TWorkflowSummary }) {
  const reason = reasonOf(goal);
  return (
    <tr className="hover:bg-zinc-50 dark:hover:bg-zinc-800/50">
      <td className="px-4 py-2.5">
        {/* A long title is cut after three lines (whole on hover and on its page). */}
        <span className="line-clamp-3 [overflow-wrap:anywhere]" title={goal.title}>
          <TextLink to={`/goals/${goal.id}`}>{goal.title}</TextLink>
        </span>
        {goal.attribution?.run_id && (
          <div className="mt-0.5 text-xs text-zinc-500 dark:text-zinc-400">
            run of {workflow ? `${workflow.name} v${workflow.version}` : 'a workflow'}
          </div>
        )}
      </td>
      <td className="px-4 py-2.5">
        <StatusBadge status={goal.lifecycle} detail={reason} />
      </td>
      <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400">{goal.kind}</td>
      <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400">
        <Time iso={goal.created_at} />
      </td>
      <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400">
        <Time iso={goal.updated_at} />
      </td>
    </tr>
  );
}

function RunsRow({ goals, workflow, workflowId }: { goals: TGoalSummary[]; workflow?: TWorkflowSummary; workflowId: string }) {
  const newest = goals[0]!;
  const failed = goals.filter((g) => g.lifecycle === 'failed').length;
  return (
    <tr className="bg-zinc-50/60 hover:bg-zinc-50 dark:bg-zinc-900 dark:hover:bg-zinc-800/50">
      <td className="px-4 py-2.5">
        <Link to={`/workflows/${workflowId}`} className="inline-flex items-center gap-1.5 font-medium text-indigo-700 hover:underline dark:text-indigo-300">
          <Repeat className="size-4" aria-hidden />
          {workflow ? `${workflow.name} v${workflow.version}` : 'Workflow'} — {plural(workflow?.run_count ?? goals.length, 'run')}
        </Link>
        <div className="mt-0.5 text-xs text-zinc-500 dark:text-zinc-400">
          {plural(goals.length, 'finished run')} on this page, latest “{newest.title}”
        </div>
      </td>
      <td className="px-4 py-2.5">
        <div className="flex flex-wrap gap-1">
          <StatusBadge status={newest.lifecycle} detail={reasonOf(newest)} />
          {failed > 0 && goals.length > 1 && <Pill tone="amber">{failed} failed</Pill>}
        </div>
      </td>
      <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400">runs</td>
      <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400">
        <Time iso={goals[goals.length - 1]!.created_at} />
      </td>
      <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400">
        <Time iso={newest.updated_at} />
      </td>
    </tr>
  );
}

/** Workflows, one row per name (its latest version); nothing at all until the first one exists. */
function Repeatable({ workflows }: { workflows: TWorkflowSummary[] }) {
  if (workflows.length === 0) return null;
  const byName = new Map<string, { latest: TWorkflowSummary; runs: number; versions: number }>();
  for (const w of workflows) {
    const key = `${w.owner.type}:${w.owner.id}:${w.name}`;
    const seen = byName.get(key);
    if (!seen) byName.set(key, { latest: w, runs: w.run_count, versions: 1 });
    else {
      seen.runs += w.run_count;
      seen.versions += 1;
      if (w.version > seen.latest.version) seen.latest = w;
    }
  }
  return (
    <Card id="repeatable" title="Repeatable (workflows)" className="mb-6">
      <ul className="divide-y divide-zinc-100 dark:divide-zinc-800">
        {[...byName.values()].map(({ latest, runs, versions }) => (
          <li key={latest.id} className="flex flex-wrap items-center justify-between gap-3 px-4 py-2.5 text-sm">
            <div className="flex min-w-0 items-center gap-2">
              <Repeat className="size-4 text-indigo-500" aria-hidden />
              <TextLink to={`/workflows/${latest.id}`}>{latest.name}</TextLink>
              <Pill title={`${plural(versions, 'version')} saved`}>v{latest.version}</Pill>
              {!latest.fully_frozen && (
                <Pill tone="amber" title="Some composite has no plan: its runs wait for one">
                  partly frozen
                </Pill>
              )}
              {latest.description && (
                <span className="min-w-0 truncate text-zinc-500 dark:text-zinc-400" title={latest.description}>
                  {latest.description}
                </span>
              )}
            </div>
            <span className="text-zinc-600 dark:text-zinc-400">{plural(runs, 'run')}{versions > 1 ? ' (all versions)' : ''}</span>
          </li>
        ))}
      </ul>
    </Card>
  );
}
