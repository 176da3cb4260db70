import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api, fieldErrors } from '../lib/api';
import { Button, ErrorNote, Modal, TextAreaField, TextField } from './ui';

/** The README's example: a build composite (compile, then test), then a ship step that takes an input. */
const EXAMPLE_PLAN = `{"children": [
  {"key": "build", "kind": "composite", "title": "Build", "plan": {
    "children": [
      {"key": "compile", "kind": "leaf", "title": "Compile", "action": {"runtime": "shell", "command": "printf 'release build' > app.txt"}},
      {"key": "test", "kind": "leaf", "title": "Test", "action": {"runtime": "shell", "command": "test -s app.txt"}}],
    "edges": [{"from": "compile", "to": "test"}]}},
  {"key": "ship", "kind": "leaf", "title": "Ship to {{inputs.target}}",
   "action": {"runtime": "shell", "command": "echo \\"shipping to $REPRISE_INPUT_target\\""}}],
 "edges": [{"from": "build", "to": "ship"}]}`;

/** A composite goal with its plan (the plan format of the API reference), started at once unless asked not to. */
export function NewGoalDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [title, setTitle] = useState('Release {{inputs.target}}');
  const [intent, setIntent] = useState('');
  const [plan, setPlan] = useState(EXAMPLE_PLAN);
  const [start, setStart] = useState(true);
  const create = useMutation({
    mutationFn: async () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(plan);
      } catch (err) {
        throw new Error(`The plan is not valid JSON: ${(err as Error).message}`, { cause: err });
      }
      const body = { title: title.trim(), kind: 'composite' as const, start, ...(intent.trim() ? { intent: intent.trim() } : {}), plan: parsed as never };
      return (await api.call('post', '/api/goals', { body })).body;
    },
    onSuccess: (goal) => {
      void queryClient.invalidateQueries({ queryKey: ['goals'] });
      onOpenChange(false);
      void navigate(`/goals/${goal.id}`);
    },
  });
  const errors = fieldErrors(create.error);
  return (
    <Modal open={open} onOpenChange={onOpenChange} wide title="New goal" description="A composite goal and its plan: children (leaves run shell commands, HTTP requests, or wait for a person or an agent) and the edges between them.">
      <form
        className="space-y-4"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
          <TextField id="goal-title" label="Title" required error={errors.title} value={title} onChange={(e) => setTitle(e.target.value)} />
          <TextField id="goal-intent" label="Intent (optional)" error={errors.intent} value={intent} onChange={(e) => setIntent(e.target.value)} />
        </div>
        <TextAreaField
          id="goal-plan"
          label="Plan (JSON)"
          hint="The plan format of the API reference; this example is the README's."
          error={Object.entries(errors).find(([k]) => k.startsWith('plan'))?.[1]}
          rows={12}
          spellCheck={false}
          value={plan}
          onChange={(e) => setPlan(e.target.value)}
          className="font-mono text-xs"
        />
        <label className="inline-flex items-center gap-2 text-sm">
          <input type="checkbox" checked={start} onChange={(e) => setStart(e.target.checked)} className="size-4 accent-indigo-600" /> Start at once
        </label>
        <ErrorNote error={create.error} />
        <div className="flex justify-end gap-2">
          <Button onClick={() => onOpenChange(false)}>Close</Button>
          <Button type="submit" variant="primary" busy={create.isPending}>
            Create goal
          </Button>
        </div>
      </form>
    </Modal>
  );
}
