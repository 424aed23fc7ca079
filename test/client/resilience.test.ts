import type { ScancodeClient, SyncResult } from '../../client/src';
import { startServer, type TestServer } from '../helpers/app';
import { cutSockets, eventually, loggedEventIds, phoneOf, restartServer, serverDirectory, settled, storedToken } from '../helpers/client';
import { testDatabases } from '../helpers/db';
import { fakeWx, type FakeWx } from '../helpers/wx';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Phone {
  wx: FakeWx;
  client: ScancodeClient;
  disconnects: number;
}

function phone(server: TestServer, user: string): Phone {
  const wx = fakeWx(user);
  const client = phoneOf(server, wx, { backoff: { baseMs: 20, maxMs: 300 }, requestTimeoutMs: 5_000 });
  const made: Phone = { wx, client, disconnects: 0 };
  client.on('disconnected', () => made.disconnects++);
  return made;
}

describe.each(testDatabases())('the SDK through dropped sockets and a server restart, on $name', (db) => {
  let server: TestServer;
  const phones: Phone[] = [];

  beforeAll(async () => {
    server = await startServer(db);
  });
  afterAll(async () => {
    for (const { client } of phones) client.close();
    await server.close();
  });

  it('applies every scan exactly once, and every view ends equal to the server', async () => {
    phones.push(phone(server, 'alice'), phone(server, 'alice'));
    const [login] = await Promise.all(phones.map(({ client }) => client.login()));
    const directoryId = login.directories[0].id;
    for (const { client } of phones) client.subscribe(directoryId);
    await eventually(() => phones.every(({ client }) => client.view(directoryId)?.synced === true), 'both phones to watch the directory');

    // Two phones stream scans into one directory while the server drops every socket, a dozen times,
    // each right behind a burst (scans applied whose acks are lost), and restarts once; the scans keep
    // coming throughout. Some `out`s are refused for want of stock.
    const outcomes: Promise<SyncResult>[] = [];
    let cuts = 0;
    for (let i = 0; i < 180; i++) {
      const { client } = phones[i % 2];
      const code = `G${i % 4}`;
      outcomes.push(i % 5 === 4 ? client.scan({ directoryId, op: 'out', code, qty: 4 }) : client.scan({ directoryId, op: 'in', code, qty: 1 + (i % 3) }));
      if (i % 15 === 14 && cutSockets(server) > 0) cuts++;
      if (i === 90) await restartServer(server);
      if (i % 15 < 8) await sleep(i % 3 === 0 ? 20 : 3);
      else if (i % 15 === 13) await sleep(1); // a burst of 7, cut as it lands
    }
    const results = await Promise.all(outcomes);
    expect(cuts).toBeGreaterThanOrEqual(10);

    const token = storedToken(phones[0].wx.storage);
    for (const { client } of phones) await settled(server, client, token, directoryId);
    const { counts } = await serverDirectory(server, token, directoryId);

    // Each applied scan once: the deltas the phones were told add up to the server's counts...
    const applied = results.filter((result): result is Extract<SyncResult, { ok: true }> => result.ok);
    const sums: Record<string, number> = {};
    for (const { result } of applied) sums[result.goods.code] = (sums[result.goods.code] ?? 0) + result.delta;
    expect(sums).toEqual(counts);
    // ...and the log has each applied event id once, and no refused one.
    const logged = await loggedEventIds(server, token, directoryId);
    expect(logged.length).toBe(new Set(logged).size);
    expect(new Set(logged)).toEqual(new Set(applied.map((result) => result.eventId)));
    expect(results.filter((result) => !result.ok).every((result) => !result.ok && result.error.code === 'insufficient_stock')).toBe(true);

    for (const { client, wx, disconnects } of phones) {
      expect(client.counts(directoryId)).toEqual(counts);
      expect(client.view(directoryId)?.items.every((item) => item.pending === 0 && item.expected === item.count)).toBe(true);
      // One socket for everything, however many times it was reopened.
      expect(wx.maxOpen).toBe(1);
      expect(disconnects).toBeGreaterThanOrEqual(5);
    }
  });
});
