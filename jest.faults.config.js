/**
 * The fault suite (test/faults): `npm start` as a user runs it, with its
 * processes killed under it. Each test starts its own whole stack, so there is
 * no shared global setup, and it runs alone (one jest worker): its bounds on
 * restart and stop times are `npm start`'s, not those of other test files
 * competing for this machine's cores.
 * @type {import('jest').Config}
 */
const base = require('./test/setup/jestBase');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
  maxWorkers: 1,
};
