import Redis from 'ioredis';
import { BusSigner } from '../../../src/modules/realtime/bus-auth';
import type { BusMessage } from '../../../src/modules/realtime/bus';
import { startServer, type TestServer } from '../../helpers/app';
import { eventually } from '../../helpers/client';
import { testDatabases } from '../../helpers/db';
import { client, request } from '../../helpers/http';
import { TEST_REDIS_URL, testChannel } from '../../helpers/redis';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * The attacks of issue 16 on the Redis bus, by someone who can publish on its channel but does not
 * hold BUS_SECRET: each message goes straight to the channel from a raw Redis client, unsigned or
 * signed with a wrong secret, to two instances sharing one database and Redis. Nothing forged reaches
 * a socket, no valid session is closed, the database sees no flood. The periodic check is an hour
 * away, so that what crosses between the instances came through the bus.
 */
const SECRET = 'the-deployment-bus-secret-0123456789abcdef';
const WRONG = 'a-guessed-bus-secret-0123456789abcdefghij';

/** A metric's value on one server (summed over its labels when `labels` is omitted). */
async function metric(server: TestServer, name: string, labels = ''): Promise<number> {
  const text = (await request(server.url, 'GET', '/metrics')).text;
  const pattern = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm');
  let sum = 0;
  for (const match of text.matchAll(pattern)) if (labels === '' || match[1] === `{${labels}}`) sum += Number(match[2]);
  return sum;
}

const unauthenticated = (server: TestServer) => metric(server, 'scancode_bus_dropped_messages_total', 'reason="unauthenticated"');

