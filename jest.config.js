/**
 * The test tiers, each a jest project (`npm test` runs them in order, see
 * scripts/test.ts; `npx jest <file>` picks the project a file belongs to):
 * - unit: pure logic, no service at all (no globalSetup): seconds.
 * - workflows: workflow logic on the Temporal dev server with in-memory
 *   activities (no Postgres), fast through the engine's tuning knobs.
 * - integration: HTTP → Postgres → Temporal → activities, and the e2e start.
 * - browser: the web UI (web/dist) in headless Chromium against a live stack.
 * test/scale runs on its own, after these (jest.scale.config.js).
 * A project's globalSetup runs only when one of its files is selected.
 */
const base = require('./test/setup/jestBase');

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  // Read from here only: jest ignores a project's own testTimeout.
  testTimeout: base.testTimeout,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...base,
      displayName: 'workflows',
      testMatch: ['<rootDir>/test/workflows/**/*.test.ts'],
      // A Temporal dev server and the workflow bundle; no Postgres.
      globalSetup: '<rootDir>/test/setup/workflowsSetup.ts',
      globalTeardown: '<rootDir>/test/setup/globalTeardown.ts',
    },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/{integration,e2e}/**/*.test.ts'],
      // One Temporal dev server, one migrated database and one workflow bundle for the whole run.
      globalSetup: '<rootDir>/test/setup/globalSetup.ts',
      globalTeardown: '<rootDir>/test/setup/globalTeardown.ts',
    },
    {
      ...base,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.test.ts'],
      // The web UI in Debian's chromium against the same live stack as integration (its own database and dev server).
      globalSetup: '<rootDir>/test/setup/globalSetup.ts',
      globalTeardown: '<rootDir>/test/setup/globalTeardown.ts',
    },
  ],
};
