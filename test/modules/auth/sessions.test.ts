import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { request } from '../../helpers/http';
import { queryDatabase } from '../../helpers/inventory';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/** Sessions never pile up: ended ones go at the next login, and past MAX_SESSIONS_PER_USER the oldest. */
describe.each(testDatabases())('sessions of one user on $name', (db) => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  beforeAll(async () => (server = await startServer(db, { env: { MAX_SESSIONS_PER_USER: '3', REVISION_CHECK_MS: '200' } })));
  afterEach(() => closeAll(sockets));
  afterAll(() => server.close());

  it('keeps the newest 3; the oldest tokens are refused and their sockets closed with 4401', async () => {
    const first = await server.login('many-phones');
    const socket = await connect(server.url, first);
    sockets.push(socket);
    const tokens = [first];
    for (let i = 0; i < 4; i++) tokens.push(await server.login('many-phones'));
    const statuses = await Promise.all(tokens.map(async (token) => (await request(server.url, 'GET', '/api/me', { token })).status));
    expect(statuses).toEqual([401, 401, 200, 200, 200]);
    expect((await socket.closed).code).toBe(4401);
    const userId = (await request(server.url, 'GET', '/api/me', { token: tokens[4] })).body.user.id;
    const [{ n }] = await queryDatabase<{ n: number | string }>(server, 'select count(*) as n from sessions where user_id = ?', [userId]);
    expect(Number(n)).toBe(3);
  });

  it('deletes a logged-out session at the next login', async () => {
    const gone = await server.login('logs-out');
    expect((await request(server.url, 'POST', '/api/logout', { token: gone })).status).toBe(204);
    const kept = await server.login('logs-out');
    const userId = (await request(server.url, 'GET', '/api/me', { token: kept })).body.user.id;
    const rows = await queryDatabase<{ revoked_at: unknown }>(server, 'select revoked_at from sessions where user_id = ?', [userId]);
    expect(rows).toHaveLength(1);
    expect(rows[0].revoked_at).toBeNull();
  });
});
