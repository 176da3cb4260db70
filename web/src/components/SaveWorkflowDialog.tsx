import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Plus, Trash2 } from 'lucide-react';
import { useMemo, useState } from 'react';
import { useNavigate } from 'react-router';
import { api, fieldErrors, type TWorkflowInput } from '../lib/api';
import { placeholders, slugify } from '../lib/format';
import type { TIndexedTree } from '../lib/tree';
import { Button, ErrorNote, Modal, TextField, cx } from './ui';

type TDraftInput = { name: string; description: string; default: string; required: boolean };

/** Texts that take `{{inputs.x}}`: titles, intents and judgment texts (never commands). */
function inputTexts(tree: TIndexedTree): string[] {
  const texts: string[] = [];
  for (const g of tree.byId.values()) {
    texts.push(g.title, g.intent ?? '');
    const j = (g.acceptance as { judgment?: { prompt?: string; rubric?: string } } | undefined)?.judgment;
    if (j) texts.push(j.prompt ?? '', j.rubric ?? '');
  }
  return texts;
}

export function SaveWorkflowDialog({ tree, open, onOpenChange }: { tree: TIndexedTree; open: boolean; onOpenChange: (o: boolean) => void }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const found = useMemo(() => placeholders(inputTexts(tree)), [tree]);
  const [name, setName] = useState(() => slugify(tree.root.title));
  const [description, setDescription] = useState('');
  const [inputs, setInputs] = useState<TDraftInput[]>(() => found.map((n) => ({ name: n, description: '', default: '', required: true })));
  const save = useMutation({
    mutationFn: async () => {
      const body = {
        name: name.trim(),
        ...(description.trim() ? { description: description.trim() } : {}),
        inputs: inputs.map(
          (i): TWorkflowInput => ({
            name: i.name.trim(),
            ...(i.description.trim() ? { description: i.description.trim() } : {}),
            ...(i.default !== '' ? { default: i.default } : {}),
            required: i.required,
          }),
        ),
      };
      return (await api.call('post', '/api/goals/{id}/save-as-workflow', { params: { id: tree.root.id }, body })).body;
    },
    onSuccess: (wf) => {
      void queryClient.invalidateQueries({ queryKey: ['workflows'] });
      onOpenChange(false);
      void navigate(`/workflows/${wf.id}`);
    },
  });
  const errors = fieldErrors(save.error);
  const fieldsWithErrors = Object.keys(errors);
  const declared = new Set(inputs.map((i) => i.name.trim()));
  const missing = found.filter((p) => !declared.has(p));
  const update = (i: number, patch: Partial<TDraftInput>) => setInputs((prev) => prev.map((x, j) => (j === i ? { ...x, ...patch } : x)));

  return (
    <Modal open={open} onOpenChange={onOpenChange} wide title="Save as workflow" description="A frozen, versioned copy of this tree's plan, runnable again with its inputs. Saving the same name again makes its next version.">
      <form
        className="space-y-5"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
          <TextField id="wf-name" label="Name" required hint="A slug: lower-case letters, digits and dashes. It never changes." error={errors.name} value={name} onChange={(e) => setName(e.target.value)} />
          <TextField id="wf-description" label="Description (optional)" error={errors.description} value={description} onChange={(e) => setDescription(e.target.value)} />
        </div>

        <fieldset>
          <legend className="text-sm font-medium">Inputs</legend>
          <p className="mt-0.5 text-xs text-zinc-500 dark:text-zinc-400">
            Used as <code>{'{{inputs.name}}'}</code> in titles, intents and judgment texts; commands read them as <code>$REPRISE_INPUT_name</code>.
          </p>
          {missing.length > 0 && (
            <div className="mt-2 flex flex-wrap items-center gap-2 text-sm">
              <span className="text-zinc-600 dark:text-zinc-400">Found in this tree:</span>
              {missing.map((p) => (
                <Button key={p} onClick={() => setInputs((prev) => [...prev, { name: p, description: '', default: '', required: true }])}>
                  <Plus className="size-3.5" aria-hidden /> {`{{inputs.${p}}}`}
                </Button>
              ))}
            </div>
          )}
          <div className="mt-3 space-y-3">
            {inputs.map((input, i) => (
              <div key={i} className="grid items-start gap-2 rounded-lg border border-zinc-200 p-3 sm:grid-cols-[1fr_1.4fr_1fr_auto_auto] dark:border-zinc-700">
                <TextField id={`in-${i}-name`} label="Name" required error={errors[`inputs.${i}.name`] ?? errors[`inputs.${i}`]} value={input.name} onChange={(e) => update(i, { name: e.target.value })} />
                <TextField id={`in-${i}-description`} label="Description" error={errors[`inputs.${i}.description`]} value={input.description} onChange={(e) => update(i, { description: e.target.value })} />
                <TextField id={`in-${i}-default`} label="Default" error={errors[`inputs.${i}.default`]} value={input.default} onChange={(e) => update(i, { default: e.target.value })} />
                <div className="flex h-full items-end pb-1.5">
                  <label className="inline-flex items-center gap-1.5 text-sm">
                    <input type="checkbox" checked={input.required} onChange={(e) => update(i, { required: e.target.checked })} className="size-4 accent-indigo-600" /> Required
                  </label>
                </div>
                <div className="flex h-full items-end">
                  <Button variant="ghost" aria-label={`Remove input ${input.name || i + 1}`} onClick={() => setInputs((prev) => prev.filter((_, j) => j !== i))}>
                    <Trash2 className="size-4" aria-hidden />
                  </Button>
                </div>
              </div>
            ))}
          </div>
          <Button className="mt-3" onClick={() => setInputs((prev) => [...prev, { name: '', description: '', default: '', required: false }])}>
            <Plus className="size-4" aria-hidden /> Add an input
          </Button>
        </fieldset>

        {save.error && (fieldsWithErrors.length === 0 || fieldsWithErrors.some((f) => f !== 'name' && f !== 'description' && !f.startsWith('inputs.'))) && <ErrorNote error={save.error} />}
        <div className={cx('flex justify-end gap-2 border-t border-zinc-200 pt-4 dark:border-zinc-700')}>
          <Button onClick={() => onOpenChange(false)}>Close</Button>
          <Button type="submit" variant="primary" busy={save.isPending}>
            Save workflow
          </Button>
        </div>
      </form>
    </Modal>
  );
}
