import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client, request } from '../../helpers/http';
import { TEST_REDIS_URL, testChannel } from '../../helpers/redis';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * Per-directory subscription on one Redis: an instance subscribes to the channels of the directories
 * its sockets watch (and of its users), so it receives their messages and no others'. Two instances
 * over one database; the periodic check is an hour away, so that what reaches a watcher came through
 * the bus.
 */
const [db] = testDatabases();

/** scancode_bus_messages_received_total{scope} on one server. */
async function received(server: TestServer, scope: 'directory' | 'user' | 'global'): Promise<number> {
  const text = (await request(server.url, 'GET', '/metrics')).text;
  const match = new RegExp(`^scancode_bus_messages_received_total\\{scope="${scope}"\\} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

describe(`per-directory subscription on one Redis, on ${db.name}`, () => {
  let first: TestServer;
  let second: TestServer;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_CHANNEL: testChannel(), REVISION_CHECK_MS: '3600000', BUS_SECRET: 'the-bus-secret-of-this-suite-0123456789' };
    first = await startServer(db, { env });
    second = await startServer(db, { env, deps: { orm: first.app.services.orm } });
  });
  afterEach(() => closeAll(sockets));
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  it("delivers a change to the other instance's watchers, and that instance receives no message of a directory none of its sockets watches", async () => {
    const token = await first.login('alice');
    const api = client(first.url, token);
    const watched = (await api.get('/api/directories')).body.directories[0].id as number;
    const unwatched = (await api.post('/api/directories', { body: { name: '无人看' } })).body.directory.id as number;
    const watcher = await connect(second.url, token);
    sockets.push(watcher);
    await watcher.request({ type: 'subscribe', directoryId: watched });
    const before = await received(second, 'directory');

    // Published in this order by one instance on one connection: once the second change is heard,
    // the first would have arrived before it, had the second instance been subscribed to it.
    expect((await api.post(`/api/directories/${unwatched}/scans`, { body: { op: 'in', code: 'rice', eventId: 'u-1' } })).status).toBe(200);
    expect((await api.post(`/api/directories/${watched}/scans`, { body: { op: 'in', code: 'rice', eventId: 'w-1' } })).status).toBe(200);
    const [frame] = await watcher.changesUpTo(watched, 1);
    expect(frame.change).toMatchObject({ revision: 1, eventId: 'w-1' });
    expect(await received(second, 'directory')).toBe(before + 1);
    expect(watcher.changes(unwatched)).toEqual([]);
  });

  it('stops receiving a directory once its last watcher on the instance unsubscribes, and receives it again on a new subscribe', async () => {
    const token = await first.login('bob');
    const api = client(first.url, token);
    const kept = (await api.get('/api/directories')).body.directories[0].id as number;
    const left = (await api.post('/api/directories', { body: { name: '离开' } })).body.directory.id as number;
    const watchers = [await connect(second.url, token), await connect(second.url, token)];
    sockets.push(...watchers);
    for (const watcher of watchers) {
      await watcher.request({ type: 'subscribe', directoryId: kept });
      await watcher.request({ type: 'subscribe', directoryId: left });
    }
    const scan = (directoryId: number, eventId: string) => api.post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'tea', eventId } });

    // One watcher leaves: the other still watches, and the instance still receives it.
    await watchers[0].request({ type: 'unsubscribe', directoryId: left });
    expect((await scan(left, 'l-1')).status).toBe(200);
    await watchers[1].changesUpTo(left, 1);

    // The last one leaves: a change of that directory, then one of the kept directory, and only the second arrives.
    await watchers[1].request({ type: 'unsubscribe', directoryId: left });
    const before = await received(second, 'directory');
    expect((await scan(left, 'l-2')).status).toBe(200);
    expect((await scan(kept, 'k-1')).status).toBe(200);
    for (const watcher of watchers) await watcher.changesUpTo(kept, 1);
    expect(await received(second, 'directory')).toBe(before + 1);

    // Subscribing again starts from the log and follows the bus again.
    await watchers[0].request({ type: 'subscribe', directoryId: left, since: 1 });
    await watchers[0].changesUpTo(left, 2);
    expect((await scan(left, 'l-3')).status).toBe(200);
    await watchers[0].changesUpTo(left, 3);
  });

  it("pushes a user's directory events to their sockets on the other instance through the user's channel, not to another user's instance", async () => {
    const alice = await first.login('carol');
    const other = await first.login('dave');
    const onSecond = await connect(second.url, alice);
    const bystander = await connect(first.url, other);
    sockets.push(onSecond, bystander);
    const userBefore = await received(first, 'user');

    const created = (await client(first.url, alice).post('/api/directories', { body: { name: '三号库' } })).body.directory;
    expect((await onSecond.next('directory')).directory).toEqual(created);
    // The first instance has a socket of dave only: carol's channel is not one it listens to (its own
    // publish is delivered locally, not heard back).
    expect(await received(first, 'user')).toBe(userBefore);
  });
});
