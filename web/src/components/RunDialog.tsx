import { useMutation, useQueryClient } from '@tanstack/react-query';
import { CheckCircle2, Play, RefreshCw } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { ApiError, api, describeError, fieldErrors, type TRun, type TWorkflow } from '../lib/api';
import { STORAGE_PREFIX } from '../lib/auth';
import { newIdempotencyKey } from '../lib/format';
import { Button, ErrorNote, Field, Modal, TextField, TextLink, cx, fieldAria, inputClass } from './ui';

/**
 * One idempotency key per opening of the dialog, kept in sessionStorage with
 * the inputs it was made for: closing and reopening the dialog, or reloading
 * the page, keeps it, so sending again after a lost answer resumes the same
 * run (200) instead of starting a second one. Changing an input makes a new
 * key (other inputs are another request); so does a success (the next
 * opening is a new run).
 */
interface TDraft {
  key: string;
  inputs: Record<string, string>;
}

const storageKey = (workflowId: string) => `${STORAGE_PREFIX}run-dialog.${workflowId}`;

function loadDraft(wf: TWorkflow): TDraft {
  try {
    const raw = sessionStorage.getItem(storageKey(wf.id));
    if (raw) {
      const parsed = JSON.parse(raw) as TDraft;
      if (typeof parsed.key === 'string' && parsed.inputs && typeof parsed.inputs === 'object') return parsed;
    }
  } catch {
    // unreadable: a fresh one
  }
  const inputs = Object.fromEntries(wf.inputs.map((i) => [i.name, i.default ?? '']));
  const draft = { key: newIdempotencyKey(), inputs };
  saveDraft(wf.id, draft);
  return draft;
}

function saveDraft(workflowId: string, draft: TDraft | null): void {
  if (draft) sessionStorage.setItem(storageKey(workflowId), JSON.stringify(draft));
  else sessionStorage.removeItem(storageKey(workflowId));
}

interface TResult {
  run: TRun;
  created: boolean;
}

