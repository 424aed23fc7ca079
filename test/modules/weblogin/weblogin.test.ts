import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client, request } from '../../helpers/http';
import { signIn } from '../../helpers/inventory';
import { TEST_REDIS_URL, testChannel } from '../../helpers/redis';

/**
 * Login by scanning (SPEC "The web dashboard and web login"): the page asks for a login, shows its QR
 * code and polls; a logged-in phone approves; the page gets a new session of that user, once.
 */

const poll = (server: TestServer, id: string, pollToken: string, wait?: number) =>
  request(server.url, 'GET', `/api/web-logins/${encodeURIComponent(id)}?pollToken=${encodeURIComponent(pollToken)}${wait === undefined ? '' : `&wait=${wait}`}`);
const approve = (server: TestServer, id: string, token?: string) => request(server.url, 'POST', `/api/web-logins/${encodeURIComponent(id)}/approve`, { token });
async function startWebLogin(server: TestServer): Promise<{ id: string; qr: string; pollToken: string; expiresAt: string }> {
  const answer = await request(server.url, 'POST', '/api/web-logins');
  expect(answer.status).toBe(201);
  return answer.body;
}

describe.each(testDatabases())('login by scanning on $name', (db) => {
  let server: TestServer;
  /** The server's clock runs this far ahead of the real one. */
  let ahead = 0;
  beforeAll(async () => (server = await startServer(db, { deps: { now: () => new Date(Date.now() + ahead) } })));
  afterAll(() => server.close());
  afterEach(() => (ahead = 0));

  it('hands the approving phone user a new web session once: it works, and its Changes say deviceId web', async () => {
    const phone = await signIn(server, 'weblogin-owner');
    const login = await startWebLogin(server);
    expect(login.qr).toBe(`scancode:weblogin:${login.id}`);
    expect(Buffer.from(login.id, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(Buffer.from(login.pollToken, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(Date.parse(login.expiresAt) - Date.now()).toBeGreaterThan(60_000);

    expect((await poll(server, login.id, login.pollToken, 0)).body).toEqual({ status: 'pending' });
    expect((await approve(server, login.id, phone.token)).status).toBe(204);
    // Approving again as the same user changes nothing.
    expect((await approve(server, login.id, phone.token)).status).toBe(204);

    const approved = await poll(server, login.id, login.pollToken, 0);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', user: { id: phone.userId } });
    const web = client(server.url, approved.body.token);
    expect((await web.get('/api/me')).body.user.id).toBe(phone.userId);
    expect(approved.body.token).not.toBe(phone.token);

    // One use: the login is gone, the session stays.
    expect((await poll(server, login.id, login.pollToken, 0)).body.error.code).toBe('not_found');
    expect((await approve(server, login.id, phone.token)).status).toBe(404);

    const directoryId = phone.defaultDirectoryId;
    expect((await web.post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'WEB-1', qty: 2 } })).status).toBe(200);
    const changes = await phone.api.get(`/api/directories/${directoryId}/changes?since=0`);
    expect(changes.body.changes.at(-1)).toMatchObject({ type: 'in', code: 'WEB-1', deviceId: 'web' });
  });

  it('answers a waiting poll when the phone approves', async () => {
    const phone = await signIn(server, 'weblogin-waiting');
    const login = await startWebLogin(server);
    const waiting = poll(server, login.id, login.pollToken);
    await sleep(200);
    expect((await approve(server, login.id, phone.token)).status).toBe(204);
    expect((await waiting).body).toMatchObject({ status: 'approved', user: { id: phone.userId } });
  });

  it('answers not_found for unknown logins, a wrong poll token, a login approved by someone else, and an expired one', async () => {
    const phone = await signIn(server, 'weblogin-refusals');
    const other = await signIn(server, 'weblogin-other');
    const login = await startWebLogin(server);
    expect((await poll(server, 'AAAAAAAAAAAAAAAAAAAAAA', login.pollToken, 0)).body.error.code).toBe('not_found');
    expect((await poll(server, login.id, `${login.pollToken}x`, 0)).body.error.code).toBe('not_found');
    expect((await approve(server, 'AAAAAAAAAAAAAAAAAAAAAA', phone.token)).body.error.code).toBe('not_found');
    expect((await approve(server, login.id)).status).toBe(401);

    expect((await approve(server, login.id, phone.token)).status).toBe(204);
    expect((await approve(server, login.id, other.token)).body.error.code).toBe('not_found');

    const late = await startWebLogin(server);
    ahead = 2 * 60_000 + 1000;
    expect((await poll(server, late.id, late.pollToken, 0)).body.error.code).toBe('not_found');
    expect((await approve(server, late.id, phone.token)).body.error.code).toBe('not_found');
    // Approved in time, claimed too late.
    ahead = 0;
    const approvedLate = await startWebLogin(server);
    expect((await approve(server, approvedLate.id, phone.token)).status).toBe(204);
    ahead = 2 * 60_000 + 1000;
    expect((await poll(server, approvedLate.id, approvedLate.pollToken, 0)).status).toBe(404);
  });

  it('gives the session to one of two polls at once, not_found to the other', async () => {
    const phone = await signIn(server, 'weblogin-race');
    const login = await startWebLogin(server);
    expect((await approve(server, login.id, phone.token)).status).toBe(204);
    const answers = await Promise.all([poll(server, login.id, login.pollToken, 0), poll(server, login.id, login.pollToken, 0)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 404]);
  });
});

describe.each(testDatabases())('login by scanning across two instances on $name', (db) => {
  it('answers a poll waiting on one instance when the phone approves through the other, over Redis', async () => {
    // The database re-check is an hour away: the approval can only reach the waiting poll through the bus.
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_CHANNEL: testChannel(), REVISION_CHECK_MS: '3600000' };
    const first = await startServer(db, { env });
    const second = await startServer(db, { env, deps: { orm: first.app.services.orm } });
    try {
      const phone = await signIn(first, 'weblogin-across');
      const login = await startWebLogin(second);
      const waiting = poll(second, login.id, login.pollToken);
      await sleep(200);
      expect((await approve(first, login.id, phone.token)).status).toBe(204);
      const answer = await waiting;
      expect(answer.body).toMatchObject({ status: 'approved', user: { id: phone.userId } });
      expect((await client(first.url, answer.body.token).get('/api/me')).status).toBe(200);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('still answers when the bus message never arrives: the poll looks at the database again', async () => {
    // No Redis: each instance has a bus of its own, so nothing crosses but the database.
    const env = { REVISION_CHECK_MS: '200' };
    const first = await startServer(db, { env });
    const second = await startServer(db, { env, deps: { orm: first.app.services.orm } });
    try {
      const phone = await signIn(first, 'weblogin-lost');
      const login = await startWebLogin(second);
      const waiting = poll(second, login.id, login.pollToken);
      await sleep(200);
      expect((await approve(first, login.id, phone.token)).status).toBe(204);
      expect((await waiting).body).toMatchObject({ status: 'approved', user: { id: phone.userId } });
    } finally {
      await second.close();
      await first.close();
    }
  });
});

describe('creating web logins', () => {
  it('is limited per client address (LOGIN_RATE_LIMIT a minute, counted apart from logins)', async () => {
    const [db] = testDatabases();
    const server = await startServer(db, { env: { LOGIN_RATE_LIMIT: '3' } });
    try {
      for (let i = 0; i < 3; i++) expect((await request(server.url, 'POST', '/api/web-logins')).status).toBe(201);
      const refused = await request(server.url, 'POST', '/api/web-logins');
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatchObject({ code: 'rate_limited' });
      // Logins are counted on their own.
      await signIn(server, 'weblogin-limited');
    } finally {
      await server.close();
    }
  });
});
