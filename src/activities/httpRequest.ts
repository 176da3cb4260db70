import { fetch, type Dispatcher, type Response } from 'undici';
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
    const res = await fetchFollowingRedirects(action.url, {
      method: action.method,
      headers,
      body,
      signal: controller.signal,
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

const MAX_REDIRECTS = 20;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers that carry no credential: kept when a redirect leaves the origin (the CORS safelist, plus user-agent). */
const CROSS_ORIGIN_HEADERS = new Set(['accept', 'accept-language', 'content-language', 'content-type', 'user-agent']);
/** Headers that describe a body: dropped with it when a redirect turns the request into a GET. */
const BODY_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']);

interface TRequest {
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal;
  dispatcher?: Dispatcher;
}

function keepHeaders(headers: Record<string, string>, keep: (name: string) => boolean): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => keep(name.toLowerCase())));
}

/**
 * The request for the next hop, as fetch's own redirect rules would make it,
 * except for headers: fetch forwards every custom header (an API key, a
 * cookie) to whatever origin a redirect names, so a server could collect a
 * leaf's credentials by redirecting. Across origins only headers that carry
 * no credential go on.
 */
function nextHop(from: URL, to: URL, status: number, request: TRequest): TRequest {
  let { method, headers, body } = request;
  if (((status === 301 || status === 302) && method === 'POST') || (status === 303 && method !== 'GET' && method !== 'HEAD')) {
    method = 'GET';
    body = undefined;
    headers = keepHeaders(headers, (name) => !BODY_HEADERS.has(name));
  }
  if (to.origin !== from.origin) headers = keepHeaders(headers, (name) => CROSS_ORIGIN_HEADERS.has(name));
  return { ...request, method, headers, body };
}

/** fetch with redirects followed by hand (see nextHop); each hop still goes through the dispatcher's address guard. */
async function fetchFollowingRedirects(url: string, first: TRequest): Promise<Response> {
  let current = new URL(url);
  let request = first;
  for (let hops = 0; ; hops += 1) {
    const res = await fetch(current, { ...request, redirect: 'manual' });
    const location = res.headers.get('location');
    if (!REDIRECT_STATUSES.has(res.status) || location === null) return res;
    await res.body?.cancel();
    if (hops === MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, current);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new Error(`redirect to a ${next.protocol} URL`);
    request = nextHop(current, next, res.status, request);
    current = next;
  }
}