export function RunDialog({ workflow, open, onOpenChange }: { workflow: TWorkflow; open: boolean; onOpenChange: (o: boolean) => void }) {
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<TDraft>(() => loadDraft(workflow));
  const [result, setResult] = useState<TResult | null>(null);
  // Each opening (not each refetch of the workflow, which a success itself causes) starts from the stored draft.
  const latest = useRef(workflow);
  latest.current = workflow;
  useEffect(() => {
    if (open) {
      setDraft(loadDraft(latest.current));
      setResult(null);
    }
  }, [open, workflow.id]);

  // Set while a request is out: a double click sends once. Cleared by the mutation itself (its own onSettled
  // fires even after a reset detached this dialog from it, which a callback given to mutate() would not).
  const sending = useRef(false);
  const run = useMutation({
    mutationFn: async (sent: TDraft): Promise<TResult> => {
      const inputs = Object.fromEntries(Object.entries(sent.inputs).filter(([, v]) => v !== ''));
      const res = await api.call('post', '/api/workflows/{id}/runs', { params: { id: workflow.id }, body: { idempotency_key: sent.key, inputs } });
      return { run: res.body.run, created: res.status === 201 };
    },
    onSettled: () => {
      sending.current = false;
    },
    onSuccess: (res) => {
      setResult(res);
      // Answered: this key has done its work; the next opening starts a new run.
      saveDraft(workflow.id, null);
      void queryClient.invalidateQueries({ queryKey: ['workflow-runs', workflow.id] });
      void queryClient.invalidateQueries({ queryKey: ['workflow', workflow.id] });
    },
  });

  const { reset } = run;
  useEffect(() => {
    if (open) reset();
  }, [open, reset]);

  const setInput = (name: string, value: string) => {
    const next = { key: newIdempotencyKey(), inputs: { ...draft.inputs, [name]: value } };
    setDraft(next);
    saveDraft(workflow.id, next);
    run.reset();
  };
  const freshKey = () => {
    const next = { ...draft, key: newIdempotencyKey() };
    setDraft(next);
    saveDraft(workflow.id, next);
    run.reset();
  };

  const errors = fieldErrors(run.error);
  const lost = run.error instanceof TypeError;
  const conflict = run.error instanceof ApiError && run.error.status === 409;

  return (
    <Modal open={open} onOpenChange={onOpenChange} title={`Run ${workflow.name} v${workflow.version}`} description="A fresh goal tree from the frozen plan, with these inputs.">
      {result ? (
        <div className="space-y-4">
          <div role="status" className="flex items-start gap-3 rounded-lg border border-emerald-300 bg-emerald-50 p-4 dark:border-emerald-800 dark:bg-emerald-950">
            <CheckCircle2 className="mt-0.5 size-5 text-emerald-600 dark:text-emerald-400" aria-hidden />
            <div>
              <p className="font-semibold">
                {result.created ? 'Started' : 'Resumed'} run #{result.run.number}
              </p>
              <p className="mt-1 text-sm text-zinc-700 dark:text-zinc-300">
                {result.created ? 'A new run was started.' : 'This key had already started that run: nothing new was started.'}{' '}
                <TextLink to={`/runs/${result.run.id}`}>Open the run</TextLink>
                {result.run.root_goal_id && (
                  <>
                    {' '}
                    or <TextLink to={`/goals/${result.run.root_goal_id}`}>its goal tree</TextLink>
                  </>
                )}
                .
              </p>
            </div>
          </div>
          <div className="flex justify-end">
            {/* The form it replaced held the focus: the answer's one action takes it. */}
            <Button autoFocus onClick={() => onOpenChange(false)}>
              Close
            </Button>
          </div>
        </div>
      ) : (
        <form
          className="space-y-4"
          onSubmit={(e) => {
            e.preventDefault();
            // A double click sends once: the second would only resume the first's run, and read as "Resumed".
            if (sending.current) return;
            sending.current = true;
            run.mutate(draft);
          }}
        >
          {workflow.inputs.length === 0 && <p className="text-sm text-zinc-600 dark:text-zinc-400">This workflow declares no inputs.</p>}
          {workflow.inputs.map((input) => (
            <TextField
              key={input.name}
              id={`run-input-${input.name}`}
              label={input.name}
              required={input.required}
              hint={input.description ?? (input.default !== undefined ? `Default: ${input.default}` : undefined)}
              error={errors[`inputs.${input.name}`] ?? errors.inputs}
              value={draft.inputs[input.name] ?? ''}
              onChange={(e) => setInput(input.name, e.target.value)}
            />
          ))}
          <Field id="run-key" label="Idempotency key" hint="Sending again with this key resumes the same run. A new key comes when you change an input, and after a run is started or resumed (the next Run is a new run)." error={errors.idempotency_key}>
            <div className="flex gap-2">
              <input id="run-key" readOnly value={draft.key} className={cx(inputClass, 'font-mono text-xs')} {...fieldAria({ id: 'run-key', hint: true, error: errors.idempotency_key })} />
              <Button onClick={freshKey} title="Use a new idempotency key (another run)">
                <RefreshCw className="size-4" aria-hidden /> New key
              </Button>
            </div>
          </Field>
          {run.error && (
            <ErrorNote
              error={
                lost
                  ? 'The answer did not arrive (network error). Send again: the same key resumes the run if it was started.'
                  : conflict
                    ? `${describeError(run.error)} Use a new key to start another run.`
                    : run.error
              }
            />
          )}
          <div className="flex justify-end gap-2">
            <Button onClick={() => onOpenChange(false)}>Close</Button>
            <Button type="submit" variant="primary" busy={run.isPending}>
              <Play className="size-4" aria-hidden /> {run.error && lost ? 'Send again' : 'Run'}
            </Button>
          </div>
        </form>
      )}
    </Modal>
  );
}
