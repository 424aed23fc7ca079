const { planRedisForTests } = require('./test/redis-for-tests');

/** @type {() => Promise<import('jest').Config>} */
module.exports = async () => ({
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Without Redis (none running, none installed) the suites that need it are left out, with a line
  // saying so; test/redis-for-tests.js decides.
  testPathIgnorePatterns: ['/node_modules/', ...(await planRedisForTests(`${__dirname}/test`)).map((file) => `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)],
  // dist/, for the suites that start the server or the importer as a process, is written once before
  // any suite; so is the private Redis started, when one is needed (and stopped after the run).
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  // Suites share the machine's MariaDB; each makes its own databases, so workers are safe together.
  // Three on two cores: the MariaDB-stall suite spends 30 s of its 36 waiting on a frozen server.
  maxWorkers: 3,
  testTimeout: 60000,
});
