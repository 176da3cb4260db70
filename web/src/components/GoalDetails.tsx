import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Ban, Check, ExternalLink as ExternalIcon, ThumbsDown, ThumbsUp, X } from 'lucide-react';
import { useState } from 'react';
import { api, type TGoal } from '../lib/api';
import { edgeSentence, isEnded, joinSentence, reasonOf } from '../lib/format';
import type { TIndexedTree, TNode } from '../lib/tree';
import { Button, DescriptionList, ErrorNote, Field, Modal, StatusBadge, Time, cx, inputClass } from './ui';

/** Titles as a list in words: "A", "A and B", "A, B and C", "A, B, C and 7 others". */
function listInWords(titles: string[]): string {
  if (titles.length <= 1) return titles[0] ?? '';
  if (titles.length <= 3) return `${titles.slice(0, -1).join(', ')} and ${titles[titles.length - 1]}`;
  return `${titles.slice(0, 3).join(', ')} and ${titles.length - 3} others`;
}

const SHOWN_SENTENCES = 12;

/** The edges of one composite's plan, as sentences with titles ("Report runs when Fetch succeeded"). */
export function PlanSentences({ node }: { node: TNode }) {
  if (node.children.length === 0) return null;
  const titleOf = (key: string) => node.children.find((c) => c.key === key)?.title ?? key;
  const starters = node.children.filter((c) => !node.edges.some((e) => e.to === c.key)).map((c) => c.title);
  const sentences: string[] = [];
  if (starters.length) sentences.push(`${listInWords(starters)} ${starters.length === 1 ? 'starts' : 'start'} at once`);
  for (const child of node.children) {
    const incoming = node.edges.filter((e) => e.to === child.key);
    for (const e of incoming) sentences.push(edgeSentence(e, titleOf));
    const join = joinSentence(child.title, child.join, incoming.length);
    if (join) sentences.push(join);
  }
  const item = (s: string, i: number) => (
    <li key={i} className="flex gap-2">
      <span aria-hidden className="text-zinc-400">→</span>
      <span>{s}.</span>
    </li>
  );
  return (
    <div className="text-sm">
      <ul className="space-y-1">{sentences.slice(0, SHOWN_SENTENCES).map(item)}</ul>
      {sentences.length > SHOWN_SENTENCES && (
        <details className="mt-1">
          <summary className="cursor-pointer text-indigo-700 dark:text-indigo-300">{sentences.length - SHOWN_SENTENCES} more</summary>
          <ul className="mt-1 space-y-1">{sentences.slice(SHOWN_SENTENCES).map((s, i) => item(s, i + SHOWN_SENTENCES))}</ul>
        </details>
      )}
    </div>
  );
}

function IncomingSentences({ node, parent }: { node: TNode; parent: TNode | undefined }) {
  if (!parent) return null;
  const titleOf = (key: string) => parent.children.find((c) => c.key === key)?.title ?? key;
  const incoming = parent.edges.filter((e) => e.to === node.key);
  const lines = incoming.length ? incoming.map((e) => edgeSentence(e, titleOf)) : [`${node.title} starts at once`];
  const join = joinSentence(node.title, node.join, incoming.length);
  if (join) lines.push(join);
  return (
    <ul className="space-y-1 text-sm">
      {lines.map((s, i) => (
        <li key={i}>{s}.</li>
      ))}
    </ul>
  );
}

interface TOutput {
  exit_code?: number;
  stdout?: string;
  stderr?: string;
  status?: number;
  body?: unknown;
  duration_ms?: number;
  [k: string]: unknown;
}

function OutputView({ output }: { output: unknown }) {
  if (output === undefined || output === null) return null;
  const o = output as TOutput;
  const known = typeof o === 'object' && ('stdout' in o || 'exit_code' in o || 'status' in o);
  return (
    <div className="space-y-2">
      {known && (
        <div className="flex flex-wrap gap-3 text-xs text-zinc-600 dark:text-zinc-400">
          {o.exit_code !== undefined && <span>exit code {String(o.exit_code)}</span>}
          {o.status !== undefined && <span>HTTP {String(o.status)}</span>}
          {o.duration_ms !== undefined && <span>{String(o.duration_ms)} ms</span>}
        </div>
      )}
      {known && o.stdout ? <Pre label="stdout" text={o.stdout} /> : null}
      {known && o.stderr ? <Pre label="stderr" text={o.stderr} /> : null}
      {known && o.body !== undefined ? <Pre label="body" text={typeof o.body === 'string' ? o.body : JSON.stringify(o.body, null, 2)} /> : null}
      {!known && <Pre label="output" text={JSON.stringify(output, null, 2)} />}
    </div>
  );
}

function Pre({ label, text }: { label: string; text: string }) {
  return (
    <figure>
      <figcaption className="mb-0.5 text-xs font-medium text-zinc-500 dark:text-zinc-400">{label}</figcaption>
      <pre tabIndex={0} aria-label={label} className="max-h-56 overflow-auto rounded-md bg-zinc-100 p-2 text-xs whitespace-pre-wrap dark:bg-zinc-950">
        {text}
      </pre>
    </figure>
  );
}

