import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { api, fieldErrors, type TSchedule, type TWorkflow } from '../lib/api';
import { utc } from '../lib/format';
import { specInWords } from '../lib/schedules';
import { Button, ErrorNote, Field, Modal, TextLink, Time, cx, inputClass } from './ui';

type TKind = 'cron' | 'every' | 'at';
const OVERLAPS = [
  ['skip', 'Skip a fire while the previous run is still active (recorded, with why)'],
  ['buffer_one', 'Buffer one fire until the previous run ends'],
  ['buffer_all', 'Buffer every fire'],
  ['cancel_other', 'Cancel the previous run'],
  ['allow_all', 'Allow runs to overlap'],
] as const;

const EVERY_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Next fires of `every` and `at` specs before saving (plain arithmetic); a cron's come from Temporal once saved. */
function preview(kind: TKind, every: string, at: string): string[] | null {
  if (kind === 'at') return at ? [new Date(at).toISOString()] : null;
  if (kind === 'every') {
    const m = /^(\d+)\s*([smhd])$/.exec(every.trim());
    if (!m) return null;
    const ms = Number(m[1]) * EVERY_MS[m[2]!]!;
    if (!ms) return null;
    // Temporal aligns intervals to the Unix epoch.
    const first = Math.ceil(Date.now() / ms) * ms;
    return [0, 1, 2].map((k) => new Date(first + k * ms).toISOString());
  }
  return null;
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
  const next = preview(kind, every, at);
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
            <div className="grid gap-4 sm:grid-cols-2">
              <Field id="sched-cron" label="Cron expression" hint="minute hour day-of-month month day-of-week, e.g. 0 8 * * 1-5" error={errors['spec.cron'] ?? errors.spec}>
                <input id="sched-cron" required value={cron} onChange={(e) => setCron(e.target.value)} className={cx(inputClass, 'font-mono')} />
              </Field>
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
            <Field id="sched-every" label="Interval" hint="e.g. 30s, 15m, 1h, 1d" error={errors['spec.every'] ?? errors.spec}>
              <input id="sched-every" required value={every} onChange={(e) => setEvery(e.target.value)} className={inputClass} />
            </Field>
          )}
          {kind === 'at' && (
            <Field id="sched-at" label="Time (your local time; saved in UTC)" error={errors['spec.at'] ?? errors.spec}>
              <input id="sched-at" type="datetime-local" required value={at} onChange={(e) => setAt(e.target.value)} className={inputClass} />
            </Field>
          )}
          <div className="rounded-md bg-zinc-50 px-3 py-2 text-sm dark:bg-zinc-800/60" aria-live="polite">
            {next ? (
              <>
                Next fires: {next.map((t) => utc(t)).join(', ')}
              </>
            ) : kind === 'cron' ? (
              'Temporal computes a cron’s next fires; they are shown once it is saved (it can be saved paused).'
            ) : (
              'Enter a valid time to see the next fires.'
            )}
          </div>
          {workflow.inputs.length > 0 && (
            <fieldset className="space-y-3">
              <legend className="text-sm font-medium">Inputs</legend>
              {workflow.inputs.map((i) => (
                <Field key={i.name} id={`sched-in-${i.name}`} label={`${i.name}${i.required ? ' (required)' : ''}`} hint={i.description} error={errors[`inputs.${i.name}`]}>
                  <input id={`sched-in-${i.name}`} required={i.required} value={inputs[i.name] ?? ''} onChange={(e) => setInputs({ ...inputs, [i.name]: e.target.value })} className={inputClass} />
                </Field>
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
          <Field id="sched-note" label="Note (optional)" error={errors.note}>
            <input id="sched-note" value={note} onChange={(e) => setNote(e.target.value)} className={inputClass} />
          </Field>
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
