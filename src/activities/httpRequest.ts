import { fetch } from 'undici';
import type { THttpAction } from '../domain/actions';
import { publicOnlyDispatcher } from './addressGuard';
import { storable } from './shellCommand';

/** One HTTP request for an `http` leaf, with a timeout, cancellation and a bounded body. */

export interface THttpResult {
  url: string;
  method: string;
  http_status: number | null;
  body: string;
  body_truncated: boolean;
  timed_out: boolean;
  cancelled: boolean;
  /** A network-level failure (no response), e.g. connection refused. */
  error: string | null;
  duration_ms: number;
}

export async function runHttpRequest(options: {
  action: THttpAction;
  timeoutMs: number;
  maxBodyBytes: number;
  signal?: AbortSignal;
  onProgress?: (elapsedMs: number) => void;
  /** May it connect to loopback, private and link-local addresses? (The agent may run shell: addressGuard.ts.) */
  internalAddresses: boolean;
}): Promise<THttpResult> {
  const { action } = options;
  const started = Date.now();
  const controller = new AbortController();
  let timedOut = false;
  let cancelled = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  const onAbort = (): void => {
    cancelled = true;
    controller.abort();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const progress = setInterval(() => options.onProgress?.(Date.now() - started), 1000);

  const headers: Record<string, string> = { ...(action.headers ?? {}) };
  let body: string | undefined;
  if (action.body !== undefined) {
    body = typeof action.body === 'string' ? action.body : JSON.stringify(action.body);
    if (typeof action.body !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
  }
  const base = { url: action.url, method: action.method };
  try {
    const res = await fetch(action.url, {
      method: action.method,
      headers,
      body,
      signal: controller.signal,
      redirect: 'follow',
      ...(options.internalAddresses ? {} : { dispatcher: publicOnlyDispatcher }),
    });
    const chunks: Buffer[] = [];
    let held = 0;
    let truncated = false;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const room = options.maxBodyBytes - held;
        if (value.length > room) {
          chunks.push(Buffer.from(value.subarray(0, room)));
          truncated = true;
          await reader.cancel();
          break;
        }
        chunks.push(Buffer.from(value));
        held += value.length;
      }
    }
    return {
      ...base,
      http_status: res.status,
      body: storable(Buffer.concat(chunks).toString('utf8')),
      body_truncated: truncated,
      timed_out: false,
      cancelled: false,
      error: null,
      duration_ms: Date.now() - started,
    };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return {
      ...base,
      http_status: null,
      body: '',
      body_truncated: false,
      timed_out: timedOut,
      cancelled,
      error: timedOut || cancelled ? null : (cause?.code ?? cause?.message ?? (err as Error).message),
      duration_ms: Date.now() - started,
    };
  } finally {
    clearTimeout(timer);
    clearInterval(progress);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
