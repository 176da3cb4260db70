import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Ban, ExternalLink as ExternalIcon } from 'lucide-react';
import { useState } from 'react';
import { useParams } from 'react-router';
import { Button, Card, DescriptionList, ErrorNote, Loading, Modal, PageHeader, Pill, StatusBadge, TextLink, Time } from '../components/ui';
import { api } from '../lib/api';
import { plural } from '../lib/format';
import { useGoalTree, useRun } from '../lib/queries';
import { GoalTreePage } from './GoalPage';

export function RunPage() {
  const { id } = useParams();
  const run = useRun(id);
  const tree = useGoalTree(run.data?.root_goal_id ?? undefined);
  const [cancelling, setCancelling] = useState(false);
  const queryClient = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => api.call('post', '/api/goals/{id}/cancel', { params: { id: run.data!.root_goal_id! } }),
    onSuccess: () => {
      setCancelling(false);
      void queryClient.invalidateQueries({ queryKey: ['run', id] });
      void queryClient.invalidateQueries({ queryKey: ['goal-tree'] });
    },
  });
  if (run.isPending) return <Loading what="the run" />;
  if (run.error) return <ErrorNote error={run.error} />;
  const r = run.data;
  const p = r.progress;
  const active = r.status.status === 'running' || r.status.status === 'blocked' || r.status.status === 'pending';
  const pct = p && p.goals > 0 ? Math.round((p.ended / p.goals) * 100) : 0;
  return (
    <>
      <PageHeader
        eyebrow="Run"
        title={`Run #${r.number}${r.title ? `: ${r.title}` : ''}`}
        badges={<StatusBadge status={r.status.status} detail={r.status.reason} />}
        actions={
          active &&
          r.root_goal_id && (
            <Button variant="danger" onClick={() => setCancelling(true)}>
              <Ban className="size-4" aria-hidden /> Cancel run…
            </Button>
          )
        }
      >
        Run of <TextLink to={`/workflows/${r.workflow.id}`}>{`${r.workflow.name} v${r.workflow.version}`}</TextLink> · started <Time iso={r.created_at} />
      </PageHeader>
      <div className="mb-6 grid gap-6 lg:grid-cols-2">
        <Card id="progress" title="Progress">
          <div className="space-y-3 p-4">
            {p ? (
              <>
                <div className="flex justify-between text-sm">
                  <span>{plural(p.ended, 'goal')} of {p.goals} ended</span>
                  <span className="tabular-nums">{pct}%</span>
                </div>
                <div className="h-2 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800" role="progressbar" aria-label="Goals ended" aria-valuemin={0} aria-valuemax={p.goals} aria-valuenow={p.ended}>
                  <div className="h-full rounded-full bg-indigo-500 transition-all" style={{ width: `${pct}%` }} />
                </div>
                <div className="flex flex-wrap gap-2">
                  {Object.entries(p.by_lifecycle).map(([k, v]) => (
                    <Pill key={k}>{`${k}: ${v}`}</Pill>
                  ))}
                  {p.current_layer !== null && <Pill tone="indigo">{`layer ${p.current_layer + 1} of ${p.layers}`}</Pill>}
                </div>
              </>
            ) : (
              <p className="text-sm">No progress yet.</p>
            )}
          </div>
        </Card>
        <Card id="run-about" title="This run">
          <div className="p-4">
            <DescriptionList
              items={[
                ['Instantiation', r.state + (r.error ? `: ${r.error}` : '')],
                ['Idempotency key', <code key="k" className="text-xs">{r.idempotency_key}</code>],
                ['Inputs', Object.keys(r.inputs).length ? Object.entries(r.inputs).map(([k, v]) => `${k} = ${v}`).join(', ') : 'none'],
                ...(r.schedule_id ? ([['Schedule', <TextLink key="s" to="/schedules">{r.schedule_id}</TextLink>]] as [string, React.ReactNode][]) : []),
                ...(r.parent_run_id ? ([['Part of', <TextLink key="p" to={`/runs/${r.parent_run_id}`}>its parent run</TextLink>]] as [string, React.ReactNode][]) : []),
                ...(r.temporal.ui_url
                  ? ([[
                      'Temporal',
                      <a key="t" href={r.temporal.ui_url} target="_blank" rel="noreferrer" className="inline-flex items-center gap-1 font-medium text-indigo-700 hover:underline dark:text-indigo-300">
                        {r.temporal.workflow_id} <ExternalIcon className="size-3" aria-hidden />
                        <span className="sr-only">(opens in a new tab)</span>
                      </a>,
                    ]] as [string, React.ReactNode][])
                  : []),
              ]}
            />
          </div>
        </Card>
      </div>
      {tree.tree ? <GoalTreePage tree={tree.tree} embedded /> : r.root_goal_id ? <Loading what="the goal tree" /> : <Card><p className="p-4 text-sm">The tree does not exist yet ({r.state}).</p></Card>}
      <Modal open={cancelling} onOpenChange={setCancelling} title="Cancel this run?" description="Its goals that have not ended are cancelled; done goals stay done.">
        <ErrorNote error={cancel.error} className="mb-3" />
        <div className="flex justify-end gap-2">
          <Button onClick={() => setCancelling(false)}>Keep running</Button>
          <Button variant="danger" busy={cancel.isPending} onClick={() => cancel.mutate()}>
            Cancel run
          </Button>
        </div>
      </Modal>
    </>
  );
}
