import { Repeat, Save } from 'lucide-react';
import { useState } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { GoalDetails } from '../components/GoalDetails';
import { GoalTree } from '../components/GoalTree';
import { SaveWorkflowDialog } from '../components/SaveWorkflowDialog';
import { Button, Card, ErrorNote, Loading, PageHeader, Pill, StatusBadge, TextLink, Time } from '../components/ui';
import { plural, reasonOf } from '../lib/format';
import { useGoal, useGoalTree, useRunIdentity, useWorkflow } from '../lib/queries';
import type { TIndexedTree } from '../lib/tree';

export function GoalPage() {
  const { id } = useParams();
  const { tree, error, isPending } = useGoalTree(id);
  if (isPending) return <Loading what="the goal tree" />;
  if (error || !tree) return <ErrorNote error={error ?? 'No such goal.'} />;
  return <GoalTreePage tree={tree} />;
}

/** A goal that came from a run links back to its workflow (name, version) and run (number). */
export function LineageBadge({ attribution }: { attribution: NonNullable<TIndexedTree['root']['attribution']> }) {
  const run = useRunIdentity(attribution.run_id);
  // A run says its workflow's name; a goal without a run (none today, but the field allows it) asks the workflow.
  const workflow = useWorkflow(attribution.run_id ? null : attribution.workflow_id);
  const identity = run.data?.workflow ?? workflow.data;
  const name = identity ? `${identity.name} v${identity.version}` : 'workflow';
  return (
    <span className="inline-flex items-center gap-1.5 rounded-md bg-indigo-50 px-2 py-0.5 text-xs font-medium text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200">
      <Repeat className="size-3.5" aria-hidden />
      <TextLink to={`/workflows/${attribution.workflow_id}`}>{name}</TextLink>
      {attribution.run_id && (
        <>
          <span aria-hidden>·</span>
          <TextLink to={`/runs/${attribution.run_id}`}>{run.data ? `run #${run.data.number}` : 'its run'}</TextLink>
        </>
      )}
    </span>
  );
}

export function GoalTreePage({ tree, embedded }: { tree: TIndexedTree; embedded?: boolean }) {
  const [params, setParams] = useSearchParams();
  const selectedId = params.get('goal') ?? tree.root.id;
  const selected = useGoal(tree.byId.has(selectedId) ? selectedId : tree.root.id, tree.running);
  const [saving, setSaving] = useState(false);
  const root = tree.root;
  const canSave = root.kind === 'composite' && root.lifecycle === 'done' && root.done_reason === 'accepted';
  const select = (goalId: string) => {
    const next = new URLSearchParams(params);
    if (goalId === root.id) next.delete('goal');
    else next.set('goal', goalId);
    setParams(next, { replace: true });
  };

  return (
    <>
      {!embedded && (
        <PageHeader
          eyebrow={root.kind === 'composite' ? 'Goal tree' : 'Goal'}
          title={root.title}
          badges={
            <>
              <StatusBadge status={root.lifecycle} detail={reasonOf(root)} />
              {root.attribution && <LineageBadge attribution={root.attribution} />}
            </>
          }
          actions={
            canSave && (
              <Button variant="primary" onClick={() => setSaving(true)}>
                <Save className="size-4" aria-hidden /> Save as workflow
              </Button>
            )
          }
        >
          {plural(root.goals.total, 'goal')} · created <Time iso={root.created_at} />
          {root.finished_at && (
            <>
              {' '}
              · finished <Time iso={root.finished_at} />
            </>
          )}
          {tree.running && <Pill tone="indigo">live</Pill>}
        </PageHeader>
      )}
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-[minmax(0,1.35fr)_minmax(0,1fr)]">
        <Card id="tree" title="Tree" actions={root.truncated ? <Pill tone="amber">{`${root.goals.shown.toLocaleString('en')} of ${root.goals.total.toLocaleString('en')} goals shown`}</Pill> : undefined}>
          <GoalTree tree={tree} selectedId={selectedId} onSelect={select} label={`Goals of ${root.title}`} />
        </Card>
        <Card id="details" title="Selected goal" className="self-start lg:sticky lg:top-4">
          {selected.data ? <GoalDetails goal={selected.data} tree={tree} /> : selected.error ? <ErrorNote error={selected.error} className="m-4" /> : <Loading what="the goal" />}
        </Card>
      </div>
      {saving && <SaveWorkflowDialog tree={tree} open={saving} onOpenChange={setSaving} />}
    </>
  );
}
