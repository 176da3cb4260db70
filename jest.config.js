/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(ts|js)$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // ESM-only dependencies jest must compile to CommonJS like our own code.
  transformIgnorePatterns: ['/node_modules/(?!@marcbachmann/cel-js/)'],
  // test/scale runs on its own, after these (jest.scale.config.js).
  testMatch: ['<rootDir>/test/{unit,integration,e2e}/**/*.test.ts'],
  // One Temporal dev server, one migrated database and one workflow bundle for the whole run.
  globalSetup: '<rootDir>/test/setup/globalSetup.ts',
  globalTeardown: '<rootDir>/test/setup/globalTeardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
