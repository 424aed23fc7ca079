/**
 * The fast tier (`npm run test:unit`): no server, database or socket, so none of the main config's
 * global setup and teardown (dist/ and a private Redis for the suites that need them). `npm test` runs
 * these too.
 */
const main = require('../../jest.config.js');

/** @type {() => Promise<import('jest').Config>} */
module.exports = async () => ({
  ...(await main()),
  rootDir: '../..',
  roots: ['<rootDir>/test/unit'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: undefined,
  globalTeardown: undefined,
  maxWorkers: 2,
});
