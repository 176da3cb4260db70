import { createGzip, constants, type Gzip } from 'node:zlib';
import type { RequestHandler, Response } from 'express';

/**
 * Gzip for answers worth it: a goal tree of 10,000 goals is ~8 MB of JSON and
 * about a tenth of that compressed. No library (`compression` is not among our
 * dependencies and installs are offline), so this is the small part of it we
 * need: the decision is made when the first bytes are written, from the
 * status, the type and the length (`content-length`, or the one chunk of an
 * `end(body)`); an answer of unknown length (a stream) is compressed as it
 * streams, with backpressure passed through (a writer waiting for `drain` on
 * the response waits for the gzip stream's).
 */

export const GZIP_THRESHOLD_BYTES = 1024;

const COMPRESSIBLE = /^(application\/(json|javascript|[a-z0-9.+-]*\+json|xml)|text\/|image\/svg\+xml)/i;

/** True when the client lists gzip (or `*`) without `q=0`. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [name, ...params] = part.trim().split(';');
    const coding = name?.trim().toLowerCase();
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return 0;
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return (chunk as Uint8Array).byteLength;
}

function worthCompressing(res: Response, knownLength: number | undefined, threshold: number): boolean {
  if (res.statusCode < 200 || res.statusCode === 204 || res.statusCode === 206 || res.statusCode === 304) return false;
  if (res.getHeader('content-encoding')) return false;
  if (/\bno-transform\b/i.test(String(res.getHeader('cache-control') ?? ''))) return false;
  if (!COMPRESSIBLE.test(String(res.getHeader('content-type') ?? ''))) return false;
  const declared = res.getHeader('content-length');
  const length = declared !== undefined ? Number(declared) : knownLength;
  return length === undefined || length >= threshold;
}

export function gzipResponses(options: { threshold?: number } = {}): RequestHandler {
  const threshold = options.threshold ?? GZIP_THRESHOLD_BYTES;
  return (req, res, next) => {
    // Caches between us and a client must keep the two forms apart, whichever this one gets.
    res.vary('Accept-Encoding');
    if (req.method === 'HEAD' || !acceptsGzip(req.headers['accept-encoding'])) return next();

    const write = res.write.bind(res) as (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
    const end = res.end.bind(res) as (chunk?: unknown, encoding?: unknown, cb?: unknown) => Response;
    const on = res.on.bind(res);
    let gzip: Gzip | null = null;
    let decided = false;

    // `knownLength`: the whole body's size when the first write is also the last.
    const start = (knownLength: number | undefined): void => {
      if (decided) return;
      decided = true;
      if (!worthCompressing(res, knownLength, threshold)) return;
      res.setHeader('content-encoding', 'gzip');
      res.removeHeader('content-length');
      // A validator of the uncompressed body no longer names these bytes exactly.
      const etag = res.getHeader('etag');
      if (typeof etag === 'string' && !etag.startsWith('W/')) res.setHeader('etag', `W/${etag}`);
      const stream = createGzip({ level: constants.Z_DEFAULT_COMPRESSION });
      stream.on('data', (data: Buffer) => {
        if (!write(data)) stream.pause();
      });
      stream.on('end', () => end());
      // A zlib failure fails this response, never the process; a client gone frees the stream at once.
      stream.on('error', (err) => res.destroy(err));
      on('close', () => stream.destroy());
      on('drain', () => stream.resume());
      gzip = stream;
    };

    res.write = function (chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
      start(undefined);
      if (!gzip) return write(chunk, encoding, cb);
      return gzip.write(chunk as Buffer, (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding, (typeof encoding === 'function' ? encoding : cb) as () => void);
    } as Response['write'];

    res.end = function (chunk?: unknown, encoding?: unknown, cb?: unknown): Response {
      if (!decided) {
        // Express sets content-length before it ends; a bare end(body) counts the body.
        start(byteLength(chunk, encoding));
      }
      if (!gzip) return end(chunk, encoding, cb);
      const done = typeof chunk === 'function' ? chunk : typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') res.once('finish', done as () => void);
      if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
        gzip.end(chunk as Buffer, (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding);
      } else gzip.end();
      return res;
    } as Response['end'];

    // A writer that saw write() return false waits for 'drain': the gzip stream's, once compressing.
    const listen = (event: string | symbol, listener: (...args: unknown[]) => void): Response => {
      if (event === 'drain' && gzip) gzip.on('drain', listener);
      else on(event, listener);
      return res;
    };
    res.on = listen as Response['on'];
    res.addListener = listen as Response['addListener'];
    next();
  };
}
