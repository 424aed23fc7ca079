import type { ClientStatus, Connectivity } from '../../client/src';
import type { TestServer } from '../helpers/app';
import { cutSockets, eventually, sdkSuite } from '../helpers/client';
import { testDatabases } from '../helpers/db';
import { fakeWx } from '../helpers/wx';

describe.each(testDatabases())('the SDK status a page shows, on $name', (db) => {
  const suite = sdkSuite(db);
  let server: TestServer;
  beforeEach(() => (server = suite.server()));

  it('stays offline through failed attempts (they show in connectivity), and goes connecting only after an online socket ends', async () => {
    const wx = fakeWx('grace');
    const phone = suite.phone(wx);
    const directoryId = (await phone.login()).directories[0].id;
    await eventually(() => phone.status === 'online', 'online');
    const statuses: ClientStatus[] = [];
    const seen: Connectivity[] = [];
    phone.on('status', (status) => statuses.push(status));
    phone.on('connectivity', (connectivity) => seen.push(connectivity));

    // The network goes: the socket drops and cannot come back; a scan waits, and goes over HTTP.
    wx.network.socket = 'blocked';
    cutSockets(server);
    const scanned = phone.scan({ directoryId, op: 'in', code: 'S1' });
    await eventually(() => phone.connectivity.failures >= 4, 'four failed attempts');
    expect(await scanned).toMatchObject({ ok: true });
    // One change of status for the whole outage, whatever happens beneath it.
    expect(statuses).toEqual(['connecting', 'offline']);
    expect(seen.filter((connectivity) => connectivity.attempting).length).toBeGreaterThanOrEqual(4);
    expect(seen.some((connectivity) => connectivity.syncing && connectivity.status === 'offline')).toBe(true);
    expect(seen.some((connectivity) => connectivity.nextAttemptAt !== null)).toBe(true);
    expect(phone.connectivity.lastClose).toEqual({ code: 1006, reason: expect.stringMatching(/.+/) });

    // Back: online at the next attempt, and the attempts are forgotten.
    wx.network.socket = 'up';
    phone.reconnectNow();
    await eventually(() => phone.status === 'online', 'online again');
    expect(statuses).toEqual(['connecting', 'offline', 'online']);
    expect(phone.connectivity).toMatchObject({ status: 'online', failures: 0, attempting: false, nextAttemptAt: null });

    // A socket that ends while the network is fine (a deploy, a lost NAT): connecting, then online.
    cutSockets(server);
    await eventually(() => statuses.length === 5, 'a reconnection');
    expect(statuses).toEqual(['connecting', 'offline', 'online', 'connecting', 'online']);
  });

  it('says why the server closed a socket with 1009 (a frame over its limit)', async () => {
    const wx = fakeWx('heidi');
    const phone = suite.phone(wx);
    const directoryId = (await phone.login()).directories[0].id;
    await eventually(() => phone.status === 'online', 'online');
    const closes: { code: number; reason: string }[] = [];
    phone.on('disconnected', (close) => closes.push(close));

    const huge = phone.request({ type: 'lookup', directoryId, code: 'x'.repeat(70 * 1024) });
    await expect(huge).rejects.toMatchObject({ code: 'disconnected', closeCode: 1009, message: expect.stringMatching(/1009.*size limit/) });
    expect(closes).toEqual([{ code: 1009, reason: expect.stringMatching(/size limit \(64 KiB\)/) }]);
    // Not a failure of the network: the client comes back by itself.
    await eventually(() => phone.status === 'online', 'online again');
  });
});
