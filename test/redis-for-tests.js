'use strict';
/**
 * Which Redis a test run gets, decided once, before any suite (jest.config.js, test/global-setup.ts),
 * so that `npm test` on a machine without Redis finishes with an honest result instead of failing
 * every Redis suite and then hanging:
 *
 * - TEST_REDIS_URL set: that one, as it is (unreachable, its suites fail saying so);
 * - else the local Redis at 127.0.0.1:6379, database 15, when it answers;
 * - else a private redis-server for the run, on a port from the OS, when one is installed;
 * - else none: the suites that need Redis are skipped, with a line saying which.
 *
 * The suites that start their own redis-server (test/helpers/private-redis.ts) are skipped wherever
 * redis-server is not installed. Plain JavaScript: jest.config.js reads it before any transform.
 */
const { spawn, spawnSync } = require('node:child_process');
const { readFileSync, readdirSync, statSync } = require('node:fs');
const { connect, createServer } = require('node:net');
const { join, relative } = require('node:path');

const LOCAL = { host: '127.0.0.1', port: 6379 };

function answersPing(host, port) {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.setTimeout(500, () => (socket.destroy(), resolve(false)));
    socket.on('error', () => resolve(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => (socket.destroy(), resolve(data.toString().startsWith('+PONG'))));
  });
}

function redisServerInstalled() {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** { url } when a Redis is given or running, { startPrivate: true } when one can be started, else {}; and whether redis-server is installed. */
async function redisPlan() {
  const installed = redisServerInstalled();
  if (process.env.TEST_REDIS_URL) return { url: process.env.TEST_REDIS_URL, installed };
  if (await answersPing(LOCAL.host, LOCAL.port)) return { url: `redis://${LOCAL.host}:${LOCAL.port}/15`, installed };
  return { startPrivate: installed, installed };
}

function testFiles(folder) {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The suites that use the shared Redis (helpers/redis) or start their own (helpers/private-redis). */
function suitesNeeding(testRoot, helper) {
  const imports = new RegExp(`from '(\\.\\./)+(test/)?helpers/${helper}'`);
  return testFiles(testRoot).filter((file) => imports.test(readFileSync(file, 'utf8')));
}

/**
 * For jest.config.js: returns the suites to leave out (absolute paths) and prints why. A private
 * Redis, when one is needed, is started by test/global-setup.ts (TEST_REDIS_START_PRIVATE).
 */
let planned = null;

async function planRedisForTests(testRoot) {
  // jest reads its configuration more than once per run: decide (and say it) once.
  planned = planned ?? decide(testRoot);
  return planned;
}

async function decide(testRoot) {
  const plan = await redisPlan();
  const names = (files) => files.map((file) => relative(testRoot, file)).join(', ');
  const skipped = new Set();
  const say = (line) => process.stdout.write(`${line}\n`);
  if (!plan.installed) {
    const own = suitesNeeding(testRoot, 'private-redis');
    own.forEach((file) => skipped.add(file));
    if (own.length > 0) say(`Redis: redis-server is not installed, so the suites that start their own are SKIPPED: ${names(own)}`);
  }
  if (plan.url) {
    process.env.TEST_REDIS_URL = plan.url;
  } else if (plan.startPrivate) {
    process.env.TEST_REDIS_START_PRIVATE = '1';
    say(`Redis: nothing answers at ${LOCAL.host}:${LOCAL.port}; starting a private redis-server for this run`);
  } else {
    const shared = suitesNeeding(testRoot, 'redis');
    shared.forEach((file) => skipped.add(file));
    say(
      `Redis: nothing answers at ${LOCAL.host}:${LOCAL.port} and redis-server is not installed, so the suites that need Redis are SKIPPED (set TEST_REDIS_URL or install Redis to run them): ${names(shared)}`,
    );
  }
  return [...skipped];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** test/global-setup.ts: the private redis-server, when planned; returns a function that stops it. */
async function startPrivateRedisForRun() {
  if (process.env.TEST_REDIS_START_PRIVATE !== '1') return async () => undefined;
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let attempt = 0; attempt < 50 && !(await answersPing('127.0.0.1', port)); attempt++) await new Promise((resolve) => setTimeout(resolve, 100));
  if (!(await answersPing('127.0.0.1', port))) {
    child.kill('SIGKILL');
    throw new Error(`the private redis-server for this run did not start on port ${port}`);
  }
  process.env.TEST_REDIS_URL = `redis://127.0.0.1:${port}/15`;
  return async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
}

module.exports = { planRedisForTests, startPrivateRedisForRun };
