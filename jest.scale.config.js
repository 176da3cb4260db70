/**
 * The scale suite (test/scale): big trees, a completion storm and the
 * engine's limits, asserted on the worker's own task latencies. It runs after
 * the main suite, alone (one jest worker), so the latencies it measures are
 * the engine's and not those of other test files competing for this
 * machine's two cores.
 * @type {import('jest').Config}
 */
const base = require('./test/setup/jestBase');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/scale/**/*.test.ts'],
  globalSetup: '<rootDir>/test/setup/globalSetup.ts',
  globalTeardown: '<rootDir>/test/setup/globalTeardown.ts',
  maxWorkers: 1,
};