function actionSummary(action: TGoal['action']): string | null {
  if (!action) return null;
  const a = action as { runtime?: string; command?: string; method?: string; url?: string; instructions?: string; task?: string };
  switch (a.runtime) {
    case 'shell':
      return `shell: ${a.command ?? ''}`;
    case 'http':
      return `http: ${a.method ?? 'GET'} ${a.url ?? ''}`;
    case 'manual':
      return `manual${a.instructions ? `: ${a.instructions}` : ' (someone completes it)'}`;
    case 'agent':
      return `agent${a.task ? `: ${a.task}` : ' (an external agent claims it)'}`;
    default:
      return a.runtime ?? null;
  }
}

/** The selected goal: what it is, why it is where it is, what it printed, and what can be done with it now. */
export function GoalDetails({ goal, tree }: { goal: TGoal; tree: TIndexedTree }) {
  const node = tree.byId.get(goal.id);
  const parent = tree.parentOf.get(goal.id);
  const acceptance = goal.acceptance as { check?: string; judgment?: { prompt: string; rubric?: string } } | undefined;
  const reason = reasonOf(goal);
  return (
    <div className="space-y-5 p-4">
      <div>
        <div className="flex flex-wrap items-center gap-2">
          <h3 className="min-w-0 text-base font-semibold [overflow-wrap:anywhere]">{goal.title}</h3>
          <StatusBadge status={goal.lifecycle} />
        </div>
        {reason && <p className="mt-1 text-sm text-zinc-700 dark:text-zinc-300">{goal.lifecycle === 'failed' ? `Failed: ${reason}` : reason}</p>}
        {goal.intent && <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">{goal.intent}</p>}
      </div>
      <GoalActions goal={goal} />
      <DescriptionList
        items={[
          ['Kind', goal.kind + (goal.key ? ` · key ${goal.key}` : '')],
          ...(goal.action ? ([['Action', <code key="a" className="text-xs">{actionSummary(goal.action)}</code>]] as [string, React.ReactNode][]) : []),
          ...(acceptance?.check ? ([['Check', <code key="c" className="text-xs">{acceptance.check}</code>]] as [string, React.ReactNode][]) : []),
          ...(acceptance?.judgment ? ([['Judgment', acceptance.judgment.prompt]] as [string, React.ReactNode][]) : []),
          ['Created', <Time key="c" iso={goal.created_at} />],
          ['Started', <Time key="s" iso={goal.started_at} />],
          ['Finished', <Time key="f" iso={goal.finished_at} />],
          ...(goal.temporal.ui_url
            ? ([[
                'Temporal',
                <a key="t" href={goal.temporal.ui_url} target="_blank" rel="noreferrer" className="inline-flex items-center gap-1 font-medium text-indigo-700 hover:underline dark:text-indigo-300">
                  Temporal workflow <ExternalIcon className="size-3" aria-hidden />
                  <span className="sr-only">(opens in a new tab)</span>
                </a>,
              ]] as [string, React.ReactNode][])
            : []),
        ]}
      />
      {parent && (
        <section>
          <h4 className="mb-1 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">When it runs</h4>
          {node && <IncomingSentences node={node} parent={parent} />}
        </section>
      )}
      {node && node.children.length > 0 && (
        <section>
          <h4 className="mb-1 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">Its plan</h4>
          <PlanSentences node={node} />
        </section>
      )}
      {goal.output !== undefined && goal.output !== null && (
        <section>
          <h4 className="mb-1 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">Output</h4>
          <OutputView output={goal.output} />
        </section>
      )}
    </div>
  );
}

function GoalActions({ goal }: { goal: TGoal }) {
  const queryClient = useQueryClient();
  const [dialog, setDialog] = useState<null | 'fail' | 'reject' | 'cancel' | 'plan'>(null);
  const [reason, setReason] = useState('');
  const [planText, setPlanText] = useState('{\n  "children": [],\n  "edges": []\n}');
  const done = () => {
    setDialog(null);
    setReason('');
    void queryClient.invalidateQueries({ queryKey: ['goal-tree'] });
    void queryClient.invalidateQueries({ queryKey: ['goal', goal.id] });
  };
  const act = useMutation({
    mutationFn: async (what: 'succeed' | 'fail' | 'accept' | 'reject' | 'cancel' | 'plan') => {
      const params = { id: goal.id };
      switch (what) {
        case 'succeed':
          return api.call('post', '/api/goals/{id}/complete', { params, body: { outcome: 'succeeded' } });
        case 'fail':
          return api.call('post', '/api/goals/{id}/complete', { params, body: { outcome: 'failed', reason: reason || undefined } });
        case 'accept':
          return api.call('post', '/api/goals/{id}/accept', { params, body: {} });
        case 'reject':
          return api.call('post', '/api/goals/{id}/reject', { params, body: { reason } });
        case 'cancel':
          return api.call('post', '/api/goals/{id}/cancel', { params });
        case 'plan': {
          let plan: unknown;
          try {
            plan = JSON.parse(planText);
          } catch {
            throw new Error('The plan is not valid JSON.');
          }
          return api.call('post', '/api/goals/{id}/plan', { params, body: plan as never });
        }
      }
    },
    onSuccess: done,
  });
  const ended = isEnded(goal.lifecycle);
  const acceptance = goal.acceptance as { judgment?: { prompt: string; rubric?: string } } | undefined;
  const canComplete = !ended && goal.waiting_for === 'completion';
  const canJudge = !ended && goal.waiting_for === 'judgment';
  const canPlan = !ended && goal.kind === 'composite' && !goal.planned_at && !goal.attribution?.plan_frozen;
  if (ended && !act.error) return null;
  return (
    <div className="space-y-3">
      {canJudge && acceptance?.judgment && (
        <div className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950">
          <p className="font-medium">{acceptance.judgment.prompt}</p>
          {acceptance.judgment.rubric && <p className="mt-1 text-amber-900 dark:text-amber-200">{acceptance.judgment.rubric}</p>}
        </div>
      )}
      <div className="flex flex-wrap gap-2">
        {canComplete && (
          <>
            <Button variant="primary" busy={act.isPending && act.variables === 'succeed'} onClick={() => act.mutate('succeed')}>
              <Check className="size-4" aria-hidden /> Complete: succeeded
            </Button>
            <Button variant="danger" onClick={() => setDialog('fail')}>
              <X className="size-4" aria-hidden /> Complete: failed…
            </Button>
          </>
        )}
        {canJudge && (
          <>
            <Button variant="primary" busy={act.isPending && act.variables === 'accept'} onClick={() => act.mutate('accept')}>
              <ThumbsUp className="size-4" aria-hidden /> Accept
            </Button>
            <Button variant="danger" onClick={() => setDialog('reject')}>
              <ThumbsDown className="size-4" aria-hidden /> Reject…
            </Button>
          </>
        )}
        {canPlan && <Button onClick={() => setDialog('plan')}>Submit a plan…</Button>}
        {!ended && (
          <Button variant="danger" onClick={() => setDialog('cancel')}>
            <Ban className="size-4" aria-hidden /> Cancel…
          </Button>
        )}
      </div>
      {!dialog && <ErrorNote error={act.error} />}
      <Modal open={dialog === 'fail' || dialog === 'reject'} onOpenChange={(o) => !o && setDialog(null)} title={dialog === 'reject' ? 'Reject this goal' : 'Complete as failed'} description={goal.title}>
        <form
          className="space-y-4"
          onSubmit={(e) => {
            e.preventDefault();
            act.mutate(dialog === 'reject' ? 'reject' : 'fail');
          }}
        >
          <Field id="reason" label="Reason" hint="Shown with the goal, and to whoever reads its tree.">
            <textarea id="reason" required={dialog === 'reject'} rows={3} value={reason} onChange={(e) => setReason(e.target.value)} className={inputClass} />
          </Field>
          <ErrorNote error={act.error} />
          <div className="flex justify-end gap-2">
            <Button onClick={() => setDialog(null)}>Keep it</Button>
            <Button type="submit" variant="danger" busy={act.isPending}>
              {dialog === 'reject' ? 'Reject' : 'Mark failed'}
            </Button>
          </div>
        </form>
      </Modal>
      <Modal open={dialog === 'cancel'} onOpenChange={(o) => !o && setDialog(null)} title="Cancel this goal?" description={`${goal.title}: it and every goal under it that has not ended are cancelled. Done goals stay done.`}>
        <ErrorNote error={act.error} className="mb-3" />
        <div className="flex justify-end gap-2">
          <Button onClick={() => setDialog(null)}>Keep running</Button>
          <Button variant="danger" busy={act.isPending} onClick={() => act.mutate('cancel')}>
            Cancel goal
          </Button>
        </div>
      </Modal>
      <Modal open={dialog === 'plan'} onOpenChange={(o) => !o && setDialog(null)} wide title="Submit a plan" description="Children and edges as JSON (the plan format of the API reference). It is validated, then installed once.">
        <form
          className="space-y-4"
          onSubmit={(e) => {
            e.preventDefault();
            act.mutate('plan');
          }}
        >
          <Field id="plan" label="Plan (JSON)">
            <textarea id="plan" rows={14} spellCheck={false} value={planText} onChange={(e) => setPlanText(e.target.value)} className={cx(inputClass, 'font-mono text-xs')} />
          </Field>
          <ErrorNote error={act.error} />
          <div className="flex justify-end gap-2">
            <Button onClick={() => setDialog(null)}>Close</Button>
            <Button type="submit" variant="primary" busy={act.isPending}>
              Install plan
            </Button>
          </div>
        </form>
      </Modal>
    </div>
  );
}
