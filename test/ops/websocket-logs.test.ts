import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { CapturedLog } from '../helpers/logs';
import { TestSocket, connect } from '../helpers/ws';

const [db] = testDatabases();

/** An operator reads who connected from where and how each socket ended; never a token. */
describe(`WebSocket lifecycle log lines on ${db.name}`, () => {
  const log = new CapturedLog();
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db, { env: { LOG_LEVEL: 'info' }, deps: { logStream: log.stream } })));
  afterAll(() => server.close());

  it('one line when a socket is authenticated (user, device, address) and one when it closes (code, reason, frames, duration)', async () => {
    const token = await server.login('logged', { deviceId: 'phone-7' });
    const socket = await connect(server.url, token, 'frame');
    const hello = socket.received[0];
    const authenticated = await log.next('websocket authenticated', (line) => line.userId === hello.userId);
    expect(authenticated).toMatchObject({ level: 30, userId: hello.userId, deviceId: 'phone-7', ip: '127.0.0.1', reqId: expect.any(String) });

    await socket.request({ type: 'ping' });
    await socket.request({ type: 'ping' });
    await socket.close();
    const closed = await log.next('websocket closed', (line) => line.reqId === authenticated.reqId);
    // In: the auth frame and two pings; out: the hello and two acks.
    expect(closed).toMatchObject({ level: 30, userId: hello.userId, deviceId: 'phone-7', code: 1000, reason: '', framesIn: 3, framesOut: 3, durationMs: expect.any(Number) });
    expect(log.text.join('\n')).not.toContain(token);
  });

  it('a socket refused for its token closes with 4401, logged without the user it could not prove nor the token it sent', async () => {
    const socket = await TestSocket.open(server.url);
    const forged = 'forged-token-0123456789abcdef';
    socket.send({ type: 'auth', token: forged });
    expect((await socket.closed).code).toBe(4401);
    const closed = await log.next('websocket closed', (line) => line.code === 4401);
    expect(closed).toMatchObject({ userId: null, deviceId: null, framesIn: 1, framesOut: 1 });
    expect(log.find('websocket authenticated', (line) => line.reqId === closed.reqId)).toEqual([]);
    expect(log.text.join('\n')).not.toContain(forged);
  });
});
