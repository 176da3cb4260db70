import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express, { type Router } from 'express';

/**
 * The web UI (web/, built to web/dist at `npm install`), served same-origin
 * by the API: its hashed assets under /assets with long caching, and its
 * index page for every other GET outside /api and /healthz (client-side
 * routes such as /goals/…). /api/… keeps answering JSON, unknown paths there
 * included (a JSON 404, never the page). The page gets a strict CSP: scripts
 * only from this origin, API calls only to it, no framing.
 */
export const DEFAULT_WEB_DIR = path.resolve(__dirname, '../../web/dist');

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // React sets style attributes (virtualised rows, progress widths).
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reprise</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The web UI is not built</h1>
<p><code>npm install</code> builds it (into <code>web/dist</code>); to build it now, run <code>npm run web:build</code> and reload.
The API is up: <a href="/api/docs">/api/docs</a>.</p></body></html>`;

function isApiPath(p: string): boolean {
  const lower = p.toLowerCase();
  return lower === '/api' || lower.startsWith('/api/') || lower === '/healthz' || lower.startsWith('/healthz/');
}

export function webRouter(webDir: string = DEFAULT_WEB_DIR): Router {
  const router = express.Router();
  const indexFile = path.join(webDir, 'index.html');
  // Read per request (it is small): a rebuild while the API runs serves the new page, never one naming assets that are gone.
  const page = (): Promise<string | undefined> => readFile(indexFile, 'utf8').catch(() => undefined);

  router.use('/assets', express.static(path.join(webDir, 'assets'), { index: false, immutable: true, maxAge: '1y', fallthrough: true }));
  router.use(async (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isApiPath(req.path) || req.path.startsWith('/assets/')) return next();
    const html = await page();
    res.setHeader('content-security-policy', CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cache-control', 'no-cache');
    res.status(html ? 200 : 503).type('html').send(html ?? NOT_BUILT);
  });
  return router;
}
