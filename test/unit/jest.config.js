/**
 * The fast tier (`npm run test:unit`): no server, database or socket, so none of the main config's
 * global setup (dist/ for the suites that start the server as a process). `npm test` runs these too.
 */
const main = require('../../jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...main,
  rootDir: '../..',
  roots: ['<rootDir>/test/unit'],
  globalSetup: undefined,
  maxWorkers: 2,
};
