import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { mysqlOnly } from '../helpers/db';
import { request } from '../helpers/http';
import { TEST_REDIS_URL, testChannel } from '../helpers/redis';
import { connect } from '../helpers/ws';

/**
 * `npm run dev:env` without Docker, as a newcomer runs it: the fake WeChat, two instances on MariaDB and
 * Redis, the proxy in front, every port from the OS; a login, a scan and a watcher through the proxy,
 * then SIGTERM stops every process it started.
 */
const root = join(__dirname, '..', '..');

/** True once `pid` is no longer a process; false if it still is after a while (a guard, not a timing). */
async function gone(pid: number): Promise<boolean> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

describe.each(mysqlOnly())('npm run dev:env on $name', (db) => {
  it('starts the fake WeChat, two instances and the proxy, serves through it, and stops them all', async () => {
    const database = await db.create();
    if (database.config.kind !== 'mysql') throw new Error('dev:env runs on MySQL/MariaDB');
    const env = {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      DEV_INSTANCE_PORTS: '0,0',
      WECHAT_FAKE_PORT: '0',
      DATABASE_URL: database.config.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_CHANNEL: testChannel(),
      LOG_FORMAT: 'json',
    };
    const devEnv = spawn(process.execPath, [join(root, 'scripts', 'dev-env.js')], { cwd: root, env });
    let output = '';
    const exited = new Promise<number | null>((resolve) => devEnv.on('exit', (code) => resolve(code)));
    try {
      const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const match = /dev env ready at (http:\/\/\S+)\n {2}instances: (\S+), (\S+) \(pids (\d+), (\d+)\)\n {2}fake WeChat: \S+ \(pid (\d+)\)/.exec(output);
          if (match) resolve(match);
        };
        devEnv.stdout.on('data', onData);
        devEnv.stderr.on('data', onData);
        void exited.then(() => reject(new Error(`dev:env ended before it was ready: ${output}`)));
      });
      const [, proxy, first, second] = ready;
      const pids = ready.slice(4).map(Number);
      expect(first).not.toBe(second);

      const login = await request(proxy, 'POST', '/api/login', { body: { code: 'dev-alice', deviceId: 'phone-1' } });
      expect(login.status).toBe(200);
      const { token, directories } = login.body;
      const watcher = await connect(proxy, token);
      await watcher.request({ type: 'subscribe', directoryId: directories[0].id });
      // Requests alternate between the instances: whichever takes the scan, the watcher hears it.
      for (const eventId of ['dev:1', 'dev:2']) {
        const scan = await request(proxy, 'POST', `/api/directories/${directories[0].id}/scans`, { token, body: { op: 'in', code: '6901234567892', eventId } });
        expect(scan.status).toBe(200);
      }
      const heard = [await watcher.next('change'), await watcher.next('change')];
      expect(heard.map((frame) => frame.change.goods.count)).toEqual([1, 2]);
      await watcher.close();

      devEnv.kill('SIGTERM');
      expect(await exited).toBe(0);
      for (const pid of pids) expect(await gone(pid)).toBe(true);
    } finally {
      if (devEnv.exitCode === null) devEnv.kill('SIGKILL');
      await database.drop();
    }
  });
});
