import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { api, describeError, fieldErrors, type TSchedule, type TSchemas, type TWorkflow } from '../lib/api';
import { specInWords } from '../lib/schedules';
import { Button, ErrorNote, Field, Modal, TextField, TextLink, Time, cx, inputClass } from './ui';

type TKind = 'cron' | 'every' | 'at';
const OVERLAPS = [
  ['skip', 'Skip a fire while the previous run is still active (recorded, with why)'],
  ['buffer_one', 'Buffer one fire until the previous run ends'],
  ['buffer_all', 'Buffer every fire'],
  ['cancel_other', 'Cancel the previous run'],
  ['allow_all', 'Allow runs to overlap'],
] as const;

type TSpec = TSchemas['SchedulePreview']['spec'];

/** The spec the form describes, or null while it cannot be one yet (no time given). */
function specOf(kind: TKind, cron: string, timezone: string, every: string, at: string): TSpec | null {
  if (kind === 'cron') return cron.trim() ? { cron: cron.trim(), ...(timezone.trim() ? { timezone: timezone.trim() } : {}) } : null;
  if (kind === 'every') return every.trim() ? { every: every.trim() } : null;
  const time = at ? new Date(at) : null;
  return time && !Number.isNaN(time.getTime()) ? { at: time.toISOString() } : null;
}

/** What is wrong with the spec, as the API said it: the field's own message when it named one. */
function previewProblem(err: unknown): string {
  return Object.values(fieldErrors(err))[0] ?? describeError(err);
}

/** `value`, once it has stopped changing for `ms`: a preview per pause in typing, not per key. */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/**
 * The next fires of the spec being written, before saving, from the API
 * (POST /api/schedules/preview): Temporal computes them, so a cron, a time
 * zone and an interval's alignment read exactly as the saved schedule will,
 * and a spec it would refuse says why here.
 */
function usePreview(spec: TSpec | null) {
  const settledKey = useSettled(spec ? JSON.stringify(spec) : null, 400);
  return useQuery({
    queryKey: ['schedule-preview', settledKey],
    enabled: settledKey !== null,
    queryFn: async () => (await api.call('post', '/api/schedules/preview', { body: { spec: JSON.parse(settledKey!) as TSpec, count: 3 } })).body.next_fires,
    placeholderData: keepPreviousData,
    retry: false,
    staleTime: 30_000,
  });
}

