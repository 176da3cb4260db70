import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { CalendarClock, History, Pause, Play, Trash2, Zap } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { Button, Card, Empty, ErrorNote, Loading, Modal, PageHeader, Pill, StatusBadge, TextField, TextLink, Time, cx } from '../components/ui';
import { ApiError, api, type TSchedule, describeError } from '../lib/api';
import { plural } from '../lib/format';
import { specInWords } from '../lib/schedules';

export function SchedulesPage() {
  const schedules = useQuery({
    queryKey: ['schedules'],
    queryFn: async () => (await api.call('get', '/api/schedules', { query: { limit: 100 } })).body,
    refetchInterval: 10_000,
  });
  /** The schedule last forgotten (NotInTemporal): said here, and focused, since its button is gone. */
  const [forgotten, setForgotten] = useState<string | null>(null);
  const said = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (forgotten) said.current?.focus();
  }, [forgotten]);
  return (
    <>
      <PageHeader title="Schedules" eyebrow="Workflows on a timetable">
        Temporal Schedules that run a workflow. Changes made with <code>temporal schedule …</code> show up here too.
      </PageHeader>
      {forgotten && (
        <p ref={said} tabIndex={-1} role="status" className="mb-4 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100">
          Forgot schedule {forgotten}. Its runs stay.
        </p>
      )}
      {schedules.isPending ? (
        <Loading what="schedules" />
      ) : schedules.error ? (
        <ErrorNote error={schedules.error} />
      ) : schedules.data.items.length === 0 && schedules.data.not_in_temporal.length === 0 ? (
        <Card>
          <Empty>No schedules yet. Open a workflow and choose Schedule….</Empty>
        </Card>
      ) : (
        <div className="space-y-4">
          {schedules.data.not_in_temporal.length > 0 && <NotInTemporal ids={schedules.data.not_in_temporal} onForgotten={setForgotten} />}
          {schedules.data.items.map((s) => (
            <ScheduleCard key={s.id} schedule={s} />
          ))}
        </div>
      )}
    </>
  );
}

/**
 * Schedules Reprise keeps that Temporal says it does not have: deleted there
 * (`temporal schedule delete`), or Temporal is still starting after a restart.
 * They are never forgotten on a read, so each can be forgotten here by hand,
 * after a warning: forgotten while Temporal still holds it, a schedule fires
 * into nothing and is shown nowhere.
 */