describe.each(testDatabases())('a forger on the Redis channel, on $name', (db) => {
  let first: TestServer;
  let second: TestServer;
  let channel: string;
  let intruder: Redis;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    channel = testChannel();
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_CHANNEL: channel, REVISION_CHECK_MS: '3600000', BUS_SECRET: SECRET };
    first = await startServer(db, { env });
    second = await startServer(db, { env, deps: { orm: first.app.services.orm } });
    intruder = new Redis(TEST_REDIS_URL);
  });
  afterEach(() => closeAll(sockets));
  afterAll(async () => {
    intruder.disconnect();
    await second.close();
    await first.close();
  });

  /** Publishes each message twice, as an intruder would: unsigned, and signed with a secret that is not the deployment's. */
  async function forge(messages: BusMessage[]): Promise<void> {
    const wrong = new BusSigner([WRONG], channel);
    const pipeline = intruder.pipeline();
    for (const message of messages) {
      const body = JSON.stringify({ from: 'intruder', message });
      pipeline.publish(channel, body);
      pipeline.publish(channel, wrong.sign(body));
    }
    await pipeline.exec();
  }

  /** Both instances have read (and refused) at least `count` more forgeries than `before`. */
  async function refusedOnBoth(before: [number, number], count: number): Promise<void> {
    await eventually(async () => (await unauthenticated(first)) >= before[0] + count && (await unauthenticated(second)) >= before[1] + count, `${count} refused messages on both instances`);
  }

  const droppedSoFar = async (): Promise<[number, number]> => [await unauthenticated(first), await unauthenticated(second)];

  /** A user with a directory, and a watcher of it on each instance. */
  async function watchers(name: string): Promise<{ token: string; userId: number; directoryId: number; watchers: TestSocket[] }> {
    const token = await first.login(name);
    const api = client(first.url, token);
    const userId = (await api.get('/api/me')).body.user.id as number;
    const directoryId = (await api.get('/api/directories')).body.directories[0].id as number;
    const both = [await connect(first.url, token), await connect(second.url, token)];
    sockets.push(...both);
    for (const watcher of both) await watcher.request({ type: 'subscribe', directoryId });
    return { token, userId, directoryId, watchers: both };
  }

  const forgedChange = (directoryId: number, userId: number, revision: number, count: number): BusMessage => ({
    type: 'change',
    directoryId,
    revision,
    change: { revision, type: 'in', code: 'rice', goods: { id: 1, code: 'rice', name: '', remarks: '', count }, delta: count, userId, nickname: '', at: new Date().toISOString() },
  });

  it('pushes no forged change at the next revision (count 999999), and the real one still arrives', async () => {
    const { token, userId, directoryId, watchers: both } = await watchers('alice');
    const before = await droppedSoFar();
    await forge([forgedChange(directoryId, userId, 1, 999_999)]);
    await refusedOnBoth(before, 2);

    expect((await client(first.url, token).post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'rice', eventId: 'a-1' } })).status).toBe(200);
    for (const watcher of both) {
      const frames = await watcher.changesUpTo(directoryId, 1);
      expect(frames.map((f) => [f.revision, f.change.goods.count])).toEqual([[1, 1]]);
    }
  });

  it('closes no watcher for a change at revision 1,000,000, forged or signed (a bug): it is checked against the database and ignored', async () => {
    const { token, userId, directoryId, watchers: both } = await watchers('bob');
    const before = await droppedSoFar();
    await forge([forgedChange(directoryId, userId, 1_000_000, 1)]);
    await refusedOnBoth(before, 2);
    // Signed with the deployment's own secret, as a buggy instance would send it: the bus lets it
    // through, the subscriptions find no such revision in the database and ignore it.
    const ignoredBefore = (await metric(first, 'scancode_bus_unfounded_changes_total')) + (await metric(second, 'scancode_bus_unfounded_changes_total'));
    await intruder.publish(channel, new BusSigner([SECRET], channel).sign(JSON.stringify({ from: 'buggy', message: forgedChange(directoryId, userId, 1_000_000, 1) })));
    await eventually(
      async () => (await metric(first, 'scancode_bus_unfounded_changes_total')) + (await metric(second, 'scancode_bus_unfounded_changes_total')) >= ignoredBefore + 2,
      'the far-ahead change ignored by both watchers',
    );

    expect((await client(second.url, token).post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'rice', eventId: 'b-1' } })).status).toBe(200);
    for (const watcher of both) {
      const frames = await watcher.changesUpTo(directoryId, 1);
      expect(frames.map((f) => [f.revision, f.change.goods.count])).toEqual([[1, 1]]);
      expect(await watcher.request({ type: 'ping' })).toMatchObject({ ok: true });
    }
  });

  it('logs no valid phone out with 300 fake session-revoked messages', async () => {
    const token = await first.login('carol');
    const userId = (await client(first.url, token).get('/api/me')).body.user.id as number;
    const phones = [await connect(first.url, token), await connect(second.url, token)];
    sockets.push(...phones);
    const before = await droppedSoFar();
    // Every session id a fresh database has handed out so far, the phones' among them.
    await forge(Array.from({ length: 300 }, (_, i): BusMessage => ({ type: 'session-revoked', userId, sessionId: i + 1 })));
    await refusedOnBoth(before, 600);

    for (const phone of phones) expect(await phone.request({ type: 'ping' })).toMatchObject({ ok: true });
    expect((await client(second.url, token).get('/api/me')).status).toBe(200);
  });

  it('pushes no fake directory deleted or membership unshared, and the watcher keeps its subscription', async () => {
    const { token, userId, directoryId, watchers: both } = await watchers('dave');
    const directory = (await client(first.url, token).get('/api/directories')).body.directories[0];
    const before = await droppedSoFar();
    await forge([
      { type: 'directory', event: 'deleted', directory, audience: [{ userId, role: 'owner' }] },
      { type: 'membership', event: 'unshared', userId, directory },
    ]);
    await refusedOnBoth(before, 4);

    // The first directory frame each socket gets is the real rename, and its subscription still delivers.
    expect((await client(first.url, token).patch(`/api/directories/${directoryId}`, { body: { name: '改名库' } })).status).toBe(200);
    expect((await client(first.url, token).post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'rice', eventId: 'd-1' } })).status).toBe(200);
    for (const watcher of both) {
      expect(await watcher.next('directory')).toMatchObject({ event: 'renamed', directory: { id: directoryId, name: '改名库' } });
      await watcher.changesUpTo(directoryId, 2);
      expect(watcher.received.filter((f) => f.type === 'directory' && f.event !== 'renamed')).toEqual([]);
      expect(watcher.received.filter((f) => f.type === 'unsubscribed')).toEqual([]);
    }
  });

  describe('20,000 resync messages', () => {
    /** Counts the statements both instances send to their shared database from now on. */
    function countStatements(): { count: () => number; stop: () => void } {
      const connection = first.app.services.orm.em.getConnection();
      const original = connection.execute;
      let count = 0;
      connection.execute = function (this: typeof connection, ...args: Parameters<typeof original>) {
        count += 1;
        return original.apply(this, args);
      } as typeof original;
      return { count: () => count, stop: () => void (connection.execute = original) };
    }

    const checks = async () => (await metric(first, 'scancode_revision_checks_total')) + (await metric(second, 'scancode_revision_checks_total'));
    const settled = async () => (await metric(first, 'scancode_revision_checks_pending')) + (await metric(second, 'scancode_revision_checks_pending')) === 0;

    /** Everything published before now has been handed to both instances' listeners: a change made on each reaches the other. */
    async function heardEverything(token: string, directoryId: number, both: TestSocket[], revision: number): Promise<void> {
      expect((await client(first.url, token).post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'mark', eventId: `m-${revision}` } })).status).toBe(200);
      await both[1].changesUpTo(directoryId, revision);
      expect((await client(second.url, token).post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'mark', eventId: `m-${revision + 1}` } })).status).toBe(200);
      await both[0].changesUpTo(directoryId, revision + 1);
      await eventually(settled, 'no check running or waiting');
    }

    it('unsigned or wrongly signed, cause no check at all, and a bystander scans meanwhile', async () => {
      const { directoryId, watchers: both, token } = await watchers('erin');
      const bystander = await first.login('frank');
      const bystanderDirectory = (await client(second.url, bystander).get('/api/directories')).body.directories[0].id as number;
      await heardEverything(token, directoryId, both, 1);
      const checksBefore = await checks();
      const statements = countStatements();
      try {
        const before = await droppedSoFar();
        const flood = forge(Array.from({ length: 10_000 }, (): BusMessage => ({ type: 'resync' })));
        const scan = await client(second.url, bystander).post(`/api/directories/${bystanderDirectory}/scans`, { body: { op: 'in', code: 'tea', eventId: 'f-1' } });
        expect(scan.status).toBe(200);
        await flood;
        await refusedOnBoth(before, 20_000);
        await heardEverything(token, directoryId, both, 3);
        expect(await checks()).toBe(checksBefore);
        // The bystander's scan and the two marks, with their reads: a few dozen statements, not 20,000.
        expect(statements.count()).toBeLessThan(200);
      } finally {
        statements.stop();
      }
    });

    it('signed with the right secret (a flapping instance), run one check at a time with one waiting, never one each', async () => {
      const { directoryId, watchers: both, token } = await watchers('gina');
      const bystander = await first.login('hugo');
      const bystanderDirectory = (await client(second.url, bystander).get('/api/directories')).body.directories[0].id as number;
      await heardEverything(token, directoryId, both, 1);
      const checksBefore = await checks();
      const statements = countStatements();
      try {
        const signer = new BusSigner([SECRET], channel);
        const text = signer.sign(JSON.stringify({ from: 'flapping', message: { type: 'resync' } }));
        const pipeline = intruder.pipeline();
        for (let i = 0; i < 20_000; i++) pipeline.publish(channel, text);
        const flood = pipeline.exec();
        const scan = await client(second.url, bystander).post(`/api/directories/${bystanderDirectory}/scans`, { body: { op: 'in', code: 'tea', eventId: 'h-1' } });
        expect(scan.status).toBe(200);
        await flood;
        await heardEverything(token, directoryId, both, 3);
        const ran = (await checks()) - checksBefore;
        expect(ran).toBeGreaterThanOrEqual(2); // each instance checked...
        expect(ran).toBeLessThan(400); // ...a few times over the flood, not 40,000 times
        expect(statements.count()).toBeLessThan(2_000);
      } finally {
        statements.stop();
      }
    });
  });
});

