import { mkdtempSync, writeFileSync } from 'node:fs';
import { get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import express from 'express';
import { acceptsGzip, gzipResponses } from '../../src/api/compression';

/** The gzip middleware over what the API serves: JSON bodies, static files (streamed with a length) and streams without one. */

const dir = mkdtempSync(path.join(tmpdir(), 'gzip-'));
const asset = `console.log(${JSON.stringify('x'.repeat(50_000))});\n`;
writeFileSync(path.join(dir, 'app.js'), asset);
// Bigger than any socket buffer: the stream must honour backpressure to arrive whole.
const streamed = Array.from({ length: 2_000 }, (_, i) => `line ${i} ${'y'.repeat(i % 97)}\n`);

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use(gzipResponses());
  app.use('/assets', express.static(dir));
  app.get('/small', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/stream', (_req, res) => {
    res.type('text/plain');
    let i = 0;
    const pump = (): void => {
      while (i < streamed.length) {
        if (!res.write(streamed[i++])) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function fetchRaw(p: string, encoding?: string): Promise<{ headers: Record<string, unknown>; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    get(`${base}${p}`, { headers: encoding ? { 'accept-encoding': encoding } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, bytes: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

it('reads Accept-Encoding as HTTP means it', () => {
  expect([acceptsGzip('gzip'), acceptsGzip('br, gzip;q=0.5'), acceptsGzip('*'), acceptsGzip('gzip;q=0'), acceptsGzip('br'), acceptsGzip(undefined)]).toEqual([true, true, true, false, false, false]);
});

it('compresses a static file and a stream of unknown length, whole, and leaves small answers alone', async () => {
  const file = await fetchRaw('/assets/app.js', 'gzip');
  expect([file.headers['content-encoding'], file.headers['content-length']]).toEqual(['gzip', undefined]);
  expect(gunzipSync(file.bytes).toString()).toBe(asset);
  expect(String(file.headers.etag)).toMatch(/^W\//);

  const stream = await fetchRaw('/stream', 'gzip');
  expect(stream.headers['content-encoding']).toBe('gzip');
  expect(gunzipSync(stream.bytes).toString()).toBe(streamed.join(''));

  const plain = await fetchRaw('/stream');
  expect([plain.headers['content-encoding'], plain.bytes.toString()]).toEqual([undefined, streamed.join('')]);
  const small = await fetchRaw('/small', 'gzip');
  expect([small.headers['content-encoding'], small.bytes.toString()]).toEqual([undefined, '{"ok":true}']);
});
