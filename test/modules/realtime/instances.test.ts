import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { TEST_REDIS_URL, testChannel } from '../../helpers/redis';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * Two server instances over one database, fanning out through the real Redis (REDIS_URL): a watcher on
 * one instance sees every change made through the other, each revision once and in order. The periodic
 * check with the database (REVISION_CHECK_MS) is an hour away, so that whatever crosses between the
 * instances within a test came through the bus: with Redis fan-out broken these tests fail, where the
 * default 5 s check would have delivered the changes anyway.
 */
describe.each(testDatabases())('two instances sharing Redis, on $name', (db) => {
  let first: TestServer;
  let second: TestServer;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_CHANNEL: testChannel(), REVISION_CHECK_MS: '3600000' };
    first = await startServer(db, { env });
    second = await startServer(db, { env, deps: { orm: first.app.services.orm } });
  });
  afterEach(() => closeAll(sockets));
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  it('delivers a change made on one instance to a watcher on the other, with the writer acked', async () => {
    const token = await first.login('alice');
    const directoryId = (await client(first.url, token).get('/api/directories')).body.directories[0].id as number;
    const watcher = await connect(first.url, token);
    const writer = await connect(second.url, token);
    sockets.push(watcher, writer);
    await watcher.request({ type: 'subscribe', directoryId });

    const ack = await writer.request({ type: 'scan', id: 'w-1', directoryId, op: 'in', code: '6901234567892', qty: 2 });
    expect(ack.result).toMatchObject({ revision: 1, delta: 2, duplicate: false });
    const [frame] = await watcher.changesUpTo(directoryId, 1);
    expect(frame.change).toMatchObject({ revision: 1, type: 'in', code: '6901234567892', delta: 2, eventId: 'w-1' });

    const directory = (await client(second.url, token).post('/api/directories', { body: { name: '二号库' } })).body.directory;
    expect((await watcher.next('directory')).directory).toEqual(directory);
  });

  it('gives watchers on both instances every revision once, in order, while 10 devices write through both', async () => {
    const token = await first.login('bob');
    const directoryId = (await client(first.url, token).get('/api/directories')).body.directories[0].id as number;
    const watchers = await Promise.all([first, first, second, second].map((server) => connect(server.url, token)));
    sockets.push(...watchers);
    for (const watcher of watchers) await watcher.request({ type: 'subscribe', directoryId });

    const writers = await Promise.all(Array.from({ length: 10 }, (_, i) => connect((i % 2 ? second : first).url, token)));
    sockets.push(...writers);
    const perWriter = 8;
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let n = 0; n < perWriter; n++) {
          const ack = await writer.request({ type: 'scan', id: `b-${w}-${n}`, directoryId, op: 'in', code: `code-${n % 3}` });
          expect(ack.ok).toBe(true);
        }
      }),
    );
    const total = writers.length * perWriter;
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    for (const watcher of watchers) {
      const frames = await watcher.changesUpTo(directoryId, total);
      expect(frames.map((f) => f.revision)).toEqual(expected);
    }
  });

  it('closes a socket on one instance with 4401 when its session logs out through the other', async () => {
    const token = await first.login('carol');
    const socket = await connect(first.url, token);
    sockets.push(socket);
    expect((await client(second.url, token).post('/api/logout')).status).toBe(204);
    expect(await socket.closed).toMatchObject({ code: 4401 });
  });
});
