// The bench's HTTP side: calls to the API process with a bearer token, as a
// user's script or the CLI makes them, and the polling a user does to see a
// goal or a run end.

export interface TApiCall {
  status: number;
  body: unknown;
}

export interface TApi {
  url: string;
  call(method: 'GET' | 'POST', route: string, body?: unknown): Promise<TApiCall>;
}

export function createApi(url: string, secret: string): TApi {
  return {
    url,
    async call(method, route, body) {
      const res = await fetch(`${url}${route}`, {
        method,
        headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * How long to wait before the next look at something that started `elapsedMs`
 * ago: 10 ms at first, then 2% of the time so far (at most `maxMs`): a poll
 * sees an end at most 10 ms or 2% late. Each look costs the API, Postgres and
 * the caller CPU on the machine measured, so a tree's time is its recorded
 * end instead (engine.ts, `timedBy`).
 */
export function pollDelay(elapsedMs: number, maxMs = 250): number {
  return Math.min(maxMs, Math.max(10, elapsedMs / 50));
}

/** Runs `work` over `items`, `limit` at a time (each caller takes the next item when it is free). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i] as T, i);
      }
    }),
  );
  return out;
}
