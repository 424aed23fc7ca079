import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { closeAll, connect, TestSocket } from '../../helpers/ws';

const AUTH_TIMEOUT_MS = 300;

describe.each(testDatabases())('WebSocket connections on $name', (db) => {
  let server: TestServer;
  let clock = Date.now();
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    server = await startServer(db, { deps: { now: () => new Date(clock), realtime: { authTimeoutMs: AUTH_TIMEOUT_MS } } });
  });
  afterEach(() => closeAll(sockets));
  afterAll(() => server.close());

  async function open(options: { token?: string } = {}): Promise<TestSocket> {
    const socket = await TestSocket.open(server.url, options);
    sockets.push(socket);
    return socket;
  }

  async function login(name: string): Promise<{ token: string; userId: number; directoryId: number }> {
    const token = await server.login(name);
    const me = await client(server.url, token).get('/api/me');
    return { token, userId: me.body.user.id, directoryId: me.body.directories[0].id };
  }

  /** The socket answers a ping: it is open and still handling frames. */
  async function expectAlive(socket: TestSocket): Promise<void> {
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'ack', ok: true, result: { serverTime: expect.any(String) } });
  }

  describe('authentication', () => {
    it('accepts the Authorization header and says hello first', async () => {
      const { token, userId } = await login('alice');
      const socket = await open({ token });
      const hello = await socket.next(() => true);
      expect(hello).toEqual({ type: 'hello', userId, heartbeatMs: server.config.heartbeatMs, serverTime: new Date(clock).toISOString() });
      await expectAlive(socket);
    });

    it('accepts a first auth frame, and answers requests sent right behind it', async () => {
      const { token, userId } = await login('alice');
      const socket = await open();
      // No waiting for the hello: frames that arrive while the token is checked are queued, not lost.
      socket.send({ type: 'auth', token });
      socket.send({ type: 'ping', id: 1 });
      socket.send({ type: 'ping', id: 2 });
      expect(await socket.next(() => true)).toMatchObject({ type: 'hello', userId });
      expect(await socket.next(() => true)).toMatchObject({ type: 'ack', id: 1, ok: true });
      expect(await socket.next(() => true)).toMatchObject({ type: 'ack', id: 2, ok: true });
    });

    it('closes a socket that sends no auth within the timeout with 4401, after accepting the upgrade', async () => {
      const socket = await open();
      expect(await socket.closed).toEqual({ code: 4401, reason: 'unauthorized' });
      expect(socket.received).toEqual([{ type: 'error', error: { code: 'unauthorized', message: 'no auth frame in time' } }]);
    });

    it('closes with 4401 for an unknown token, by header or by frame, and for a first frame that is not auth', async () => {
      const byHeader = await open({ token: 'not-a-token' });
      expect((await byHeader.closed).code).toBe(4401);
      expect(byHeader.received).toEqual([{ type: 'error', error: expect.objectContaining({ code: 'unauthorized' }) }]);

      const byFrame = await open();
      byFrame.send({ type: 'auth', token: 'not-a-token' });
      expect((await byFrame.closed).code).toBe(4401);

      const noAuth = await open();
      noAuth.send({ type: 'ping', id: 1 });
      expect((await noAuth.closed).code).toBe(4401);
      expect(noAuth.received.some((f) => f.type === 'ack')).toBe(false);
    });

    it('closes the sockets of a session with 4401 when it logs out over HTTP, and only those', async () => {
      const first = await login('bob');
      const second = await login('bob');
      const doomed = await connect(server.url, first.token);
      const viaFrame = await connect(server.url, first.token, 'frame');
      const other = await connect(server.url, second.token);
      sockets.push(doomed, viaFrame, other);

      expect((await client(server.url, first.token).post('/api/logout')).status).toBe(204);
      expect((await doomed.closed).code).toBe(4401);
      expect((await viaFrame.closed).code).toBe(4401);
      await expectAlive(other);
      // And the revoked token cannot open a new one.
      expect((await (await open({ token: first.token })).closed).code).toBe(4401);
    });

    it('closes a socket with 4401 when its session expires, and refuses an expired token', async () => {
      const answer = await client(server.url).post('/api/login', { body: { code: 'carol#expiry' } });
      const expiresAt = new Date(answer.body.expiresAt).getTime();
      try {
        clock = expiresAt - 200;
        const socket = await connect(server.url, answer.body.token);
        sockets.push(socket);
        expect(await socket.closed).toEqual({ code: 4401, reason: 'unauthorized' });
        expect(socket.received.at(-1)).toEqual({ type: 'error', error: { code: 'unauthorized', message: 'session expired' } });

        clock = expiresAt + 1;
        expect((await (await open({ token: answer.body.token })).closed).code).toBe(4401);
      } finally {
        clock = Date.now();
      }
    });
  });

  describe('bad frames get an error and leave the socket open', () => {
    let socket: TestSocket;
    let directoryId: number;

    beforeEach(async () => {
      const account = await login('dave');
      directoryId = account.directoryId;
      socket = await connect(server.url, account.token);
      sockets.push(socket);
    });

    it('malformed JSON and non-objects get an error frame', async () => {
      socket.send('{"type": "ping", "id": ');
      expect(await socket.next('error')).toEqual({ type: 'error', error: { code: 'bad_request', message: 'frame is not valid JSON' } });
      socket.send('[1, 2]');
      expect(await socket.next('error')).toEqual({ type: 'error', error: { code: 'bad_request', message: 'frame must be a JSON object' } });
      await expectAlive(socket);
    });

    it('an unknown type gets an error ack naming it', async () => {
      expect(await socket.request({ type: 'teleport', id: 't1' })).toEqual({
        type: 'ack',
        id: 't1',
        ok: false,
        error: { code: 'bad_request', message: 'type "teleport" is not a known frame type' },
      });
      await expectAlive(socket);
    });

    it.each([
      ['a string directoryId', { type: 'subscribe', directoryId: '7' }, 'directoryId must be an integer'],
      ['a negative since', { type: 'subscribe', directoryId: 1, since: -1 }, 'since must be at least 0'],
      ['a lookup without code', { type: 'lookup', directoryId: 1 }, 'code is required'],
      ['a string qty', { type: 'scan', id: 'e-1', directoryId: 1, op: 'in', code: 'x', qty: '2' }, 'qty must be an integer'],
      ['an unknown op', { type: 'scan', id: 'e-2', directoryId: 1, op: 'take', code: 'x' }, 'op must be one of "in", "out", "set"'],
      ['a scan id that is not an event id', { type: 'scan', id: 'not an event id', directoryId: 1, op: 'in', code: 'x' }, 'id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -'],
      ['remarks over 1000 characters', { type: 'scan', id: 'e-3', directoryId: 1, op: 'in', code: 'x', remarks: 'r'.repeat(1001) }, 'remarks must be at most 1000 characters'],
    ])('%s gets an error ack naming the field, never coerced', async (_label, frame, message) => {
      const ack = await socket.request(frame);
      expect(ack).toMatchObject({ type: 'ack', ok: false, error: { code: 'bad_request', message: expect.stringContaining(message) } });
      await expectAlive(socket);
    });

    it('a request whose id is unusable gets an error frame', async () => {
      socket.send({ type: 'ping', id: { nested: true } });
      expect(await socket.next('error')).toEqual({ type: 'error', error: { code: 'bad_request', message: 'id must be a string or an integer' } });
      socket.send({ type: 'auth', token: 'again' });
      expect(await socket.next('error')).toEqual({ type: 'error', error: { code: 'bad_request', message: 'this socket is already authenticated' } });
      await expectAlive(socket);
    });

    it("domain refusals are error acks with SPEC's codes", async () => {
      expect(await socket.request({ type: 'scan', id: 'out-1', directoryId, op: 'out', code: 'nothing' })).toMatchObject({
        ok: false,
        error: { code: 'goods_not_found' },
      });
      await socket.request({ type: 'scan', id: 'in-1', directoryId, op: 'in', code: 'cola', qty: 2 });
      expect(await socket.request({ type: 'scan', id: 'out-2', directoryId, op: 'out', code: 'cola', qty: 3 })).toEqual({
        type: 'ack',
        id: 'out-2',
        ok: false,
        error: { code: 'insufficient_stock', message: 'only 2 in stock', count: 2 },
      });
      expect(await socket.request({ type: 'scan', id: 'in-0', directoryId, op: 'in', code: 'cola', qty: 0 })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      const stranger = await login('erin');
      expect(await socket.request({ type: 'lookup', directoryId: stranger.directoryId, code: 'cola' })).toMatchObject({ ok: false, error: { code: 'directory_not_found' } });
      expect(await socket.request({ type: 'subscribe', directoryId: stranger.directoryId })).toMatchObject({ ok: false, error: { code: 'directory_not_found' } });
      await expectAlive(socket);
    });

    it('a frame over 64 KiB closes the socket with 1009', async () => {
      socket.send({ type: 'lookup', id: 'big', directoryId, code: 'x'.repeat(64 * 1024) });
      expect((await socket.closed).code).toBe(1009);
    });

    it('a frame of just under 64 KiB is read (and refused by its schema, not by its size)', async () => {
      const frame = { type: 'lookup', id: 'big', directoryId, code: '' };
      frame.code = 'x'.repeat(64 * 1024 - JSON.stringify(frame).length);
      expect(await socket.request(frame)).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('code') } });
      await expectAlive(socket);
    });
  });
});
