#!/usr/bin/env node
'use strict';
// The `reprise` command (package.json "bin"): registers tsx's CommonJS loader,
// so the CLI runs from its TypeScript source like `npm start` does, then
// hands over to src/cli/main.ts.
const path = require('node:path');
const { register } = require('tsx/cjs/api');

register();
const { main } = require(path.join(__dirname, '..', 'src', 'cli', 'main.ts'));
main().catch((err) => {
  process.stderr.write(`reprise: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
