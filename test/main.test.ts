import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { mysqlOnly } from './helpers/db';
import { request } from './helpers/http';
import { freePort } from './helpers/ports';
import { entry, root, spawnServer } from './helpers/server-process';

/**
 * The entry point as `npm start` runs it: compiled, in its own process, with no configuration but a
 * database path, so the dev login (the fake WeChat on loopback) must work on its own.
 */

/** The production settings besides the ones a test is about. */
const production = { NODE_ENV: 'production', WECHAT_APPID: 'wxopsprobe0000000', WECHAT_SECRET: 'ops-secret' };
const MYSQL_URL = process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/scancode_test';

describe('the server process (npm start)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scancode-main-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts on the embedded default with a dev login, and stops cleanly on SIGTERM', async () => {
    const server = spawnServer({ DATABASE_URL: `file:${join(dir, 'scancode.db')}` });
    const url = await server.listening;
    const login = await request(url, 'POST', '/api/login', { body: { code: 'dev-alice' } });
    expect(login.status).toBe(200);
    const me = await request(url, 'GET', '/api/me', { token: login.body.token });
    expect(me.body.directories.map((d: { name: string }) => d.name)).toEqual(['默认']);
    expect(server.output()).toContain('DEV LOGIN');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('refuses to start in production without WeChat credentials, naming the variable', async () => {
    const server = spawnServer({ NODE_ENV: 'production', DATABASE_URL: `file:${join(dir, 'prod.db')}` });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('WECHAT_APPID');
  });

  it('does not start when Redis cannot be reached, naming REDIS_URL and the address', async () => {
    const port = await freePort();
    const server = spawnServer({ DATABASE_URL: `file:${join(dir, 'redis.db')}`, REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain(`scancode: REDIS_URL: cannot reach redis at 127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it('does not start when MySQL cannot be reached, naming DATABASE_URL and the address but never the password', async () => {
    const port = await freePort();
    const server = spawnServer({ ...production, DATABASE_URL: `mysql://scancode:pa55-word@127.0.0.1:${port}/scancode` });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain(`scancode: DATABASE_URL: cannot reach mysql at 127.0.0.1:${port} (ECONNREFUSED)`);
    expect(server.output()).not.toContain('pa55-word');
  });

  it('runs dist/ without compiling when it is newer than the sources (npm start)', async () => {
    // dist/ is current (test/global-setup.ts wrote it): a start fails at once on a bad setting, and must not build first.
    const builtAt = statSync(entry).mtimeMs;
    const server = spawnServer({ LOG_FORMAT: 'xml' }, [join(root, 'scripts', 'start.js')]);
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('LOG_FORMAT must be pretty or json');
    expect(server.output()).not.toContain('building');
    expect(statSync(entry).mtimeMs).toBe(builtAt);
  });
});

describe.each(mysqlOnly())('the server process in production on $name', () => {
  it('refuses a MySQL database that does not exist, naming it, and does not create it', async () => {
    const url = new URL(MYSQL_URL);
    const name = `${url.pathname.slice(1)}_missing_${randomBytes(4).toString('hex')}`;
    url.pathname = `/${name}`;
    const server = spawnServer({ ...production, DATABASE_URL: url.toString() });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain(`scancode: DATABASE_URL: database "${name}" does not exist on mysql at ${url.hostname}:${url.port || 3306}`);
    url.pathname = '/';
    const admin = await mysql.createConnection(url.toString());
    try {
      const [rows] = await admin.query('select schema_name from information_schema.schemata where schema_name = ?', [name]);
      expect(rows).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});
