import { ScancodeError, webLoginId, type ScancodeClient } from '../../client/src';
import type { TestServer } from '../helpers/app';
import { eventually, sdkSuite } from '../helpers/client';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { fakeWx, type FakeWx } from '../helpers/wx';

interface WebLogin {
  id: string;
  qr: string;
  pollToken: string;
}

/**
 * The phone's side of login by scanning: the dashboard (plain HTTP here, as the page's fetch) asks
 * for a login and long-polls it, the SDK approves the text read from its QR code, and the page gets a
 * session of the phone's user whose changes say `web`.
 */
describe.each(testDatabases())('approving a web login with the SDK, on $name', (db) => {
  const suite = sdkSuite(db);
  let server: TestServer;
  beforeEach(() => (server = suite.server()));

  async function loggedIn(user: string): Promise<{ wx: FakeWx; client: ScancodeClient }> {
    const wx = fakeWx(user);
    const client = suite.phone(wx);
    await client.login();
    await eventually(() => client.status === 'online', `${user} online`);
    return { wx, client };
  }

  const startWebLogin = async (): Promise<WebLogin> => {
    const answer = await request<WebLogin>(server.url, 'POST', '/api/web-logins');
    expect(answer.status).toBe(201);
    return answer.body;
  };
  const poll = (login: WebLogin, wait = 25) => request(server.url, 'GET', `/api/web-logins/${login.id}?pollToken=${encodeURIComponent(login.pollToken)}&wait=${wait}`);

  it('reads the id from the QR text and nothing else', () => {
    expect(webLoginId('scancode:weblogin:AbC_-9')).toBe('AbC_-9');
    expect(webLoginId('  scancode:weblogin:AbC_-9\r\n')).toBe('AbC_-9');
    for (const text of ['scancode:join:AbC', 'AbC', 'scancode:weblogin:', 'scancode:weblogin:a b', 'https://example.com/scancode:weblogin:x']) expect(webLoginId(text)).toBeNull();
  });

  it('the page waiting on its long poll gets a session of the phone user (deviceId web); a second approval is not_found', async () => {
    const phone = await loggedIn('wendy');
    const login = await startWebLogin();
    expect(login.qr).toBe(`scancode:weblogin:${login.id}`);

    // The page is already waiting when the phone approves: the approval wakes its poll.
    const waiting = poll(login);
    await phone.client.approveWebLogin(`${login.qr}\n`);
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'approved', user: { id: phone.client.user?.id } });
    const token = (answer.body as { token: string }).token;
    expect(token).not.toBe('');

    // The page's session is the user's own, and what it changes is marked as made on the web.
    const me = await request(server.url, 'GET', '/api/me', { token });
    expect(me.status).toBe(200);
    const directoryId = (me.body as { directories: Array<{ id: number }> }).directories[0].id;
    const scan = await request(server.url, 'POST', `/api/directories/${directoryId}/scans`, { token, body: { op: 'in', code: '6901234567892' } });
    expect(scan.status).toBe(200);
    const changes = await request(server.url, 'GET', `/api/directories/${directoryId}/changes?since=0`, { token });
    expect((changes.body as { changes: Array<{ deviceId: string; userId: number }> }).changes.at(-1)).toMatchObject({ deviceId: 'web', userId: phone.client.user?.id });

    // Used: approving it again (from the QR text or the id) is refused, as is polling it.
    for (const again of [login.qr, login.id]) {
      const refusal = await phone.client.approveWebLogin(again).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(ScancodeError);
      expect(refusal).toMatchObject({ code: 'not_found', status: 404 });
    }
    expect((await poll(login, 0)).status).toBe(404);
  });

  it('an id the server never made is not_found; a text that is no web login is refused before any request; a logged-out phone is told to log in', async () => {
    const phone = await loggedIn('xavier');
    await expect(phone.client.approveWebLogin('scancode:weblogin:neverMadeByTheServer')).rejects.toMatchObject({ code: 'not_found', status: 404 });

    const before = phone.wx.requests.length;
    for (const text of ['scancode:join:abc', 'https://example.com/x', '', 'scancode:weblogin:a b']) {
      await expect(phone.client.approveWebLogin(text)).rejects.toMatchObject({ code: 'not_a_web_login' });
    }
    expect(phone.wx.requests.length).toBe(before);

    // Approved by the bare id, then picked up by a poll that comes later.
    const login = await startWebLogin();
    await phone.client.approveWebLogin(login.id);
    expect((await poll(login, 0)).body).toMatchObject({ status: 'approved', user: { id: phone.client.user?.id } });

    const stranger = suite.phone(fakeWx('yara'));
    await expect(stranger.approveWebLogin((await startWebLogin()).qr)).rejects.toMatchObject({ code: 'not_logged_in' });
  });
});
