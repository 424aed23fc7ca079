import WebSocket from 'ws';
import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { CapturedLog } from '../helpers/logs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A raw `ws` client, for the upgrade request's own headers; resolves once the server says hello. */
function openSocket(server: TestServer, headers: Record<string, string>): Promise<WebSocket> {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/ws`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('message', () => resolve(ws));
    ws.once('error', reject);
  });
}

const [db] = testDatabases();

describe(`request ids on ${db.name}`, () => {
  const log = new CapturedLog();
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db, { env: { LOG_LEVEL: 'info' }, deps: { logStream: log.stream } })));
  afterAll(() => server.close());

  it('every answer names its request with a new id, and every log line of that request carries it', async () => {
    const first = await request(server.url, 'GET', '/healthz');
    const second = await request(server.url, 'GET', '/healthz');
    const id = first.headers.get('x-request-id') as string;
    expect(id).toMatch(UUID);
    expect(second.headers.get('x-request-id')).toMatch(UUID);
    expect(second.headers.get('x-request-id')).not.toBe(id);
    expect((await log.request(id)).map((line) => line.msg)).toEqual([expect.stringMatching(/^GET \/healthz 200 /)]);
  });

  it("keeps a proxy's id when it is short and safe, so that both logs name the same request", async () => {
    for (const incoming of ['lb-7f3a91c2', 'edge:2026/11/25.0042', 'YWJj+ZGVm=']) {
      const answer = await request(server.url, 'GET', '/healthz', { headers: { 'x-request-id': incoming } });
      expect(answer.headers.get('x-request-id')).toBe(incoming);
      expect(await log.request(incoming)).toHaveLength(1);
    }
  });

  it('replaces an id that is too long or could break a log line', async () => {
    for (const incoming of ['a'.repeat(65), 'two words', '"quoted"', 'semi;colon', '{"reqId":1}']) {
      const answer = await request(server.url, 'GET', '/healthz', { headers: { 'x-request-id': incoming } });
      expect(answer.headers.get('x-request-id')).toMatch(UUID);
      expect(log.lines.some((line) => line.reqId === incoming)).toBe(false);
    }
  });

  it('refusals carry it too: an unknown route, a malformed body, a missing token', async () => {
    const answers = [
      await request(server.url, 'GET', '/api/warehouses', { headers: { 'x-request-id': 'r-404' } }),
      await request(server.url, 'POST', '/api/login', { body: '{"code":', headers: { 'x-request-id': 'r-400' } }),
      await request(server.url, 'GET', '/api/me', { headers: { 'x-request-id': 'r-401' } }),
    ];
    expect(answers.map((answer) => [answer.status, answer.headers.get('x-request-id')])).toEqual([
      [404, 'r-404'],
      [400, 'r-400'],
      [401, 'r-401'],
    ]);
  });

  it("a WebSocket's log lines carry the id of its upgrade request", async () => {
    const token = await server.login('rid');
    const ws = await openSocket(server, { authorization: `Bearer ${token}`, 'x-request-id': 'ws-upgrade-1' });
    const authenticated = await log.next('websocket authenticated', (line) => line.reqId === 'ws-upgrade-1');
    expect(authenticated.userId).toEqual(expect.any(Number));
    ws.close(1000);
    await log.next('websocket closed', (line) => line.reqId === 'ws-upgrade-1');
  });
});
