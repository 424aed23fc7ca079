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
    // No periodic check within the test: what reaches the other instance comes through the bus, or
    // through the check that a reconnect to Redis sets off.
    const quiet = { REDIS_CHANNEL: channel, REVISION_CHECK_MS: '3600000' };
    first = await startServer(db, { env: { REDIS_URL: relay.rewrite(TEST_REDIS_URL), ...quiet } });
    // The second instance reaches Redis directly: only the first one loses it.
    second = await startServer(db, { env: { REDIS_URL: TEST_REDIS_URL, ...quiet }, deps: { orm: first.app.services.orm } });
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

  it("a logout while Redis is away closes that session's socket on the other instance as soon as Redis is back", async () => {
    const token = await first.login('bob');
    const elsewhere = await connect(second.url, token);
    const kept = await connect(second.url, await first.login('bob'));
    sockets.push(elsewhere, kept);

    await relay.cut();
    // Answered at once; its announcement to the other instance is lost with the connection.
    expect((await client(first.url, token).post('/api/logout')).status).toBe(204);
    expect(await kept.request({ type: 'ping' })).toMatchObject({ ok: true });
    expect(await elsewhere.request({ type: 'ping' })).toMatchObject({ ok: true });
    await relay.restore();

    // Back on Redis, the first instance asks every instance to check with the database: the revoked
    // session's socket is closed (the periodic check is an hour away), the other session's stays.
    expect(await elsewhere.closed).toMatchObject({ code: 4401 });
    expect(await kept.request({ type: 'ping' })).toMatchObject({ ok: true });
  });
});
