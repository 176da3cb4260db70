import { KeyRound } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { ErrorNote, Field, inputClass } from '../components/ui';
import { Button } from '../components/ui';
import { ApiError, describeError } from '../lib/api';
import { signIn, signOutReason } from '../lib/auth';

/** A pasted token is tried against the API before it is kept: a bad one never gets past this page. */
export function SignInPage() {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(signOutReason ? `Signed out: ${signOutReason}` : null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await fetch('/api/goals?limit=1', { headers: { authorization: `Bearer ${token.trim()}` } });
      // 403: a valid token without goals:read; pages say what each lacks.
      if (res.status === 401) throw new ApiError(401, 'UNAUTHENTICATED', 'This token is not valid here (unknown, revoked or expired).');
      signIn(token);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="grid min-h-screen place-items-center px-4">
      <div className="w-full max-w-md">
        <div className="mb-6 flex items-center gap-3">
          <span className="grid size-10 place-items-center rounded-lg bg-indigo-600 text-lg font-semibold text-white" aria-hidden>
            R
          </span>
          <div>
            <h1 className="text-xl font-semibold tracking-tight">Sign in to Reprise</h1>
            <p className="text-sm text-zinc-600 dark:text-zinc-400">Goals, workflows, runs and schedules.</p>
          </div>
        </div>
        <form onSubmit={submit} className="space-y-4 rounded-xl border border-zinc-200 bg-white p-6 shadow-xs dark:border-zinc-800 dark:bg-zinc-900">
          <p className="text-sm text-zinc-700 dark:text-zinc-300">
            Open the <strong>UI</strong> link that <code className="rounded bg-zinc-100 px-1 dark:bg-zinc-800">npm start</code> printed: it signs you in with the local admin token. Or paste a token (
            <code className="rounded bg-zinc-100 px-1 dark:bg-zinc-800">rpr_…</code>, from <code className="rounded bg-zinc-100 px-1 dark:bg-zinc-800">.data/local-admin-token.json</code> or{' '}
            <code className="rounded bg-zinc-100 px-1 dark:bg-zinc-800">reprise token create</code>).
          </p>
          <Field id="token" label="Token" hint="Kept in this tab only (sessionStorage) and sent as a bearer header; Sign out forgets it.">
            <input
              id="token"
              name="token"
              type="password"
              autoComplete="off"
              spellCheck={false}
              required
              value={token}
              onChange={(e) => setToken(e.target.value)}
              className={inputClass}
              aria-describedby="token-hint"
            />
          </Field>
          <ErrorNote error={error} />
          <Button type="submit" variant="primary" busy={busy} className="w-full">
            <KeyRound className="size-4" aria-hidden /> Sign in
          </Button>
        </form>
      </div>
    </main>
  );
}
