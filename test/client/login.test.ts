import type { TestServer } from '../helpers/app';
import { eventually, sdkSuite, serverDirectory, settled, storedToken } from '../helpers/client';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { fakeWx } from '../helpers/wx';

describe.each(testDatabases())('the SDK logging in and out, on $name', (db) => {
  const suite = sdkSuite(db);
  let server: TestServer;
  beforeEach(() => (server = suite.server()));

  it('asks for a login without a token, logs in with wx.login, and keeps one deviceId per install', async () => {
    const wx = fakeWx('erin');
    const phone = suite.phone(wx);
    const reasons: string[] = [];
    phone.on('loginRequired', ({ reason }) => reasons.push(reason));
    phone.connect();
    expect(reasons).toEqual(['not logged in']);
    await expect(phone.scan({ directoryId: 1, op: 'in', code: 'X' })).rejects.toMatchObject({ code: 'not_logged_in' });

    const login = await phone.login();
    expect(login.user.id).toBe(phone.user?.id);
    await eventually(() => phone.status === 'online', 'online');
    // The server knows this phone by the deviceId kept in storage.
    const directoryId = login.directories[0].id;
    const { result } = (await phone.scan({ directoryId, op: 'in', code: 'X' })) as { result: { revision: number } };
    const changes = await request(server.url, 'GET', `/api/directories/${directoryId}/changes?since=${result.revision - 1}`, { token: storedToken(wx.storage) });
    expect(changes.body.changes[0].deviceId).toBe(phone.deviceId);
    expect(wx.storage.get('scancode:device')).toBe(phone.deviceId);
    const again = suite.phone(wx, { loginCode: undefined });
    expect(again.deviceId).toBe(phone.deviceId);
    expect(again.user?.id).toBe(login.user.id);
  });

  it('raises loginRequired on a 4401 (the token logged out), keeps scanning into the outbox, and sends it after the next login', async () => {
    const wx = fakeWx('frank');
    const phone = suite.phone(wx, { backoff: { baseMs: 20, maxMs: 100 } });
    const login = await phone.login();
    const directoryId = login.directories[0].id;
    const other = (await request(server.url, 'POST', '/api/directories', { token: storedToken(wx.storage), body: { name: '冷库' } })).body.directory.id as number;
    // Two directories, one socket.
    phone.subscribe(directoryId);
    phone.subscribe(other);
    await Promise.all([phone.scan({ directoryId, op: 'in', code: 'Y', qty: 2 }), phone.scan({ directoryId: other, op: 'in', code: 'Z' })]);

    const required = new Promise<string>((resolve) => phone.on('loginRequired', ({ reason }) => resolve(reason)));
    const revoked = storedToken(wx.storage);
    expect((await request(server.url, 'POST', '/api/logout', { token: revoked })).status).toBe(204);
    expect(await required).toMatch(/revoked/);
    expect(phone.status).toBe('offline');

    // Scans are kept meanwhile: nothing is attempted with the revoked token.
    const later = phone.scan({ directoryId, op: 'out', code: 'Y', qty: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(phone.pending()).toHaveLength(1);
    expect(phone.status).toBe('offline');

    await phone.login();
    expect(await later).toMatchObject({ ok: true, result: { delta: -1, duplicate: false } });
    const token = storedToken(wx.storage);
    expect(token).not.toBe(revoked);
    for (const id of [directoryId, other]) {
      await settled(server, phone, token, id);
      expect(phone.counts(id)).toEqual((await serverDirectory(server, token, id)).counts);
    }
    expect(phone.counts(directoryId)).toEqual({ Y: 1 });
    expect(wx.maxOpen).toBe(1);
  });

  it("gives each request an id of its own, so a write sent with request() in a later launch is not taken for an earlier launch's", async () => {
    const wx = fakeWx('ivy');
    const names: string[] = [];
    for (const name of ['上午', '下午']) {
      const launch = suite.phone(wx);
      if (launch.user === null) await launch.login();
      else launch.connect();
      await eventually(() => launch.status === 'online', 'online');
      const answer = await launch.request<'createDirectory'>({ type: 'createDirectory', name });
      expect(answer).not.toHaveProperty('duplicate');
      names.push(answer.directory.name);
      launch.close();
    }
    expect(names).toEqual(['上午', '下午']);
  });
});
