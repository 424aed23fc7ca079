import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { openDatabase } from '../../src/db/orm';
import { startFakeWechat, type FakeWechat } from '../../src/modules/wechat/fake-server';
import type { TestDatabase } from './db';
import { request } from './http';

export const TEST_APPID = 'wxtestappid000001';

export interface TestServer {
  app: FastifyInstance;
  config: Config;
  fake: FakeWechat;
  /** http://127.0.0.1:<port> of the listening server. */
  url: string;
  /** Logs a user in through the fake WeChat (`name#n` codes) and returns the token. */
  login(name: string, body?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export interface StartOptions {
  config?: Partial<Config>;
  /** Logins go to the fake as in dev mode (no WeChat credentials): undecryptable profiles are let through. */
  devLogin?: boolean;
  deps?: AppDeps;
  env?: Record<string, string>;
}

let codeCounter = 0;

/** A real server on 127.0.0.1, port 0, over a fresh database, with the fake WeChat on loopback. */
export async function startServer(db: TestDatabase, options: StartOptions = {}): Promise<TestServer> {
  const database = await db.create();
  const fake = await startFakeWechat({ appId: TEST_APPID, secret: 'test-secret' });
  const base = loadConfig({ NODE_ENV: 'test', WECHAT_APPID: TEST_APPID, WECHAT_SECRET: 'test-secret', WECHAT_API_BASE: fake.apiBase, LOG_LEVEL: 'silent', ...options.env });
  const config: Config = { ...base, database: database.config, host: '127.0.0.1', port: 0, ...options.config };
  if (options.devLogin) config.wechat = { ...config.wechat, devLogin: true };
  // The database is opened here, as src/main.ts does, so that a server that cannot start (Redis
  // unreachable...) leaves nothing open behind it: its pool and the fake WeChat's listener kept jest
  // from exiting after such a failure.
  const ownOrm = options.deps?.orm ? null : await openDatabase(config.database);
  const app = await buildApp(config, { ...options.deps, ...(ownOrm ? { orm: ownOrm } : {}) }).catch(async (error: unknown) => {
    await ownOrm?.close();
    await fake.close();
    await database.drop();
    throw error;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('server did not bind');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    app,
    config,
    fake,
    url,
    async login(name, body = {}) {
      const answer = await request<{ token?: string }>(url, 'POST', '/api/login', { body: { code: `${name}#${++codeCounter}`, ...body } });
      if (answer.status !== 200 || !answer.body.token) throw new Error(`login failed: ${answer.status} ${answer.text}`);
      return answer.body.token;
    },
    async close() {
      await app.close();
      await ownOrm?.close();
      await fake.close();
      await database.drop();
    },
  };
}