function NotInTemporal({ ids, onForgotten }: { ids: readonly string[]; onForgotten: (id: string) => void }) {
  const queryClient = useQueryClient();
  const [asking, setAsking] = useState<string | null>(null);
  // A double press forgets once: `busy` disables the button only after the next render.
  const acting = useRef(false);
  const forget = useMutation({
    mutationFn: async (id: string) => {
      try {
        await api.call('delete', '/api/schedules/{id}', { params: { id } });
      } catch (err) {
        // Forgotten already (another tab, or a press that went through): what was asked is done.
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
    },
    onSuccess: async (_answer, id) => {
      setAsking(null);
      await queryClient.invalidateQueries({ queryKey: ['schedules'] });
      onForgotten(id);
    },
    onSettled: () => {
      acting.current = false;
    },
  });
  const confirm = (id: string): void => {
    if (acting.current) return;
    acting.current = true;
    forget.mutate(id);
  };
  return (
    <Card id="not-in-temporal" title={`${plural(ids.length, 'schedule')} not found in Temporal`}>
      <div className="space-y-3 px-4 py-3 text-sm text-zinc-700 dark:text-zinc-300">
        <p>
          Temporal says it does not have {ids.length === 1 ? 'this schedule' : 'these schedules'}. Right after Temporal restarts this passes by itself within a minute. If{' '}
          {ids.length === 1 ? 'it was' : 'one was'} deleted in Temporal (<code>temporal schedule delete</code>), forget it here: it then no longer keeps its workflow from being deleted,
          and its runs stay.
        </p>
        <ul className="space-y-2">
          {ids.map((id) => (
            <li key={id} className="flex flex-wrap items-center justify-between gap-2">
              <code className="[overflow-wrap:anywhere]">{id}</code>
              <Button variant="danger" onClick={() => setAsking(id)} aria-label={`Forget schedule ${id}…`}>
                <Trash2 className="size-4" aria-hidden /> Forget…
              </Button>
            </li>
          ))}
        </ul>
      </div>
      <Modal
        open={asking !== null}
        onOpenChange={(o) => {
          if (!o) {
            setAsking(null);
            forget.reset();
          }
        }}
        title={`Forget schedule ${asking ?? ''}?`}
        description="Only if it was deleted in Temporal. Forgotten while Temporal still has it (it has just restarted), it keeps firing, makes no runs, and is shown nowhere here: remove it then with temporal schedule delete."
      >
        <ErrorNote error={forget.error && `Could not forget ${asking ?? 'it'}: ${describeError(forget.error)}`} className="mb-3" />
        <div className="flex justify-end gap-2">
          <Button onClick={() => setAsking(null)}>Keep it</Button>
          <Button variant="danger" busy={forget.isPending} onClick={() => asking && confirm(asking)}>
            Forget schedule
          </Button>
        </div>
      </Modal>
    </Card>
  );
}

const DONE_SAYS: Record<'pause' | 'resume' | 'trigger' | 'delete' | 'backfill', string> = {
  pause: 'Paused: no fires until it is resumed.',
  resume: 'Resumed: it fires on its timetable again.',
  trigger: 'Fired now: its run shows under Recent runs in a moment.',
  delete: 'Deleted.',
  backfill: 'Backfill requested: its fires run one after another and show under Recent runs.',
};

function ScheduleCard({ schedule: s }: { schedule: TSchedule }) {
  const queryClient = useQueryClient();
  const [dialog, setDialog] = useState<null | 'pause' | 'delete' | 'backfill'>(null);
  const [note, setNote] = useState('');
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  /** What the last action did, said beside the schedule (a fire's run shows up under Recent runs a moment later). */
  const [done, setDone] = useState<string | null>(null);
  const detail = useQuery({
    queryKey: ['schedule', s.id],
    queryFn: async () => (await api.call('get', '/api/schedules/{id}', { params: { id: s.id } })).body,
    refetchInterval: 10_000,
  });
  // A double click triggers once: `busy` disables the button only after the next render.
  const acting = useRef(false);
  const shown = async <T extends { body: TSchedule }>(answer: T): Promise<T> => {
    // A read sent before the change may answer after it: dropped, not shown over the change.
    await queryClient.cancelQueries({ queryKey: ['schedule', s.id] });
    queryClient.setQueryData(['schedule', s.id], answer.body);
    return answer;
  };
  const act = useMutation({
    mutationFn: async (what: 'pause' | 'resume' | 'trigger' | 'delete' | 'backfill') => {
      const params = { id: s.id };
      switch (what) {
        // A change answers with the schedule as Temporal now describes it: shown at once, not after another read.
        case 'pause':
          return shown(await api.call('patch', '/api/schedules/{id}', { params, body: { paused: true, ...(note.trim() ? { note: note.trim() } : {}) } }));
        case 'resume':
          return shown(await api.call('patch', '/api/schedules/{id}', { params, body: { paused: false } }));
        case 'trigger':
          return api.call('post', '/api/schedules/{id}/trigger', { params });
        case 'delete':
          return api.call('delete', '/api/schedules/{id}', { params });
        case 'backfill':
          return api.call('post', '/api/schedules/{id}/backfill', { params, body: { start: new Date(start).toISOString(), end: new Date(end).toISOString() } });
      }
    },
    onSuccess: (_answer, what) => {
      setDialog(null);
      setNote('');
      setDone(DONE_SAYS[what]);
      void queryClient.invalidateQueries({ queryKey: ['schedules'] });
      if (what !== 'pause' && what !== 'resume') void queryClient.invalidateQueries({ queryKey: ['schedule', s.id] });
      // A fire's run is written a moment after Temporal takes the request: look again soon rather than in 10 s.
      if (what === 'trigger' || what === 'backfill') for (const ms of [1_500, 4_000]) setTimeout(() => void queryClient.invalidateQueries({ queryKey: ['schedule', s.id] }), ms);
    },
    onMutate: () => setDone(null),
    onSettled: () => {
      acting.current = false;
    },
  });
  const once = (what: 'trigger' | 'resume') => {
    if (acting.current) return;
    acting.current = true;
    act.mutate(what);
  };
  const d = detail.data ?? s;
  const runs = d.runs?.items ?? [];
  return (
    <Card
      id={`schedule-${s.id}`}
      title={
        <span className="flex flex-wrap items-center gap-2">
          <CalendarClock className="size-4 text-indigo-500" aria-hidden />
          <TextLink to={`/workflows/${d.workflow.id}`}>{`${d.workflow.name} v${d.workflow.version}`}</TextLink>
          <span className="font-normal text-zinc-600 dark:text-zinc-400">{specInWords(d.spec)}</span>
          {d.paused ? <Pill tone="amber">paused</Pill> : d.spent ? <Pill>spent</Pill> : <Pill tone="emerald">active</Pill>}
        </span>
      }
      actions={
        <>
          {d.paused ? (
            <Button busy={act.isPending && act.variables === 'resume'} onClick={() => once('resume')}>
              <Play className="size-4" aria-hidden /> Resume
            </Button>
          ) : (
            <Button onClick={() => setDialog('pause')}>
              <Pause className="size-4" aria-hidden /> Pause…
            </Button>
          )}
          <Button busy={act.isPending && act.variables === 'trigger'} onClick={() => once('trigger')}>
            <Zap className="size-4" aria-hidden /> Trigger now
          </Button>
          <Button onClick={() => setDialog('backfill')}>
            <History className="size-4" aria-hidden /> Backfill…
          </Button>
          <Button variant="danger" onClick={() => setDialog('delete')} aria-label={`Delete schedule ${s.id}`}>
            <Trash2 className="size-4" aria-hidden />
          </Button>
        </>
      }
    >
      <div className="grid grid-cols-1 gap-6 p-4 text-sm md:grid-cols-3">
        <div className="space-y-2">
          {done && (
            <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100">
              {done}
            </p>
          )}
          {d.note && (
            // Temporal keeps the last pause or resume note: a warning only while paused.
            <p
              className={cx('rounded-md px-3 py-2', d.paused ? 'bg-amber-50 text-amber-900 dark:bg-amber-950 dark:text-amber-100' : 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300')}
              data-testid="schedule-note"
            >
              {d.paused ? 'Paused: ' : 'Last note: '}
              {d.note}
            </p>
          )}
          <p>
            <span className="text-zinc-500 dark:text-zinc-400">Inputs: </span>
            {Object.keys(d.inputs).length ? Object.entries(d.inputs).map(([k, v]) => `${k} = ${v}`).join(', ') : 'none'}
          </p>
          <p>
            <span className="text-zinc-500 dark:text-zinc-400">Overlap: </span>
            {d.overlap.replace('_', ' ')}
          </p>
          <p className="text-xs text-zinc-500 dark:text-zinc-400">
            <code>{d.id}</code> · created <Time iso={d.created_at} />
          </p>
        </div>
        <div>
          <h3 className="mb-1 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">Next fires</h3>
          {d.paused ? (
            <p className="text-zinc-500 dark:text-zinc-400">None while paused.</p>
          ) : d.next_fire_times.length ? (
            <ul className="space-y-0.5">
              {d.next_fire_times.slice(0, 3).map((t) => (
                <li key={t}>
                  <Time iso={t} />
                </li>
              ))}
            </ul>
          ) : (
            <p className="text-zinc-500 dark:text-zinc-400">None.</p>
          )}
        </div>
        <div>
          <h3 className="mb-1 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">
            Recent runs {d.runs ? `(${d.runs.total}${d.runs.skipped ? `, ${d.runs.skipped} skipped` : ''})` : ''}
          </h3>
          {runs.length === 0 ? (
            <p className="text-zinc-500 dark:text-zinc-400">No fires yet.</p>
          ) : (
            <ul className="space-y-1">
              {runs.slice(0, 5).map((r) => (
                <li key={r.id} className="flex flex-wrap items-center gap-2">
                  <StatusBadge status={r.status.status} />
                  {r.state === 'skipped' ? <span className="text-zinc-600 dark:text-zinc-400">{r.status.reason ?? r.error ?? 'skipped'}</span> : <TextLink to={`/runs/${r.id}`}>{`Run #${r.number}${r.title ? `: ${r.title}` : ''}`}</TextLink>}
                  <Time iso={r.created_at} className="text-xs text-zinc-500 dark:text-zinc-400" />
                </li>
              ))}
            </ul>
          )}
          {d.missed_catchup_window > 0 && <p className="mt-1 text-xs text-amber-700 dark:text-amber-300">{plural(d.missed_catchup_window, 'fire')} missed during an outage (backfill to run them).</p>}
        </div>
      </div>
      {!dialog && act.error && <ErrorNote error={`Could not ${act.variables ?? 'do that'}: ${describeError(act.error)}`} className="mx-4 mb-4" />}
      <Modal open={dialog === 'pause'} onOpenChange={(o) => !o && setDialog(null)} title="Pause this schedule" description="No fires until it is resumed. The note says why, to whoever looks.">
        <form
          className="space-y-4"
          onSubmit={(e) => {
            e.preventDefault();
            act.mutate('pause');
          }}
        >
          <TextField id={`pause-note-${s.id}`} label="Note" value={note} onChange={(e) => setNote(e.target.value)} placeholder="e.g. paused during the migration" />
          <ErrorNote error={act.error} />
          <div className="flex justify-end gap-2">
            <Button onClick={() => setDialog(null)}>Close</Button>
            <Button type="submit" variant="primary" busy={act.isPending}>
              Pause
            </Button>
          </div>
        </form>
      </Modal>
      <Modal open={dialog === 'backfill'} onOpenChange={(o) => !o && setDialog(null)} title="Backfill" description="Runs the fires of a past range, each keyed by its time (so a repeated backfill makes no second tree).">
        <form
          className="space-y-4"
          onSubmit={(e) => {
            e.preventDefault();
            act.mutate('backfill');
          }}
        >
          <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
            <TextField id={`bf-start-${s.id}`} label="From (your local time)" type="datetime-local" required value={start} onChange={(e) => setStart(e.target.value)} />
            <TextField id={`bf-end-${s.id}`} label="To (your local time)" type="datetime-local" required value={end} onChange={(e) => setEnd(e.target.value)} />
          </div>
          <ErrorNote error={act.error} />
          <div className="flex justify-end gap-2">
            <Button onClick={() => setDialog(null)}>Close</Button>
            <Button type="submit" variant="primary" busy={act.isPending}>
              Backfill
            </Button>
          </div>
        </form>
      </Modal>
      <Modal open={dialog === 'delete'} onOpenChange={(o) => !o && setDialog(null)} title="Delete this schedule?" description="It fires no more. The runs it made stay.">
        <ErrorNote error={act.error} className="mb-3" />
        <div className="flex justify-end gap-2">
          <Button onClick={() => setDialog(null)}>Keep it</Button>
          <Button variant="danger" busy={act.isPending} onClick={() => act.mutate('delete')}>
            Delete schedule
          </Button>
        </div>
      </Modal>
    </Card>
  );
}
