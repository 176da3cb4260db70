import path from 'node:path';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';

// The UI is built to web/dist at `npm install` (the root postinstall) and served
// by the API process (src/api/web.ts). `npm run web:dev` serves it with reloads
// on :5173 and forwards /api and /healthz to the API (API_URL, default :3000).
// JSX is compiled by Vite's own Oxc transform (automatic runtime): no
// @vitejs/plugin-react, whose optional Babel peers conflict with jest's.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [tailwindcss()],
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: path.join(import.meta.dirname, 'dist'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1000,
    rolldownOptions: {
      // Radix marks its modules "use client" (for React Server Components); a plain SPA has none.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: {
      '/api': process.env.API_URL ?? 'http://127.0.0.1:3000',
      '/healthz': process.env.API_URL ?? 'http://127.0.0.1:3000',
    },
  },
});
