/** What every jest project (jest.config.js, jest.scale.config.js) shares: how TypeScript is compiled. */
module.exports = {
  rootDir: require('node:path').resolve(__dirname, '../..'),
  testEnvironment: 'node',
  transform: {
    '^.+\\.(ts|js)$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // ESM-only dependencies jest must compile to CommonJS like our own code.
  transformIgnorePatterns: ['/node_modules/(?!@marcbachmann/cel-js/)'],
  testTimeout: 60_000,
};