/**
 * Rotating BUS_SECRET one instance at a time: `old,new` on every instance first (still signing with
 * the old one, accepting both), then `new,old` (signing with the new one), then `new`. Mid-rotation,
 * instances at neighbouring steps hear each other.
 */
describe.each(testDatabases())('a BUS_SECRET rotation, on $name', (db) => {
  const OLD = 'the-old-bus-secret-0123456789abcdefghijk';
  const NEW = 'the-new-bus-secret-0123456789abcdefghijk';
  let first: TestServer;
  let second: TestServer;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_CHANNEL: testChannel(), REVISION_CHECK_MS: '3600000' };
    first = await startServer(db, { env: { ...env, BUS_SECRET: `${OLD},${NEW}` } });
    second = await startServer(db, { env: { ...env, BUS_SECRET: `${NEW},${OLD}` }, deps: { orm: first.app.services.orm } });
  });
  afterAll(async () => {
    await closeAll(sockets);
    await second.close();
    await first.close();
  });

  it('accepts messages signed with the previous secret, and those signed with the next', async () => {
    const token = await first.login('iris');
    const directoryId = (await client(first.url, token).get('/api/directories')).body.directories[0].id as number;
    const onFirst = await connect(first.url, token);
    const onSecond = await connect(second.url, token);
    sockets.push(onFirst, onSecond);
    for (const watcher of [onFirst, onSecond]) await watcher.request({ type: 'subscribe', directoryId });

    // Made on the first instance, signed with the old secret: heard by the second, already on the new one.
    expect((await client(first.url, token).post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'rice', eventId: 'r-1' } })).status).toBe(200);
    await onSecond.changesUpTo(directoryId, 1);
    // And back, signed with the new secret.
    expect((await client(second.url, token).post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'rice', eventId: 'r-2' } })).status).toBe(200);
    await onFirst.changesUpTo(directoryId, 2);
    for (const watcher of [onFirst, onSecond]) expect(watcher.revisions(directoryId)).toEqual([1, 2]);
    expect(await unauthenticated(first)).toBe(0);
    expect(await unauthenticated(second)).toBe(0);
  });
});
