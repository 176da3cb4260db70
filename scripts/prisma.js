#!/usr/bin/env node
// Runs the Prisma 7 CLI by path. `node_modules/.bin/prisma` may point at the
// aliased prisma6 package (used only by the schema/migrations agreement test),
// so nothing of ours calls the bin by name.
'use strict';
const { spawnSync } = require('node:child_process');

const cli = require.resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1', ...process.env },
});
process.exit(result.status ?? 1);
