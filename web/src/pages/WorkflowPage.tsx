import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { CalendarPlus, ChevronLeft, ChevronRight, ExternalLink as ExternalIcon, GitCompare, Play, Trash2 } from 'lucide-react';
import { useState } from 'react';
import { useNavigate, useParams, useSearchParams } from 'react-router';
import { RunDialog } from '../components/RunDialog';
import { ScheduleDialog } from '../components/ScheduleDialog';
import { Button, Card, DescriptionList, Empty, ErrorNote, Loading, Modal, PageHeader, Pill, StatusBadge, Time, TextLink, buttonClass, cx } from '../components/ui';
import { api, type TWorkflow } from '../lib/api';
import { edgeSentence, plural } from '../lib/format';
import { useWorkflow } from '../lib/queries';
import { specInWords } from '../lib/schedules';

export function WorkflowPage() {
  const { id } = useParams();
  const workflow = useWorkflow(id);
  if (workflow.isPending) return <Loading what="the workflow" />;
  if (workflow.error) return <ErrorNote error={workflow.error} />;
  return <WorkflowView workflow={workflow.data} />;
}

function WorkflowView({ workflow }: { workflow: TWorkflow }) {
  const [dialog, setDialog] = useState<null | 'run' | 'schedule' | 'delete'>(null);
  return (
    <>
      <PageHeader
        eyebrow="Workflow"
        title={workflow.name}
        badges={
          <>
            <Pill tone="indigo">v{workflow.version}</Pill>
            {workflow.fully_frozen ? <Pill tone="emerald">fully frozen</Pill> : <Pill tone="amber" title="Some composite has no plan: its runs wait for one">partly frozen</Pill>}
          </>
        }
        actions={
          <>
            <Button variant="primary" onClick={() => setDialog('run')}>
              <Play className="size-4" aria-hidden /> Run…
            </Button>
            <Button onClick={() => setDialog('schedule')}>
              <CalendarPlus className="size-4" aria-hidden /> Schedule…
            </Button>
            <Button variant="danger" onClick={() => setDialog('delete')}>
              <Trash2 className="size-4" aria-hidden /> Delete…
            </Button>
          </>
        }
      >
        {workflow.description ?? 'No description.'}
      </PageHeader>

      <div className="grid grid-cols-1 gap-6 lg:grid-cols-[minmax(0,1fr)_minmax(0,1.2fr)]">
        <div className="space-y-6">
          <Card id="about" title="About this version">
            <div className="p-4">
              <DescriptionList
                items={[
                  ['Name', <span key="n" className="font-medium">{workflow.name} <span className="font-normal text-zinc-500 dark:text-zinc-400">(never changes)</span></span>],
                  ['Version', `v${workflow.version}`],
                  ['Owner', `${workflow.owner.type} ${workflow.owner.id}`],
                  ['Content hash', <code key="h" title={workflow.content_hash} className="text-xs">{workflow.content_hash.slice(0, 16)}…</code>],
                  ['Fully frozen', workflow.fully_frozen ? 'yes: every composite has its plan' : 'no: some composites wait for a plan in each run'],
                  ['Runtimes needed', workflow.required_runtimes.join(', ') || 'none'],
                  ['Saved', <Time key="t" iso={workflow.created_at} />],
                  ...(workflow.source_goal_id ? ([['Saved from', <TextLink key="s" to={`/goals/${workflow.source_goal_id}`}>its goal tree</TextLink>]] as [string, React.ReactNode][]) : []),
                ]}
              />
            </div>
          </Card>
          <Versions workflow={workflow} />
          <Card id="inputs" title="Inputs">
            {workflow.inputs.length === 0 ? (
              <Empty>No inputs: every run is the same tree.</Empty>
            ) : (
              <table className="w-full text-left text-sm">
                <caption className="sr-only">Declared inputs</caption>
                <thead className="border-b border-zinc-200 text-xs text-zinc-500 uppercase dark:border-zinc-800 dark:text-zinc-400">
                  <tr>
                    <th scope="col" className="px-4 py-2 font-medium">Name</th>
                    <th scope="col" className="px-4 py-2 font-medium">Description</th>
                    <th scope="col" className="px-4 py-2 font-medium">Default</th>
                    <th scope="col" className="px-4 py-2 font-medium">Required</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
                  {workflow.inputs.map((i) => (
                    <tr key={i.name}>
                      <td className="px-4 py-2 font-mono text-xs">{i.name}</td>
                      <td className="px-4 py-2">{i.description ?? '—'}</td>
                      <td className="px-4 py-2">{i.default ?? '—'}</td>
                      <td className="px-4 py-2">{i.required ? 'yes' : 'no'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <Card id="plan" title="Frozen plan">
            <div className="p-4">
              <FrozenPlan plan={workflow.frozen_plan} />
            </div>
          </Card>
        </div>
        <div className="space-y-6">
          <RunHistory workflow={workflow} />
          <WorkflowSchedules workflow={workflow} />
        </div>
      </div>
      <RunDialog workflow={workflow} open={dialog === 'run'} onOpenChange={(o) => setDialog(o ? 'run' : null)} />
      {dialog === 'schedule' && <ScheduleDialog workflow={workflow} open onOpenChange={(o) => setDialog(o ? 'schedule' : null)} />}
      <DeleteDialog workflow={workflow} open={dialog === 'delete'} onOpenChange={(o) => setDialog(o ? 'delete' : null)} />
    </>
  );
}

function Versions({ workflow }: { workflow: TWorkflow }) {
  const [params, setParams] = useSearchParams();
  const against = params.get('diff');
  const versions = useQuery({
    queryKey: ['workflows', 'name', workflow.name],
    queryFn: async () => (await api.call('get', '/api/workflows', { query: { name: workflow.name, limit: 200 } })).body,
  });
  const others = (versions.data?.items ?? []).filter((v) => v.id !== workflow.id && v.owner.id === workflow.owner.id).sort((a, b) => b.version - a.version);
  if (others.length === 0) return null;
  return (
    <Card id="versions" title="Other versions">
      <ul className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800">
        {others.map((v) => (
          <li key={v.id} className="flex items-center justify-between gap-3 px-4 py-2">
            <span>
              <TextLink to={`/workflows/${v.id}`}>v{v.version}</TextLink> <span className="text-zinc-500 dark:text-zinc-400">· {plural(v.run_count, 'run')} · saved <Time iso={v.created_at} /></span>
            </span>
            <button type="button" className={buttonClass('ghost')} onClick={() => setParams(against === v.id ? {} : { diff: v.id })} aria-pressed={against === v.id}>
              <GitCompare className="size-4" aria-hidden /> {against === v.id ? 'Hide changes' : `Changes from v${v.version}`}
            </button>
          </li>
        ))}
      </ul>
      {against && <Diff id={workflow.id} against={against} />}
    </Card>
  );
}

function Diff({ id, against }: { id: string; against: string }) {
  const diff = useQuery({
    queryKey: ['diff', id, against],
    queryFn: async () => (await api.call('get', '/api/workflows/{id}/diff', { params: { id }, query: { against } })).body,
  });
  if (diff.isPending) return <Loading what="the changes" />;
  if (diff.error) return <ErrorNote error={diff.error} className="m-4" />;
  const d = diff.data;
  if (d.identical) return <p className="border-t border-zinc-200 px-4 py-3 text-sm dark:border-zinc-800">v{d.against.version} and v{d.workflow.version} have the same plan.</p>;
  return (
    <div className="space-y-1 border-t border-zinc-200 px-4 py-3 font-mono text-xs dark:border-zinc-800">
      <p className="mb-2 font-sans text-sm">From v{d.against.version} to v{d.workflow.version}:</p>
      {d.goals.added.map((g) => <p key={`a${g.path}`} className="text-emerald-700 dark:text-emerald-300">+ {g.path} ({g.kind}) “{g.title}”</p>)}
      {d.goals.removed.map((g) => <p key={`r${g.path}`} className="text-rose-700 dark:text-rose-300">− {g.path} ({g.kind}) “{g.title}”</p>)}
      {d.goals.changed.map((g) => <p key={`c${g.path}`} className="text-amber-700 dark:text-amber-300">~ {g.path}: {g.fields.map((f) => f.field).join(', ')}</p>)}
      {d.edges.added.map((e, i) => <p key={`ea${i}`} className="text-emerald-700 dark:text-emerald-300">+ edge {e.parent_path || '(root)'}: {e.from} → {e.to}</p>)}
      {d.edges.removed.map((e, i) => <p key={`er${i}`} className="text-rose-700 dark:text-rose-300">− edge {e.parent_path || '(root)'}: {e.from} → {e.to}</p>)}
    </div>
  );
}

type TFrozenChild = { key: string; kind: string; title: string; workflow?: string; plan?: TFrozenLayer | null; action?: { runtime?: string } };
type TFrozenLayer = { children: TFrozenChild[]; edges: { from: string; to: string; on: unknown }[] };

function FrozenPlan({ plan }: { plan: Record<string, unknown> }) {
  const root = (plan as { root?: { title: string; plan: TFrozenLayer | null } }).root;
  if (!root) return <pre className="text-xs">{JSON.stringify(plan, null, 2)}</pre>;
  return (
    <div className="text-sm">
      <p className="font-medium [overflow-wrap:anywhere]">{root.title}</p>
      <Layer layer={root.plan} />
    </div>
  );
}

function Layer({ layer }: { layer: TFrozenLayer | null | undefined }) {
  if (layer === null) return <p className="ml-4 text-amber-700 dark:text-amber-300">no plan: each run waits for one</p>;
  if (!layer) return null;
  const titleOf = (key: string) => layer.children.find((c) => c.key === key)?.title ?? key;
  return (
    <ul className="mt-1 ml-2 space-y-1 border-l border-zinc-200 pl-3 dark:border-zinc-700">
      {layer.children.map((c) => {
        const incoming = layer.edges.filter((e) => e.to === c.key);
        const when = incoming.map((e) => edgeSentence(e as never, titleOf)).join('; ');
        return (
          <li key={c.key}>
            <span className="font-medium [overflow-wrap:anywhere]">{c.title}</span>{' '}
            <span className="text-xs text-zinc-500 dark:text-zinc-400">
              {c.kind === 'leaf' ? c.action?.runtime : c.workflow ? `runs ${c.workflow}` : 'composite'} · {when || 'starts at once'}
            </span>
            {c.kind === 'composite' && !c.workflow && <Layer layer={c.plan} />}
          </li>
        );
      })}
    </ul>
  );
}

/** This version's schedules, in a line each (managed on the Schedules page); nothing until there is one. */
function WorkflowSchedules({ workflow }: { workflow: TWorkflow }) {
  const schedules = useQuery({
    queryKey: ['schedules', 'workflow', workflow.id],
    queryFn: async () => (await api.call('get', '/api/schedules', { query: { workflow_id: workflow.id, limit: 100 } })).body,
    refetchInterval: 15_000,
  });
  const items = schedules.data?.items ?? [];
  const missing = schedules.data?.not_in_temporal ?? [];
  if (items.length === 0 && missing.length === 0) return null;
  return (
    <Card id="wf-schedules" title={`Schedules (${items.length + missing.length})`} actions={<TextLink to="/schedules" className="text-sm">Manage</TextLink>}>
      <ul className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800">
        {items.map((s) => (
          <li key={s.id} className="flex flex-wrap items-center justify-between gap-2 px-4 py-2.5">
            <span className="flex items-center gap-2">
              {specInWords(s.spec)}
              {s.paused ? <Pill tone="amber">paused</Pill> : s.spent ? <Pill>spent</Pill> : <Pill tone="emerald">active</Pill>}
            </span>
            <span className="text-xs text-zinc-500 dark:text-zinc-400">
              {s.paused ? (s.note ?? 'paused') : s.next_fire_times[0] ? <>next <Time iso={s.next_fire_times[0]} /></> : 'no next fire'}
            </span>
          </li>
        ))}
        {missing.map((id) => (
          <li key={id} className="flex flex-wrap items-center justify-between gap-2 px-4 py-2.5">
            <code className="[overflow-wrap:anywhere]">{id}</code>
            <span className="text-xs text-amber-700 dark:text-amber-300">not found in Temporal: see the Schedules page</span>
          </li>
        ))}
      </ul>
    </Card>
  );
}

const RUNS_PAGE = 10;

function RunHistory({ workflow }: { workflow: TWorkflow }) {
  // In-page paging: a stack of cursors, so Previous works without the URL.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const runs = useQuery({
    queryKey: ['workflow-runs', workflow.id, cursor],
    queryFn: async () => (await api.call('get', '/api/workflows/{id}/runs', { params: { id: workflow.id }, query: { limit: RUNS_PAGE, cursor } })).body,
    refetchInterval: (q) => (q.state.data?.items.some((r) => ['pending', 'running', 'blocked'].includes(r.status.status)) ? 2_000 : 15_000),
  });
  return (
    <Card id="runs" title={runs.data ? `Runs (${runs.data.total})` : 'Runs'}>
      {runs.isPending ? (
        <Loading what="runs" />
      ) : runs.error ? (
        <ErrorNote error={runs.error} className="m-4" />
      ) : runs.data.items.length === 0 ? (
        <Empty>No runs yet. Run it with Run… above.</Empty>
      ) : (
        <ol className="divide-y divide-zinc-100 dark:divide-zinc-800" aria-label="Runs, newest first">
          {runs.data.items.map((r) => (
            <li key={r.id} className="flex flex-wrap items-center justify-between gap-3 px-4 py-3 text-sm" data-run-id={r.id}>
              <div className="min-w-0">
                <div className="flex items-center gap-2">
                  <TextLink to={`/runs/${r.id}`}>Run #{r.number}</TextLink>
                  <StatusBadge status={r.status.status} detail={r.status.reason} />
                  {r.title && (
                    <span className="min-w-0 truncate text-zinc-700 dark:text-zinc-300" title={r.title}>
                      {r.title}
                    </span>
                  )}
                </div>
                <div className="mt-0.5 truncate text-xs text-zinc-500 dark:text-zinc-400">
                  <Time iso={r.created_at} /> · key <code>{r.idempotency_key}</code>
                  {Object.keys(r.inputs).length > 0 && <> · {Object.entries(r.inputs).map(([k, v]) => `${k}=${v}`).join(', ')}</>}
                  {r.schedule_id && <> · by schedule</>}
                </div>
              </div>
              <div className="flex items-center gap-3 text-xs">
                {r.root_goal_id && <TextLink to={`/goals/${r.root_goal_id}`}>Goal tree</TextLink>}
                {r.temporal.ui_url && (
                  <a href={r.temporal.ui_url} target="_blank" rel="noreferrer" className="inline-flex items-center gap-1 font-medium text-indigo-700 hover:underline dark:text-indigo-300">
                    Temporal <ExternalIcon className="size-3" aria-hidden />
                    <span className="sr-only">(opens in a new tab)</span>
                  </a>
                )}
              </div>
            </li>
          ))}
        </ol>
      )}
      {(cursors.length > 1 || runs.data?.next_cursor) && (
        <nav aria-label="Run pages" className="flex items-center justify-between border-t border-zinc-200 px-4 py-2 text-sm dark:border-zinc-800">
          <span className="text-zinc-500 dark:text-zinc-400">Page {cursors.length}</span>
          <div className="flex gap-2">
            <Button disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
              <ChevronLeft className="size-4" aria-hidden /> Newer
            </Button>
            <Button disabled={!runs.data?.next_cursor} onClick={() => runs.data?.next_cursor && setCursors((c) => [...c, runs.data.next_cursor!])}>
              Older <ChevronRight className="size-4" aria-hidden />
            </Button>
          </div>
        </nav>
      )}
    </Card>
  );
}

function DeleteDialog({ workflow, open, onOpenChange }: { workflow: TWorkflow; open: boolean; onOpenChange: (o: boolean) => void }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const hasRuns = workflow.run_count > 0;
  const del = useMutation({
    mutationFn: () => api.call('delete', '/api/workflows/{id}', { params: { id: workflow.id } }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['workflows'] });
      void navigate('/');
    },
  });
  return (
    <Modal
      open={open}
      onOpenChange={(o) => {
        if (!o) del.reset();
        onOpenChange(o);
      }}
      title={`Delete ${workflow.name} v${workflow.version}?`}
      description="Only a version with no runs and no enabled schedule can be deleted; its runs' trees would otherwise lose their definition, and a schedule would fire into nothing."
    >
      {hasRuns && (
        <p className="mb-4 rounded-md bg-zinc-100 px-3 py-2 text-sm text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300">
          This version has {plural(workflow.run_count, 'run')}, so it is kept for good: its runs&apos; trees keep their definition. To stop it running, pause or delete its schedules on
          the <TextLink to="/schedules">schedules page</TextLink>.
        </p>
      )}
      {del.error && <ErrorNote error={del.error} className="mb-4" />}
      <div className={cx('flex justify-end gap-2')}>
        <Button onClick={() => onOpenChange(false)}>Keep it</Button>
        <Button variant="danger" busy={del.isPending} disabled={hasRuns || del.isError} onClick={() => del.mutate()}>
          Delete
        </Button>
      </div>
    </Modal>
  );
}
