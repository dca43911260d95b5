/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  // Type-checking is done once by `tsc --noEmit`; ts-jest only transpiles (and its forced
  // node10 resolution raises TS5107, which is irrelevant to transpiling).
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: { ignoreCodes: [5107] } }],
  },
  // sources import './x.js' (node16 rules); map those to the .ts files
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 20000,
  reporters: ['default', '<rootDir>/scripts/summary-reporter.js'],
};
