/**
 * The fault suite (test/faults): real processes killed under load.
 * supervision.test.ts runs `npm start` as a user does and kills its
 * processes; scenarios.test.ts runs its own cluster (test/faults/support:
 * Postgres, a Temporal dev server on a file, worker and API processes) and
 * SIGKILLs its parts during runs, printing each scenario's figures and
 * writing the reliability report (FAULTS_SCALE=full: the sizes and
 * docs/RELIABILITY.md; by default the reduced form CI runs). Each file starts
 * what it needs, so there is no shared global setup, and they run alone (one
 * jest worker): their bounds are those of the processes under test, not of
 * other test files competing for this machine's cores.
 * @type {import('jest').Config}
 */
const base = require('./test/setup/jestBase');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
  maxWorkers: 1,
};
