import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { countOf, createDirectory, directoryState, goodsPath, revisionOf, scan, signIn, type TestUser } from '../helpers/inventory';
import { closeAll, connect, type TestSocket } from '../helpers/ws';

/**
 * The contract is strict: a field it does not name is refused with 400 bad_request naming the field,
 * and a refused request changes nothing (a misspelled `quantity` must never become a scan of 1).
 */
describe.each(testDatabases())('strict inputs on $name', (db) => {
  let server: TestServer;
  let user: TestUser;
  let directoryId: number;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    server = await startServer(db);
    user = await signIn(server, 'strict');
    directoryId = await createDirectory(user.api, '严格');
    await scan(user.api, directoryId, { op: 'in', code: 'KNOWN', qty: 5 });
  });
  afterEach(() => closeAll(sockets));
  afterAll(() => server.close());

  const refusedNaming = (field: string) => ({ error: { code: 'bad_request', message: expect.stringContaining(field) } });

  describe('unknown fields', () => {
    it('a scan with `quantity` instead of `qty` is refused naming it, and nothing is scanned', async () => {
      const before = await revisionOf(user.api, directoryId);
      const answer = await user.api.post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'A', quantity: 5 } });
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: { code: 'bad_request', message: 'quantity is not a known field' } });
      expect(await countOf(user.api, directoryId, 'A')).toBeNull();
      expect(await revisionOf(user.api, directoryId)).toBe(before);
    });

    it('a WebSocket scan frame with an extra key gets an error ack naming it; the socket stays open and nothing changes', async () => {
      const socket = await connect(server.url, user.token);
      sockets.push(socket);
      const before = await revisionOf(user.api, directoryId);
      const ack = await socket.request({ type: 'scan', id: 'ws-quantity-1', directoryId, op: 'in', code: 'KNOWN', quantity: 50 });
      expect(ack).toEqual({ type: 'ack', id: 'ws-quantity-1', ok: false, error: { code: 'bad_request', message: 'quantity is not a known field' } });
      const extra = await socket.request({ type: 'subscribe', directoryId, color: 'red' });
      expect(extra).toMatchObject({ ok: false, error: refusedNaming('color').error });
      expect(await socket.request({ type: 'ping' })).toMatchObject({ ok: true });
      expect(await countOf(user.api, directoryId, 'KNOWN')).toBe(5);
      expect(await revisionOf(user.api, directoryId)).toBe(before);
      // The refused frame was never remembered under its id: the corrected frame is applied.
      const corrected = await socket.request({ type: 'scan', id: 'ws-quantity-1', directoryId, op: 'in', code: 'KNOWN', qty: 50 });
      expect(corrected).toMatchObject({ ok: true, result: { goods: { count: 55 }, delta: 50, duplicate: false } });
      await scan(user.api, directoryId, { op: 'set', code: 'KNOWN', qty: 5 });
    });

    it('an extra key in one sync event refuses the whole batch naming it, and no event is applied', async () => {
      const before = await revisionOf(user.api, directoryId);
      const answer = await user.api.post('/api/sync', {
        body: {
          events: [
            { eventId: 'sync-ok-1', directoryId, op: 'in', code: 'SYNC-A' },
            { eventId: 'sync-bad-1', directoryId, op: 'in', code: 'SYNC-B', quantity: 3 },
          ],
        },
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: { code: 'bad_request', message: 'events.1.quantity is not a known field' } });
      expect(await countOf(user.api, directoryId, 'SYNC-A')).toBeNull();
      expect(await revisionOf(user.api, directoryId)).toBe(before);
      const extraTop = await user.api.post('/api/sync', { body: { events: [], force: true } });
      expect(extraTop.status).toBe(400);
      expect(extraTop.body).toEqual({ error: { code: 'bad_request', message: 'force is not a known field' } });
    });

    it.each([
      ['POST /api/login', 'post', '/api/login', { code: 'strict#x', deviceID: 'phone' }, 'deviceID'],
      ['PATCH /api/me', 'patch', '/api/me', { nickname: 'a', nickName: 'b' }, 'nickName'],
      ['POST /api/directories', 'post', '/api/directories', { name: '新', owner: 2 }, 'owner'],
      ['PATCH /api/directories/:id', 'patch', '/api/directories/:id', { name: '新名', freq: 100 }, 'freq'],
      ['PATCH goods', 'patch', '/api/directories/:id/goods/KNOWN', { name: 'n', count: 99 }, 'count'],
      ['POST scans', 'post', '/api/directories/:id/scans', { op: 'set', code: 'KNOWN', qty: 1, directoryId: 9 }, 'directoryId'],
    ] as const)('%s refuses an unknown body field naming it, and nothing changes', async (_label, method, path, body, field) => {
      const before = await directoryState(user.api, directoryId);
      const me = (await user.api.get('/api/me')).body;
      const answer = await user.api[method](path.replace(':id', String(directoryId)), { body });
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: { code: 'bad_request', message: `${field} is not a known field` } });
      expect(await directoryState(user.api, directoryId)).toEqual(before);
      expect((await user.api.get('/api/me')).body).toEqual(me);
    });

    it.each([
      ['GET /api/directories', '/api/directories?sort=name', 'sort'],
      ['GET /api/directories/:id', '/api/directories/:id?query=x', 'query'],
      ['GET changes', '/api/directories/:id/changes?since=0&after=1', 'after'],
      ['GET logs', '/api/directories/:id/logs?limit=5&page=2', 'page'],
      ['GET /api/me', '/api/me?full=1', 'full'],
    ])('%s refuses an unknown query parameter naming it', async (_label, path, field) => {
      const answer = await user.api.get(path.replace(':id', String(directoryId)));
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: { code: 'bad_request', message: `${field} is not a known field` } });
    });
  });

  it('a pattern refusal says what the value must be, whatever the field describes (deviceId on login)', async () => {
    const answer = await request(server.url, 'POST', '/api/login', { body: { code: 'strict#device', deviceId: 'my phone' } });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: { code: 'bad_request', message: 'deviceId must be 1 to 64 characters of A-Z a-z 0-9 . _ : -' } });
  });

  describe('one schema per scan op, and a refused request is never remembered under its event id', () => {
    it.each([
      [{ op: 'in', code: 'Q', qty: 0 }, 'qty must be at least 1'],
      [{ op: 'out', code: 'Q', qty: 0 }, 'qty must be at least 1'],
      [{ op: 'set', code: 'Q' }, 'qty is required'],
      [{ op: 'set', code: 'Q', qty: -1 }, 'qty must be at least 0'],
      [{ op: 'in', code: 'Q', qty: 1_000_001 }, 'qty must be at most 1000000'],
      [{ op: 'take', code: 'Q' }, 'op must be one of "in", "out", "set"'],
      [{ code: 'Q' }, 'op is required'],
      [{ op: 'in', code: '' }, 'code must not be empty'],
      [{ op: 'in', code: 'Q', qty: '2' }, 'qty must be an integer'],
    ])('%j is refused: %s', async (body, message) => {
      const answer = await user.api.post(`/api/directories/${directoryId}/scans`, { body });
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: { code: 'bad_request', message } });
    });

    it('{op:"in", qty:0, eventId} is refused, and the corrected resend is applied, not a duplicate', async () => {
      const refused = await scan(user.api, directoryId, { op: 'in', code: 'RESEND', qty: 0, eventId: 'resend-1' });
      expect(refused.status).toBe(400);
      const corrected = await scan(user.api, directoryId, { op: 'in', code: 'RESEND', qty: 2, eventId: 'resend-1' });
      expect(corrected.status).toBe(200);
      expect(corrected.body).toMatchObject({ goods: { code: 'RESEND', count: 2 }, delta: 2, created: true, duplicate: false });
      const again = await scan(user.api, directoryId, { op: 'in', code: 'RESEND', qty: 2, eventId: 'resend-1' });
      expect(again.body).toEqual({ ...corrected.body, duplicate: true });
      expect(await countOf(user.api, directoryId, 'RESEND')).toBe(2);
    });

    it('a sync event refused by its schema is not remembered either', async () => {
      const refused = await user.api.post('/api/sync', { body: { events: [{ eventId: 'sync-resend-1', directoryId, op: 'set', code: 'SR' }] } });
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({ error: { code: 'bad_request', message: 'events.0.qty is required' } });
      const corrected = await user.api.post('/api/sync', { body: { events: [{ eventId: 'sync-resend-1', directoryId, op: 'set', code: 'SR', qty: 7 }] } });
      expect(corrected.body.results).toEqual([{ eventId: 'sync-resend-1', ok: true, result: expect.objectContaining({ delta: 7, duplicate: false }) }]);
    });
  });

  describe('bodies', () => {
    it.each([
      ['__proto__', '{"__proto__": {"admin": true}, "name": "proto"}'],
      ['constructor.prototype', '{"constructor": {"prototype": {"admin": true}}, "name": "ctor"}'],
    ])('a %s body is refused with 400 bad_request, and no directory is made', async (_label, text) => {
      const answer = await request(server.url, 'POST', '/api/directories', { token: user.token, body: text });
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('bad_request');
      const names = (await user.api.get('/api/directories')).body.directories.map((d: { name: string }) => d.name);
      expect(names).not.toContain('proto');
      expect(names).not.toContain('ctor');
    });

    it('an empty JSON body is still an empty request where none is needed (logout answers 204)', async () => {
      const token = await server.login('strict-logout');
      const answer = await request(server.url, 'POST', '/api/logout', { token, headers: { 'content-type': 'application/json' }, body: '' });
      expect(answer.status).toBe(204);
      expect((await request(server.url, 'GET', '/api/me', { token })).status).toBe(401);
    });

    it('a body that is not JSON is 400 bad_request', async () => {
      const answer = await request(server.url, 'POST', '/api/directories', { token: user.token, body: '{"name": ' });
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('bad_request');
    });
  });

  describe('characters in codes and names: stored exactly, or refused clearly, never a 500', () => {
    const NOT_STORABLE = 'must be text without NUL characters or unpaired UTF-16 surrogates';

    it.each([
      ['a NUL character', 'A\u0000B'],
      ['a lone high surrogate', 'A\uD800B'],
      ['a lone low surrogate', 'A\uDC00'],
    ])('a code with %s is refused with 400 naming code, over HTTP and WebSocket, and nothing is stored', async (_label, code) => {
      const before = await revisionOf(user.api, directoryId);
      const answer = await scan(user.api, directoryId, { op: 'in', code });
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: { code: 'bad_request', message: `code ${NOT_STORABLE}` } });
      const named = await scan(user.api, directoryId, { op: 'in', code: 'NAMED', name: `x${code}` });
      expect(named.body).toEqual({ error: { code: 'bad_request', message: `name ${NOT_STORABLE}` } });
      const socket = await connect(server.url, user.token);
      sockets.push(socket);
      const ack = await socket.request({ type: 'scan', id: 'ws-bad-char', directoryId, op: 'in', code });
      expect(ack).toMatchObject({ ok: false, error: { code: 'bad_request', message: `code ${NOT_STORABLE}` } });
      expect(await socket.request({ type: 'lookup', directoryId, code })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(await revisionOf(user.api, directoryId)).toBe(before);
    });

    it('a NUL in a goods path is 400, not 500', async () => {
      const answer = await user.api.get(`/api/directories/${directoryId}/goods/A%00B`);
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: { code: 'bad_request', message: `code ${NOT_STORABLE}` } });
    });

    it('a NUL in a legacy form field gets the seed-style refusal', async () => {
      const answer = await request(server.url, 'POST', '/builddir/', { form: { cookie: user.token, dirname: 'a\u0000b' } });
      expect(answer.status).toBe(200);
      expect(answer.body).toHaveProperty('error');
      const names = (await user.api.get('/api/directories')).body.directories.map((d: { name: string }) => d.name);
      expect(names.some((name: string) => name.includes('\u0000'))).toBe(false);
    });

    it('control characters (GS1 separators, tabs), emoji and CJK are stored and read back exactly', async () => {
      for (const code of ['(01)09501101530003\u001D(17)250101', 'tab\there', 'emoji 😀 ok', '二维码', 'A\u0001\u007F']) {
        const answer = await scan(user.api, directoryId, { op: 'in', code, name: `名${code}` });
        expect(answer.status).toBe(200);
        expect(answer.body.goods).toMatchObject({ code, name: `名${code}` });
        const read = await user.api.get(goodsPath(directoryId, code));
        expect(read.body.goods).toMatchObject({ code, name: `名${code}`, count: 1 });
      }
    });
  });

  it('an unknown route answers 404 not_found', async () => {
    const answer = await user.api.get('/api/warehouses');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: { code: 'not_found', message: 'no route GET /api/warehouses' } });
    const post = await request(server.url, 'POST', '/nothing/here', { body: {} });
    expect(post.status).toBe(404);
    expect(post.body.error.code).toBe('not_found');
  });
});
