import path from 'node:path';
import express, { type Router } from 'express';

/**
 * `/api/docs`: a rendered reference of `/api/openapi.json` (Swagger UI,
 * served offline from the swagger-ui-dist package; no CDN). The page is ours:
 * it only points Swagger UI at our document.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Reprise API</title>
  <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/api/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/api/docs/init.js"></script>
</body>
</html>`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#docs', deepLinking: true });`;

export function docsRouter(): Router {
  const router = express.Router();
  router.use('/api/docs/assets', express.static(path.dirname(require.resolve('swagger-ui-dist/package.json')), { index: false, maxAge: '1h' }));
  router.use('/api/docs', (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === '/init.js') return void res.type('application/javascript').send(INIT);
    if (req.path === '/' || req.path === '') return void res.type('html').send(PAGE);
    next();
  });
  return router;
}