export function ScheduleDialog({ workflow, open, onOpenChange }: { workflow: TWorkflow; open: boolean; onOpenChange: (o: boolean) => void }) {
  const queryClient = useQueryClient();
  const zones = useMemo(() => (typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []), []);
  const [kind, setKind] = useState<TKind>('cron');
  const [cron, setCron] = useState('0 8 * * 1-5');
  const [timezone, setTimezone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const [every, setEvery] = useState('1h');
  const [at, setAt] = useState('');
  const [inputs, setInputs] = useState<Record<string, string>>(() => Object.fromEntries(workflow.inputs.map((i) => [i.name, i.default ?? ''])));
  const [overlap, setOverlap] = useState<TSchedule['overlap']>('skip');
  const [allowReplan, setAllowReplan] = useState(false);
  const [paused, setPaused] = useState(false);
  const [note, setNote] = useState('');
  const [saved, setSaved] = useState<TSchedule | null>(null);

  const create = useMutation({
    mutationFn: async () => {
      const spec = kind === 'cron' ? { cron, timezone } : kind === 'every' ? { every } : { at: new Date(at).toISOString() };
      const body = {
        spec,
        inputs: Object.fromEntries(Object.entries(inputs).filter(([, v]) => v !== '')),
        overlap,
        allow_replan: allowReplan,
        follow_latest: false,
        paused,
        ...(note.trim() ? { note: note.trim() } : {}),
      };
      return (await api.call('post', '/api/workflows/{id}/schedules', { params: { id: workflow.id }, body })).body;
    },
    onSuccess: (s) => {
      setSaved(s);
      void queryClient.invalidateQueries({ queryKey: ['schedules'] });
    },
  });
  const errors = fieldErrors(create.error);
  const preview = usePreview(specOf(kind, cron, timezone, every, at));
  const radio = (value: TKind, label: string) => (
    <label className={cx('flex cursor-pointer items-center gap-2 rounded-md px-3 py-1.5 text-sm ring-1 ring-inset', kind === value ? 'bg-indigo-50 ring-indigo-400 dark:bg-indigo-950' : 'ring-zinc-300 dark:ring-zinc-700')}>
      <input type="radio" name="spec-kind" value={value} checked={kind === value} onChange={() => setKind(value)} className="accent-indigo-600" />
      {label}
    </label>
  );

  return (
    <Modal open={open} onOpenChange={onOpenChange} wide title={`Schedule ${workflow.name} v${workflow.version}`} description="A Temporal Schedule: each fire starts a run keyed by the schedule and the fire time.">
      {saved ? (
        <div className="space-y-4" role="status">
          <p className="font-semibold">Scheduled: {specInWords(saved.spec)}.</p>
          <div className="text-sm">
            <p className="text-zinc-600 dark:text-zinc-400">Next fires (from Temporal):</p>
            <ul className="mt-1 list-inside list-disc">
              {saved.next_fire_times.slice(0, 3).map((t) => (
                <li key={t}>
                  <Time iso={t} />
                </li>
              ))}
            </ul>
          </div>
          <div className="flex justify-end gap-2">
            <TextLink to="/schedules" className="self-center text-sm">
              All schedules
            </TextLink>
            <Button onClick={() => onOpenChange(false)}>Close</Button>
          </div>
        </div>
      ) : (
        <form
          className="space-y-5"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <p className="text-sm">
            Workflow: <strong>{workflow.name} v{workflow.version}</strong> <span className="text-zinc-500 dark:text-zinc-400">(a schedule's workflow never changes)</span>
          </p>
          <fieldset>
            <legend className="mb-2 text-sm font-medium">When</legend>
            <div className="flex flex-wrap gap-2">
              {radio('cron', 'Cron')}
              {radio('every', 'Every')}
              {radio('at', 'Once at')}
            </div>
          </fieldset>
          {kind === 'cron' && (
            <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
              <TextField id="sched-cron" label="Cron expression" required hint="minute hour day-of-month month day-of-week, e.g. 0 8 * * 1-5" error={errors['spec.cron'] ?? errors.spec} value={cron} onChange={(e) => setCron(e.target.value)} className="font-mono" />
              <Field id="sched-tz" label="Time zone" error={errors['spec.timezone']}>
                <input id="sched-tz" list="time-zones" value={timezone} onChange={(e) => setTimezone(e.target.value)} className={inputClass} />
                <datalist id="time-zones">
                  {zones.map((z) => (
                    <option key={z} value={z} />
                  ))}
                </datalist>
              </Field>
            </div>
          )}
          {kind === 'every' && (
            <TextField id="sched-every" label="Interval" required hint="e.g. 30s, 15m, 1h, 1d" error={errors['spec.every'] ?? errors.spec} value={every} onChange={(e) => setEvery(e.target.value)} />
          )}
          {kind === 'at' && (
            <TextField id="sched-at" label="Time (your local time; saved in UTC)" type="datetime-local" required error={errors['spec.at'] ?? errors.spec} value={at} onChange={(e) => setAt(e.target.value)} />
          )}
          <div className="rounded-md bg-zinc-50 px-3 py-2 text-sm dark:bg-zinc-800/60" aria-live="polite" aria-busy={preview.isFetching}>
            {preview.error ? (
              <span className="text-rose-700 dark:text-rose-300">{previewProblem(preview.error)}</span>
            ) : preview.data ? (
              preview.data.length ? (
                <>
                  Next fires:{' '}
                  {preview.data.map((t, i) => (
                    <span key={t}>
                      {i > 0 && ', '}
                      <Time iso={t} />
                    </span>
                  ))}
                </>
              ) : (
                'No fires in the next ten years.'
              )
            ) : preview.isFetching ? (
              'Working out the next fires…'
            ) : (
              'Enter a valid time to see the next fires.'
            )}
          </div>
          {workflow.inputs.length > 0 && (
            <fieldset className="space-y-3">
              <legend className="text-sm font-medium">Inputs</legend>
              {workflow.inputs.map((i) => (
                <TextField key={i.name} id={`sched-in-${i.name}`} label={i.name} required={i.required} hint={i.description} error={errors[`inputs.${i.name}`]} value={inputs[i.name] ?? ''} onChange={(e) => setInputs({ ...inputs, [i.name]: e.target.value })} />
              ))}
            </fieldset>
          )}
          <Field id="sched-overlap" label="When a fire comes while the previous run is still active">
            <select id="sched-overlap" value={overlap} onChange={(e) => setOverlap(e.target.value as TSchedule['overlap'])} className={inputClass}>
              {OVERLAPS.map(([v, label]) => (
                <option key={v} value={v}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
          <div className="flex flex-wrap gap-x-6 gap-y-2 text-sm">
            {!workflow.fully_frozen && (
              <label className="inline-flex items-center gap-2">
                <input type="checkbox" checked={allowReplan} onChange={(e) => setAllowReplan(e.target.checked)} className="size-4 accent-indigo-600" /> Allow re-planning (its runs wait for plans)
              </label>
            )}
            <label className="inline-flex items-center gap-2">
              <input type="checkbox" checked={paused} onChange={(e) => setPaused(e.target.checked)} className="size-4 accent-indigo-600" /> Create paused
            </label>
          </div>
          <TextField id="sched-note" label="Note (optional)" error={errors.note} value={note} onChange={(e) => setNote(e.target.value)} />
          <ErrorNote error={create.error} />
          <div className="flex justify-end gap-2">
            <Button onClick={() => onOpenChange(false)}>Close</Button>
            <Button type="submit" variant="primary" busy={create.isPending}>
              Save schedule
            </Button>
          </div>
        </form>
      )}
    </Modal>
  );
}
