#!/usr/bin/env node
'use strict';
/**
 * `npm run dev:env`: the whole system on this machine, without Docker (compose.yaml is the same with
 * Docker): the fake WeChat as a process of its own, two server instances sharing this machine's MariaDB
 * and Redis, and a small proxy in front (scripts/dev-proxy.js) that sends requests and sockets to them in
 * turn. Ctrl-C (or SIGTERM) stops everything it started.
 *
 *   PORT               the proxy, where clients go (3000)
 *   DEV_INSTANCE_PORTS the two instances (3001,3002)
 *   WECHAT_FAKE_PORT   the fake WeChat (3901)
 *   DATABASE_URL       mysql://root@127.0.0.1:3306/scancode_dev (made if missing)
 *   REDIS_URL          redis://127.0.0.1:6379 (REDIS_CHANNEL scancode:dev)
 *
 * Any port may be 0 (one from the OS). The line `dev env ready at <url>` says where it listens.
 */
const { spawn } = require('node:child_process');
const { join } = require('node:path');
const { startProxy } = require('./dev-proxy');

const root = join(__dirname, '..');
const env = process.env;
const settings = {
  proxyPort: Number(env.PORT ?? 3000),
  instancePorts: (env.DEV_INSTANCE_PORTS ?? '3001,3002').split(',').map((port) => Number(port.trim())),
  wechatPort: env.WECHAT_FAKE_PORT ?? '3901',
  databaseUrl: env.DATABASE_URL || 'mysql://root@127.0.0.1:3306/scancode_dev',
  redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
  redisChannel: env.REDIS_CHANNEL || 'scancode:dev',
};

const children = [];
let stopping = false;

/**
 * Starts an entry through scripts/start.js (which builds dist/ first if it is stale), its output
 * prefixed with its name; resolves with the first match of `ready` in its output.
 */
function run(name, entry, extraEnv, ready) {
  const child = spawn(process.execPath, [join(root, 'scripts', 'start.js'), entry], { cwd: root, env: { ...env, ...extraEnv } });
  children.push({ name, child });
  let seen = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      const text = chunk.toString();
      for (const line of text.split('\n')) if (line !== '') process.stdout.write(`[${name}] ${line}\n`);
      seen += text;
      const match = ready.exec(seen);
      if (match) {
        resolve(match[1]);
        seen = '';
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      reject(new Error(`${name} ended (${signal ?? `exit ${code}`}) before it was ready`));
      process.stderr.write(`dev env: ${name} ended (${signal ?? `exit ${code}`}); stopping the rest\n`);
      void stop(1);
    });
  });
}

let proxy = null;

async function stop(exitCode) {
  if (stopping) return;
  stopping = true;
  await proxy?.stop();
  await Promise.all(
    children.map(({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return undefined;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    }),
  );
  process.exit(exitCode);
}

async function main() {
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  const listening = /Server listening at (http:\/\/[^\s"]+)/;
  const pretty = process.stdout.isTTY && env.LOG_FORMAT === undefined ? { LOG_FORMAT: 'pretty' } : {};

  const wechat = await run('wechat', 'dist/src/modules/wechat/fake-cli.js', { WECHAT_FAKE_PORT: settings.wechatPort, HOST: '127.0.0.1' }, /fake WeChat listening at (http:\/\/\S+)/);
  const instanceEnv = {
    ...pretty,
    HOST: '127.0.0.1',
    DATABASE_URL: settings.databaseUrl,
    REDIS_URL: settings.redisUrl,
    REDIS_CHANNEL: settings.redisChannel,
    WECHAT_API_BASE: wechat,
  };
  // One after the other: the first applies the migrations, the second finds them done.
  const instances = [];
  for (const [index, port] of settings.instancePorts.entries()) {
    instances.push(await run(`instance ${index + 1}`, 'dist/src/main.js', { ...instanceEnv, PORT: String(port) }, listening));
  }
  proxy = await startProxy(settings.proxyPort, instances);
  const { port } = proxy.address();
  process.stdout.write(
    [
      `dev env ready at http://127.0.0.1:${port}`,
      `  instances: ${instances.join(', ')} (pids ${children
        .filter((c) => c.name.startsWith('instance'))
        .map((c) => c.child.pid)
        .join(', ')})`,
      `  fake WeChat: ${wechat} (pid ${children[0].child.pid}); any code such as "dev-alice" logs in`,
      `  database: ${settings.databaseUrl.replace(/:[^:@/]*@/, '@')}; redis: ${settings.redisUrl.replace(/:[^:@/]*@/, '@')} (channel ${settings.redisChannel})`,
      '  Ctrl-C stops it all',
    ].join('\n') + '\n',
  );
}

main().catch((error) => {
  process.stderr.write(`dev env: ${error instanceof Error ? error.message : String(error)}\n`);
  void stop(1);
});
