#!/usr/bin/env node
// Generates the Prisma client offline (runs at `npm install`).
// The Prisma CLI insists on downloading its native schema engine at start-up,
// even for `generate`, which never uses it. Pointing PRISMA_SCHEMA_ENGINE_BINARY
// at any existing executable skips the download; migrations do not go through
// the Prisma CLI (see src/db/migrate.ts).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const result = spawnSync(process.execPath, [path.join(__dirname, 'prisma.js'), 'generate'], {
  stdio: 'inherit',
  env: { PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, ...process.env },
});
process.exit(result.status ?? 1);
