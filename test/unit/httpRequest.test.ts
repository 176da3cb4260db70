import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runHttpRequest } from '../../src/activities/httpRequest';
import type { THttpAction } from '../../src/domain/actions';

/**
 * Two servers on different ports are two origins. Each answers /to?url=…
 * with a redirect (status from ?status=), /loop with a redirect to itself,
 * and anything else with the method,
 * body and headers it received.
 */
async function startServer(): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/loop') {
      res.writeHead(302, { location: '/loop' }).end();
      return;
    }
    if (url.pathname === '/to') {
      res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('url')! }).end();
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => res.end(JSON.stringify({ method: req.method, body, headers: req.headers })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let a: Awaited<ReturnType<typeof startServer>>;
let b: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  [a, b] = await Promise.all([startServer(), startServer()]);
});
afterAll(async () => Promise.all([a.close(), b.close()]));

const secrets = { authorization: 'Bearer s3cret', cookie: 'session=s3cret', 'x-api-key': 's3cret', accept: 'application/json' };

async function request(action: Partial<THttpAction> & { url: string }): Promise<{ method: string; body: string; headers: Record<string, string> }> {
  const result = await runHttpRequest({
    action: { runtime: 'http', method: 'GET', ...action } as THttpAction,
    timeoutMs: 10_000,
    maxBodyBytes: 1 << 20,
    internalAddresses: true,
  });
  expect(result).toMatchObject({ http_status: 200, error: null });
  return JSON.parse(result.body) as { method: string; body: string; headers: Record<string, string> };
}

function via(from: string, to: string, status = 302): string {
  return `${from}/to?status=${status}&url=${encodeURIComponent(to)}`;
}

describe('runHttpRequest redirects', () => {
  it('keeps every header on a same-origin redirect', async () => {
    const seen = await request({ url: via(a.origin, '/echo'), headers: secrets });
    expect(seen.headers).toMatchObject(secrets);
  });

  it('drops custom headers, authorization and cookie on a cross-origin redirect', async () => {
    const seen = await request({ url: via(a.origin, `${b.origin}/echo`), headers: secrets });
    expect(seen.headers).not.toHaveProperty('authorization');
    expect(seen.headers).not.toHaveProperty('cookie');
    expect(seen.headers).not.toHaveProperty('x-api-key');
    expect(seen.headers.accept).toBe('application/json');
  });

  it('keeps them dropped when a later hop comes back to the first origin', async () => {
    const seen = await request({ url: via(a.origin, via(b.origin, `${a.origin}/echo`)), headers: secrets });
    expect(seen.headers).not.toHaveProperty('x-api-key');
  });

  it('re-sends method and body on 307, and turns a POST into a GET on 302', async () => {
    const post = { method: 'POST' as const, body: { n: 1 } };
    expect(await request({ ...post, url: via(a.origin, '/echo', 307) })).toMatchObject({ method: 'POST', body: '{"n":1}' });
    const seen = await request({ ...post, url: via(a.origin, '/echo', 302) });
    expect(seen).toMatchObject({ method: 'GET', body: '' });
    expect(seen.headers).not.toHaveProperty('content-type');
  });

  it('gives up after 20 redirects', async () => {
    const result = await runHttpRequest({
      action: { runtime: 'http', method: 'GET', url: `${a.origin}/loop` } as THttpAction,
      timeoutMs: 10_000,
      maxBodyBytes: 1024,
      internalAddresses: true,
    });
    expect(result).toMatchObject({ http_status: null });
    expect(result.error).toMatch(/redirect/);
  });
});
