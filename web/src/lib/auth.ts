import { useSyncExternalStore } from 'react';

/**
 * The bearer token, kept in sessionStorage: it lives as long as the tab (a
 * reload keeps it, closing the tab forgets it) and is never sent as a cookie,
 * so there is no CSRF surface. `npm start` prints a link carrying it in the
 * URL fragment (`/#token=…`), which browsers never send to a server; the app
 * takes it from there once and removes it from the address bar.
 */
const KEY = 'reprise.token';
/** Everything this app keeps in sessionStorage starts so (the token, run-dialog drafts): signing out forgets all of it. */
export const STORAGE_PREFIX = 'reprise.';
const listeners = new Set<() => void>();

function read(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

let current = read();

function emit(): void {
  for (const l of listeners) l();
}

export function getToken(): string | null {
  return current;
}

export function signIn(token: string): void {
  current = token.trim();
  sessionStorage.setItem(KEY, current);
  emit();
}

/**
 * Forgets the token and everything kept with it in this tab (run-dialog
 * drafts hold inputs and idempotency keys: the next person signing in here
 * must not see or resume them); `reason` is shown on the sign-in page.
 */
export function signOut(reason?: string): void {
  current = null;
  try {
    const ours = Array.from({ length: sessionStorage.length }, (_, i) => sessionStorage.key(i)).filter((k): k is string => k?.startsWith(STORAGE_PREFIX) ?? false);
    for (const k of ours) sessionStorage.removeItem(k);
  } catch {
    // storage unavailable: nothing kept there
  }
  signOutReason = reason ?? null;
  emit();
}

export let signOutReason: string | null = null;

export function useToken(): string | null {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => current,
  );
}

/** `#token=…` in the address: sign in with it, and take it out of the address bar and history. */
export function takeTokenFromFragment(): void {
  const match = /^#token=([^&]+)/.exec(window.location.hash);
  if (!match?.[1]) return;
  signIn(decodeURIComponent(match[1]));
  window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
}
