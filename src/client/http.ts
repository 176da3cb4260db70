import type { paths } from '../generated/api';

/**
 * A typed client of the HTTP API, on the types generated from its OpenAPI
 * document (scripts/apiTypes.ts): paths, params, query, bodies and 2xx
 * answers all come from the document, so a route that drifts from it breaks
 * the type check of whatever uses this client (the CLI is built on it).
 */

export type TMethod = 'get' | 'post' | 'patch' | 'delete';
type TOp<P extends keyof paths, M extends TMethod> = NonNullable<paths[P][M]>;
type TBody<T> = T extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type TPathParams<T> = T extends { parameters: { path: infer P } } ? P : never;
type TQuery<T> = T extends { parameters: { query?: infer Q } } ? Q : never;
type TJson<R> = R extends { content: { 'application/json': infer J } } ? J : undefined;
/** What a 200, 201 or 204 answer carries. */
export type TSuccess<T> = T extends { responses: infer R }
  ? (R extends { 200: infer A } ? TJson<A> : never) | (R extends { 201: infer A } ? TJson<A> : never) | (R extends { 204: unknown } ? undefined : never)
  : never;

/** An error answer, as the API sent it (`{error: {code, message, details?}}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface TApiClientOptions {
  baseUrl: string;
  token?: string;
  /** Sent as `user-agent`, so the API's logs tell the CLI from other callers. */
  userAgent?: string;
  /** Give up on a request after this long (a TimeoutError); no limit when absent. */
  timeoutMs?: number;
}

type TInput<P extends keyof paths, M extends TMethod> = { params?: TPathParams<TOp<P, M>>; query?: TQuery<TOp<P, M>>; body?: TBody<TOp<P, M>> };

export function createApiClient(options: TApiClientOptions) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const client = {
    async call<P extends keyof paths, M extends TMethod & keyof paths[P]>(method: M, path: P, input: TInput<P, M> = {}): Promise<{ status: number; body: TSuccess<TOp<P, M>> }> {
      const answer = await client.callIfChanged(method, path, input, undefined);
      if (answer.notModified) throw new ApiError(304, 'NOT_MODIFIED', 'HTTP 304 to a request that named no version');
      return { status: answer.status, body: answer.body };
    },

    /**
     * A conditional read: with the `etag` of an earlier answer, `notModified`
     * when the API says nothing changed (304), so a poller keeps what it has
     * without reading a body again.
     */
    async callIfChanged<P extends keyof paths, M extends TMethod & keyof paths[P]>(
      method: M,
      path: P,
      input: TInput<P, M>,
      etag: string | undefined,
    ): Promise<{ notModified: true; etag: string } | { notModified: false; status: number; body: TSuccess<TOp<P, M>>; etag: string | undefined }> {
      // `.` and `..` survive encodeURIComponent and would be resolved away by fetch (`/api/goals/.` is the list): escape them too.
      const segment = (value: unknown) => encodeURIComponent(String(value ?? '')).replace(/\./g, '%2E');
      const filled = String(path).replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => segment((input.params as Record<string, unknown> | undefined)?.[name]));
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries((input.query ?? {}) as Record<string, unknown>)) if (v !== undefined) query.set(k, String(v));
      const qs = query.toString();
      const res = await fetch(`${base}${filled}${qs ? `?${qs}` : ''}`, {
        method: method.toUpperCase(),
        headers: {
          accept: 'application/json',
          ...(input.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
          ...(etag ? { 'if-none-match': etag } : {}),
        },
        body: input.body === undefined ? undefined : JSON.stringify(input.body),
        signal: options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined,
      });
      if (res.status === 304 && etag) return { notModified: true, etag: res.headers.get('etag') ?? etag };
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        // Not the API (a proxy's error page, another server on the port): say so with the status instead of a SyntaxError.
        throw new ApiError(res.status, 'NOT_JSON', `${base} answered HTTP ${res.status} with a body that is not JSON (is this the Reprise API?)`);
      }
      if (!res.ok) {
        const error = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
        throw new ApiError(res.status, error?.code ?? 'HTTP_ERROR', error?.message ?? `HTTP ${res.status}`, error?.details);
      }
      return { notModified: false, status: res.status, body: json as TSuccess<TOp<P, M>>, etag: res.headers.get('etag') ?? undefined };
    },
  };
  return client;
}

export type TApiClient = ReturnType<typeof createApiClient>;
