/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // dist/, for the suites that start the server or the importer as a process: written once, before any suite.
  globalSetup: '<rootDir>/test/global-setup.ts',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  // Suites share the machine's MariaDB; each makes its own databases, so workers are safe together.
  // Three on two cores: the MariaDB-stall suite spends 30 s of its 36 waiting on a frozen server.
  maxWorkers: 3,
  testTimeout: 60000,
};
