/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  // Suites share the machine's MariaDB; each makes its own databases, so two workers are safe.
  maxWorkers: 2,
  testTimeout: 60000,
};
