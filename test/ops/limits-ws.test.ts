import { CloseCode } from '../../src/contract';
import { loadConfig } from '../../src/config';
import { ScancodeClient, wxHttp, wxLoginCode, wxSocket, wxStorage } from '../../client/src';
import { startServer, type TestServer } from '../helpers/app';
import { eventually, storedToken } from '../helpers/client';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { countOf, createDirectory, signIn } from '../helpers/inventory';
import { closeAll, connect, TestSocket, type Frame } from '../helpers/ws';
import { fakeWx } from '../helpers/wx';

/**
 * The gateway's limits, each crossed: frames per session (WS_FRAME_RATE with WS_FRAME_BURST), sockets
 * per user (MAX_SOCKETS_PER_USER, closed with 4429) and subscriptions per socket
 * (MAX_SUBSCRIPTIONS_PER_SOCKET), refused tokens per address (BAD_TOKEN_RATE_LIMIT, closed with
 * 4429) and sockets waiting for authentication per address (MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS), each answered `rate_limited` with `retryAfter`, while other sessions, users and sockets go on
 * as before.
 */

const BURST = 5;
const SOCKETS = 3;
const SUBSCRIPTIONS = 2;
const BAD_TOKENS = 3;
const WAITING = 3;

function expectRateLimited(error: Frame | undefined): void {
  expect(error).toMatchObject({ code: 'rate_limited', message: expect.any(String), retryAfter: expect.any(Number) });
  expect(Number.isInteger(error?.retryAfter) && error?.retryAfter >= 1).toBe(true);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(testDatabases())('WebSocket limits on $name', (db) => {
  describe('frames per session', () => {
    let server: TestServer;
    const sockets: TestSocket[] = [];
    // One frame every four seconds after a burst of five (a rate below WS_FRAME_RATE's whole numbers,
    // set in the config): a test sends its frames far faster than that, even on a loaded machine, where
    // a frame a second refilled the bucket before a slow burst was over.
    beforeAll(async () => {
      const limits = { ...loadConfig({ WS_FRAME_BURST: String(BURST) }).limits, wsFramesPerSecond: 0.25 };
      server = await startServer(db, { config: { limits } });
    });
    afterEach(() => closeAll(sockets));
    afterAll(() => server.close());

    it('refuses frames past the burst with rate_limited, applies nothing of them, keeps acks in order and the socket open', async () => {
      const user = await signIn(server, 'streamer');
      const socket = await connect(server.url, user.token);
      sockets.push(socket);
      // Seven pipelined scans: the first five are applied, the last two refused, acked in the order sent.
      const ids = Array.from({ length: BURST + 2 }, (_, i) => `streamer:${i}`);
      for (const id of ids) socket.send({ type: 'scan', id, directoryId: user.defaultDirectoryId, op: 'in', code: 'BOX' });
      const acks = await Promise.all(ids.map((id) => socket.next((frame) => frame.type === 'ack' && frame.id === id)));
      expect(socket.received.filter((frame) => frame.type === 'ack').map((frame) => frame.id)).toEqual(ids);
      expect(acks.map((ack) => ack.ok)).toEqual([true, true, true, true, true, false, false]);
      for (const ack of acks.slice(BURST)) expectRateLimited(ack.error);
      expect(await countOf(user.api, user.defaultDirectoryId, 'BOX')).toBe(BURST);

      // A frame without an id gets an error frame; a second socket of the same session shares the bucket.
      socket.send('not json');
      expectRateLimited((await socket.next('error')).error);
      const twin = await connect(server.url, user.token);
      sockets.push(twin);
      expectRateLimited((await twin.request({ type: 'ping' })).error);

      // The refused event id was never applied: sent again once the bucket has refilled, it is.
      const wait = acks[BURST].error.retryAfter as number;
      await sleep(wait * 1000);
      const again = await socket.request({ type: 'scan', id: ids[BURST], directoryId: user.defaultDirectoryId, op: 'in', code: 'BOX' });
      expect(again).toMatchObject({ ok: true, result: { duplicate: false, goods: { count: BURST + 1 } } });
    });

    it('counts each session on its own: another session of the same user is not refused', async () => {
      const user = await signIn(server, 'sharer');
      const first = await connect(server.url, user.token);
      const second = await connect(server.url, await server.login('sharer'));
      sockets.push(first, second);
      for (let i = 0; i < BURST; i++) expect((await first.request({ type: 'ping' })).ok).toBe(true);
      expectRateLimited((await first.request({ type: 'ping' })).error);
      for (let i = 0; i < BURST; i++) expect((await second.request({ type: 'ping' })).ok).toBe(true);
    });
  });

  describe('sockets per user and subscriptions per socket', () => {
    let server: TestServer;
    const sockets: TestSocket[] = [];
    const phones: ScancodeClient[] = [];
    beforeAll(async () => {
      server = await startServer(db, { env: { MAX_SOCKETS_PER_USER: String(SOCKETS), MAX_SUBSCRIPTIONS_PER_SOCKET: String(SUBSCRIPTIONS) } });
    });
    afterEach(async () => {
      for (const phone of phones.splice(0)) phone.close();
      await closeAll(sockets);
    });
    afterAll(() => server.close());

    /** Resolves once the server holds this many sockets (a socket closed by the client is gone on its side too). */
    const serverHolds = (count: number) => eventually(() => server.app.websocketServer.clients.size === count, `${count} sockets on the server`);

    /** Opens a socket with a token (header or auth frame) and resolves with its first frame or its close. */
    async function attempt(token: string, via: 'header' | 'frame'): Promise<{ socket: TestSocket; first: Frame }> {
      const socket = await TestSocket.open(server.url, via === 'header' ? { token } : {});
      sockets.push(socket);
      if (via === 'frame') socket.send({ type: 'auth', token });
      return { socket, first: await socket.next((frame) => frame.type === 'hello' || frame.type === 'error') };
    }

    it('closes a socket past MAX_SOCKETS_PER_USER with 4429 after a rate_limited error; a closed one frees its place; other users are not counted', async () => {
      const tokens = [await server.login('fleet'), await server.login('fleet')];
      for (let i = 0; i < SOCKETS; i++) expect((await attempt(tokens[i % 2], 'header')).first.type).toBe('hello');
      const refused = await attempt(tokens[1], 'frame');
      expect(refused.first.type).toBe('error');
      expectRateLimited(refused.first.error);
      expect((await refused.socket.closed).code).toBe(CloseCode.tooManySockets);
      // The refusal is no logout: the token still works over HTTP.
      expect((await request(server.url, 'GET', '/api/me', { token: tokens[1] })).status).toBe(200);

      expect((await attempt(await server.login('neighbour'), 'header')).first.type).toBe('hello');
      await sockets[0].close();
      await serverHolds(SOCKETS);
      expect((await attempt(tokens[0], 'frame')).first.type).toBe('hello');
    });

    it('the SDK takes 4429 for a network failure, not a logout: its scans go over HTTP, and it comes online when a place is free', async () => {
      const blockers: TestSocket[] = [];
      for (let i = 0; i < SOCKETS; i++) blockers.push((await attempt(await server.login('crowded'), 'header')).socket);
      const wx = fakeWx('crowded');
      // A backoff of a few milliseconds: the error frame's retryAfter, not the backoff, sets the next attempt.
      const phone = new ScancodeClient({ url: server.url, socket: wxSocket(wx), storage: wxStorage(wx), http: wxHttp(wx), loginCode: wxLoginCode(wx), backoff: { baseMs: 10, maxMs: 20 } });
      phones.push(phone);
      const closes: number[] = [];
      let loginsAsked = 0;
      phone.on('disconnected', ({ code }) => closes.push(code));
      phone.on('loginRequired', () => loginsAsked++);
      // A scan waits in the outbox while the phone's network is away...
      wx.network.socket = 'blocked';
      const login = await phone.login();
      const outcome = phone.scan({ directoryId: login.directories[0].id, op: 'in', code: 'OVERFLOW', qty: 2 });
      // ...and once it is back, the socket gets its 4429 and the scan goes over HTTP.
      wx.network.socket = 'up';
      phone.reconnectNow();
      await eventually(() => closes.includes(CloseCode.tooManySockets), 'a 4429');
      expect((await outcome).ok).toBe(true);
      expect(wx.requests).toContain('POST /api/sync');
      expect(loginsAsked).toBe(0);
      await sleep(300);
      expect(closes.filter((code) => code === CloseCode.tooManySockets)).toHaveLength(1);
      expect(phone.status).not.toBe('online');

      await blockers[0].close();
      await serverHolds(SOCKETS - 1);
      phone.reconnectNow();
      await eventually(() => phone.status === 'online', 'the phone online');
      expect(await countOf((await signIn(server, 'crowded')).api, login.directories[0].id, 'OVERFLOW')).toBe(2);
      expect(storedToken(wx.storage)).toEqual(expect.any(String));
    });

    it('refuses a subscribe past MAX_SUBSCRIPTIONS_PER_SOCKET, not a renewed one; another socket has its own', async () => {
      const user = await signIn(server, 'watcher');
      const directories = [user.defaultDirectoryId, await createDirectory(user.api, '甲'), await createDirectory(user.api, '乙')];
      const socket = (await attempt(user.token, 'header')).socket;
      for (const directoryId of directories.slice(0, SUBSCRIPTIONS)) expect((await socket.request({ type: 'subscribe', directoryId })).ok).toBe(true);
      const refused = await socket.request({ type: 'subscribe', directoryId: directories[2] });
      expect(refused.ok).toBe(false);
      expectRateLimited(refused.error);
      expect((await socket.request({ type: 'subscribe', directoryId: directories[0], since: 0 })).ok).toBe(true);

      // The refused subscription receives nothing; one freed place takes it.
      await user.api.post(`/api/directories/${directories[2]}/scans`, { body: { op: 'in', code: 'Q', eventId: 'watcher:1' } });
      expect((await socket.request({ type: 'unsubscribe', directoryId: directories[1] })).ok).toBe(true);
      expect((await socket.request({ type: 'subscribe', directoryId: directories[2], since: 0 })).ok).toBe(true);
      await socket.changesUpTo(directories[2], 1);
      expect(socket.received.filter((frame) => frame.directoryId === directories[2] && frame.type !== 'ack')).toHaveLength(1);

      const other = (await attempt(user.token, 'header')).socket;
      expect((await other.request({ type: 'subscribe', directoryId: directories[1] })).ok).toBe(true);
    });
  });

  describe('refused tokens per address', () => {
    let server: TestServer;
    const sockets: TestSocket[] = [];
    beforeAll(async () => (server = await startServer(db, { env: { BAD_TOKEN_RATE_LIMIT: String(BAD_TOKENS) } })));
    afterAll(async () => {
      await closeAll(sockets);
      await server.close();
    });

    /** Opens a socket with this token in the header; resolves with its first frame and its close, if any. */
    async function attempt(token: string): Promise<{ socket: TestSocket; first: Frame }> {
      const socket = await TestSocket.open(server.url, { token });
      sockets.push(socket);
      return { socket, first: await socket.next((frame) => frame.type === 'hello' || frame.type === 'error') };
    }

    it('past BAD_TOKEN_RATE_LIMIT made-up tokens from one address, its made-up tokens are refused with 4429 before any lookup, its valid ones never; open sockets and logins go on', async () => {
      const user = await signIn(server, 'guesser');
      const open = await attempt(user.token);
      expect(open.first.type).toBe('hello');
      for (let i = 0; i < BAD_TOKENS; i++) {
        const guess = await attempt(`made-up-token-${i}`);
        expect(guess.first.error).toMatchObject({ code: 'unauthorized' });
        expect((await guess.socket.closed).code).toBe(CloseCode.unauthorized);
      }
      const refused = await attempt('made-up-token-next');
      expect(refused.first.type).toBe('error');
      expectRateLimited(refused.first.error);
      expect((await refused.socket.closed).code).toBe(CloseCode.tooManySockets);
      // HTTP counts the same refusals: a made-up token from this address is refused there too, as SPEC's 429.
      const http = await request(server.url, 'GET', '/api/me', { token: 'made-up-token-http' });
      expect(http.status).toBe(429);
      expect(http.body.error).toMatchObject({ code: 'rate_limited' });
      // A valid token from the same address is never refused: its socket opens, over HTTP it is answered.
      expect((await attempt(user.token)).first.type).toBe('hello');
      expect((await request(server.url, 'GET', '/api/me', { token: user.token })).status).toBe(200);
      // So is a session made after the address was locked.
      expect((await attempt(await server.login('guesser-later'))).first.type).toBe('hello');
      // What does not carry a token, and the socket that was already open, are not affected.
      expect((await request(server.url, 'POST', '/api/login', { body: { code: 'guesser#again' } })).status).toBe(200);
      expect(await open.socket.request({ type: 'ping' })).toMatchObject({ ok: true });
    });
  });

  describe('unauthenticated sockets per address', () => {
    let server: TestServer;
    const sockets: TestSocket[] = [];
    beforeAll(async () => (server = await startServer(db, { env: { MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS: String(WAITING) } })));
    afterAll(async () => {
      await closeAll(sockets);
      await server.close();
    });

    const open = async () => {
      const socket = await TestSocket.open(server.url);
      sockets.push(socket);
      return socket;
    };

    it('closes one socket too many waiting for its auth frame with 4429; an authenticated one frees its place', async () => {
      const token = await server.login('silent');
      const waiting = [await open(), await open(), await open()];
      const refused = await open();
      expectRateLimited((await refused.next('error')).error);
      expect((await refused.closed).code).toBe(CloseCode.tooManySockets);
      // The sockets under the cap are untouched: each may still authenticate.
      waiting[0].send({ type: 'auth', token });
      await waiting[0].next('hello');
      const next = await open();
      next.send({ type: 'auth', token });
      await next.next('hello');
      expect(await waiting[0].request({ type: 'ping' })).toMatchObject({ ok: true });
    });
  });
});
