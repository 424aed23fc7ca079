import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { resolve } from 'node:path';
import { buildApp } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { openDatabase } from './db/orm';
import { StartupError, errorCode } from './startup-error';
import { startupSummary } from './startup-summary';
import { startFakeWechat, type FakeWechat } from './modules/wechat/fake-server';

/**
 * Where log lines go: pino-pretty's readable lines on a developer's terminal, JSON otherwise (a pipe, a
 * log collector, production). pino-pretty is a dev dependency, loaded only when it is wanted, so that a
 * production install (`npm ci --omit=dev`) starts without it.
 */
function logStream(config: Config): NodeJS.WritableStream | undefined {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === null && process.stdout.isTTY === true && config.env !== 'production');
  if (!pretty) return undefined;
  let pinoPretty: typeof import('pino-pretty');
  try {
    pinoPretty = require('pino-pretty') as typeof import('pino-pretty');
  } catch {
    if (config.logFormat === 'pretty') throw new StartupError('LOG_FORMAT', 'pretty needs pino-pretty, a dev dependency this install does not have (npm ci --omit=dev); use json');
    return undefined;
  }
  // Synchronous, so that the last lines before an exit are not lost; only ever on a terminal. A
  // request's line says in its message what its fields say (src/plugins/request-log.ts): one line each.
  return pinoPretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,reqId,req,res,responseTime', sync: true });
}

/**
 * Listens where PORT and HOST say. An address that cannot be had is the operator's to fix, so it is one
 * line naming the variables and the address, not a stack: most often a server still running from
 * before.
 */
async function listen(app: FastifyInstance, config: Config): Promise<void> {
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    const address = `${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
    const code = errorCode(error);
    if (code === 'EADDRINUSE') {
      throw new StartupError('PORT', `${address} (HOST:PORT) is already in use, most likely by a scancode still running; stop it, or choose another PORT or HOST`);
    }
    if (code === 'EACCES') throw new StartupError('PORT', `${address} (HOST:PORT) needs privileges this process does not have; choose a PORT above 1023`);
    if (code === 'EADDRNOTAVAIL') throw new StartupError('HOST', `${config.host} is not an address of this machine (${code})`);
    throw error;
  }
}

/** The entry point: read config, open the database, start the dev WeChat fake if needed, build, listen, shut down cleanly. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`scancode: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // The default (./data/scancode.db) lands wherever the service happens to start, where a redeploy or a
  // clean working folder loses it: production names its database.
  if (config.env === 'production' && !process.env.DATABASE_URL?.trim()) {
    throw new StartupError(
      'DATABASE_URL',
      `is required when NODE_ENV=production (file:/var/lib/scancode/scancode.db, or mysql://user:password@host:3306/scancode); without it the database would be ${resolve('data', 'scancode.db')}, under the working folder`,
    );
  }
  const stream = logStream(config);

  // Opened here rather than by buildApp, so that production refuses a MySQL database that does not
  // exist (a misspelt name in DATABASE_URL) instead of creating an empty one; dev and tests create it.
  let migrations: string[] = [];
  const orm = await openDatabase(config.database, { createDatabase: config.env !== 'production', onMigrated: (names) => (migrations = names) });

  let fake: FakeWechat | null = null;
  if (config.wechat.devLogin && config.wechat.apiBase === null) {
    fake = await startFakeWechat({ appId: config.wechat.appId, secret: config.wechat.secret });
    config = { ...config, wechat: { ...config.wechat, apiBase: fake.apiBase } };
  }

  const app = await buildApp(config, { orm, ...(stream ? { logStream: stream } : {}) });
  if (config.wechat.devLogin) {
    app.log.warn(
      { wechatApiBase: config.wechat.apiBase },
      '*** DEV LOGIN: no WECHAT_APPID/WECHAT_SECRET, so logins go to a fake WeChat; any code such as "dev-alice" logs in. Never use this in production. ***',
    );
  }

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down');
    await app.close();
    await orm.close();
    await fake?.close();
  });

  const summary = startupSummary(config, migrations);
  app.log.info({ startup: summary.facts }, summary.line);
  await listen(app, config);
}

main().catch((error: unknown) => {
  // An operator's mistake (unreachable database or Redis, missing database) is one line naming the
  // variable; anything else is a bug, with its stack.
  const detail = error instanceof StartupError ? error.message : `failed to start: ${error instanceof Error ? error.stack : String(error)}`;
  process.stderr.write(`scancode: ${detail}\n`);
  process.exit(1);
});
