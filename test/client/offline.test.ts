import type { SyncResult } from '../../client/src';
import type { TestServer } from '../helpers/app';
import { cutSockets, eventually, loggedEventIds, sdkSuite, serverDirectory, settled, storedToken } from '../helpers/client';
import { testDatabases } from '../helpers/db';
import { fakeWx } from '../helpers/wx';

describe.each(testDatabases())('the SDK offline, on $name', (db) => {
  const suite = sdkSuite(db);
  let server: TestServer;
  beforeEach(() => (server = suite.server()));

  it('shows scans as pending while nothing reaches the server, flushes them over POST /api/sync when the socket cannot open, and catches up once it can', async () => {
    const wx = fakeWx('carol');
    const phone = suite.phone(wx);
    let syncedOverHttp = false;
    phone.on('connectivity', ({ syncing }) => (syncedOverHttp ||= syncing));
    const directoryId = (await phone.login()).directories[0].id;
    phone.subscribe(directoryId);
    await phone.scan({ directoryId, op: 'in', code: 'K', qty: 5 });
    await eventually(() => phone.view(directoryId)?.items[0]?.count === 5, 'the first scan in the view');

    // No network at all: the socket drops and cannot come back, HTTP fails too.
    wx.network = { socket: 'blocked', http: 'down' };
    cutSockets(server);
    const offline = [
      phone.scan({ directoryId, op: 'out', code: 'K', qty: 2 }),
      phone.scan({ directoryId, op: 'in', code: 'NEW', qty: 3 }),
      phone.scan({ directoryId, op: 'out', code: 'NEW', qty: 9 }),
    ];
    const ids = phone.pending().map((entry) => entry.event.eventId);
    expect(ids).toHaveLength(3);
    // The server's counts, and what the pending scans will make of them.
    expect(phone.view(directoryId)?.items).toEqual([
      expect.objectContaining({ code: 'K', count: 5, pending: 1, expected: 3 }),
      expect.objectContaining({ code: 'NEW', goods: null, count: 0, pending: 2, expected: 0 }),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(phone.pending()).toHaveLength(3);

    // HTTP comes back, the socket still cannot open: the outbox goes over POST /api/sync.
    wx.network.http = 'up';
    const results: SyncResult[] = await Promise.all(offline);
    expect(wx.requests).toContain('POST /api/sync');
    expect(syncedOverHttp).toBe(true);
    expect(results.map((result) => result.eventId)).toEqual(ids);
    expect(results.map((result) => (result.ok ? result.result.delta : result.error.code))).toEqual([-2, 3, 'insufficient_stock']);
    expect(phone.status).not.toBe('online');
    // The view has not heard of them (no socket), so they still show as pending, at their acked counts.
    expect(phone.view(directoryId)?.items).toEqual([
      expect.objectContaining({ code: 'K', count: 5, pending: 1, expected: 3 }),
      expect.objectContaining({ code: 'NEW', count: 0, pending: 1, expected: 3 }),
    ]);

    // The socket opens again: the view resumes from its revision and equals the server.
    wx.network.socket = 'up';
    phone.reconnectNow();
    const token = storedToken(wx.storage);
    await settled(server, phone, token, directoryId);
    expect(phone.counts(directoryId)).toEqual((await serverDirectory(server, token, directoryId)).counts);
    expect(phone.counts(directoryId)).toEqual({ K: 3, NEW: 3 });
    expect(phone.view(directoryId)?.items.every((item) => item.pending === 0)).toBe(true);
  });

  it('resends the outbox of a killed app with the same event ids: once applied, whichever copy arrived', async () => {
    const wx = fakeWx('dave');
    const first = suite.phone(wx);
    const directoryId = (await first.login()).directories[0].id;
    await eventually(() => first.status === 'online', 'online');
    const token = storedToken(wx.storage);

    // The network dies right after the scans leave: the server applies them, their acks are lost (and
    // HTTP is down, so that a phone tired of waiting cannot learn their outcome from /api/sync)...
    wx.network.socket = 'deaf';
    wx.network.http = 'down';
    for (let i = 0; i < 4; i++) void first.scan({ directoryId, op: 'in', code: `R${i % 2}`, qty: 1 + i });
    await eventually(async () => (await serverDirectory(server, token, directoryId)).revision === 4, 'the server to apply the 4 scans');
    // ...then two more never leave the phone...
    wx.network = { socket: 'blocked', http: 'down' };
    cutSockets(server);
    await eventually(() => first.status !== 'online', 'the socket to drop');
    void first.scan({ directoryId, op: 'in', code: 'R0', qty: 10 });
    void first.scan({ directoryId, op: 'in', code: 'R9', qty: 1 });
    const queued = first.pending().map((entry) => entry.event.eventId);
    expect(queued).toHaveLength(6);
    // ...and the app is killed.
    first.close();

    // Started again over the same storage, with the network back.
    wx.network = { socket: 'up', http: 'up' };
    const second = suite.phone(wx);
    expect(second.deviceId).toBe(first.deviceId);
    expect(second.pending().map((entry) => entry.event.eventId)).toEqual(queued);
    const acked: { eventId: string; duplicate: boolean }[] = [];
    second.on('acked', ({ entry, result }) => acked.push({ eventId: entry.event.eventId, duplicate: result.duplicate }));
    second.subscribe(directoryId);
    second.connect();
    await settled(server, second, token, directoryId);

    expect(acked).toEqual(queued.map((eventId, index) => ({ eventId, duplicate: index < 4 })));
    expect(await loggedEventIds(server, token, directoryId)).toEqual(queued);
    expect((await serverDirectory(server, token, directoryId)).counts).toEqual({ R0: 1 + 3 + 10, R1: 2 + 4, R9: 1 });
    expect(second.counts(directoryId)).toEqual({ R0: 14, R1: 6, R9: 1 });
    // A scan made now gets an event id never used before.
    const next = await second.scan({ directoryId, op: 'in', code: 'R9' });
    expect(queued).not.toContain(next.eventId);
    expect(next).toMatchObject({ ok: true, result: { duplicate: false } });
  });
});
