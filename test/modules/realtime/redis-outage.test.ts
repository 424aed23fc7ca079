import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { TEST_REDIS_URL, testChannel } from '../../helpers/redis';
import { startRelayFor, type Relay } from '../../helpers/relay';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * Redis reached through a relay the test cuts: scans keep being accepted and this instance's watchers
 * keep getting them; a watcher on the other instance misses the live messages while Redis is away and
 * gets every one of them, in order, from the log as soon as it hears the next change.
 */
describe.each(testDatabases())('Redis going away, on $name', (db) => {
  let first: TestServer;
  let second: TestServer;
  let relay: Relay;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    relay = await startRelayFor(TEST_REDIS_URL, 6379);
    const channel = testChannel();
    first = await startServer(db, { env: { REDIS_URL: relay.rewrite(TEST_REDIS_URL), REDIS_CHANNEL: channel } });
    // The second instance reaches Redis directly: only the first one loses it.
    second = await startServer(db, { env: { REDIS_URL: TEST_REDIS_URL, REDIS_CHANNEL: channel }, deps: { orm: first.app.services.orm } });
  });
  afterAll(async () => {
    await closeAll(sockets);
    await second.close();
    await first.close();
    await relay.close();
  });

  it('never fails a scan, and no watcher misses a revision', async () => {
    const token = await first.login('alice');
    const api = client(first.url, token);
    const directoryId = (await api.get('/api/directories')).body.directories[0].id as number;
    const local = await connect(first.url, token);
    const remote = await connect(second.url, token);
    sockets.push(local, remote);
    for (const watcher of [local, remote]) await watcher.request({ type: 'subscribe', directoryId });

    const scan = (n: number) => api.post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'rice', eventId: `o-${n}` } });
    expect((await scan(1)).status).toBe(200);
    await remote.changesUpTo(directoryId, 1);

    await relay.cut();
    for (let n = 2; n <= 4; n++) expect((await scan(n)).status).toBe(200);
    await local.changesUpTo(directoryId, 4);
    await relay.restore();

    // The next change the remote instance hears brings the three it missed with it, from the log.
    await client(second.url, token).post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'rice', eventId: 'o-5' } });
    for (const watcher of [local, remote]) {
      const frames = await watcher.changesUpTo(directoryId, 5);
      expect(frames.map((f) => [f.revision, f.change.goods.count])).toEqual([1, 2, 3, 4, 5].map((r) => [r, r]));
    }
  });
});
