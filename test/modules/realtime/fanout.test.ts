import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

describe.each(testDatabases())('WebSocket fan-out on $name', (db) => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  let directoryCounter = 0;

  beforeAll(async () => {
    server = await startServer(db);
  });
  afterEach(() => closeAll(sockets));
  afterAll(() => server.close());

  /** A user with one token per device, and a fresh directory of theirs. */
  async function account(name: string, devices = 1) {
    const tokens = await Promise.all(Array.from({ length: devices }, (_, i) => server.login(name, { deviceId: `${name}-phone-${i}` })));
    const api = client(server.url, tokens[0]);
    const me = await api.get('/api/me');
    const directory = (await api.post('/api/directories', { body: { name: `仓库${++directoryCounter}` } })).body.directory;
    return { tokens, api, userId: me.body.user.id as number, directory };
  }

  async function device(token: string, via: 'header' | 'frame' = 'header'): Promise<TestSocket> {
    const socket = await connect(server.url, token, via);
    sockets.push(socket);
    return socket;
  }

  /** A round trip on each socket: pushes made before it have been sent by the time it answers. */
  async function settle(...all: TestSocket[]): Promise<void> {
    await Promise.all(all.map((socket) => socket.request({ type: 'ping' })));
  }

  it("pushes device B's scan to device A with the next revision, acks B with the result, and tells another user nothing", async () => {
    const alice = await account('alice', 2);
    const carol = await account('carol');
    const a = await device(alice.tokens[0]);
    const b = await device(alice.tokens[1], 'frame');
    const c = await device(carol.tokens[0]);

    expect(await a.request({ type: 'subscribe', directoryId: alice.directory.id })).toMatchObject({ ok: true, result: { revision: 0 } });
    expect(await a.next('snapshot')).toEqual({ type: 'snapshot', directoryId: alice.directory.id, revision: 0, page: 0, last: true, goods: [] });
    await c.request({ type: 'subscribe', directoryId: carol.directory.id });

    const ack = await b.request({ type: 'scan', id: 'b-1', directoryId: alice.directory.id, op: 'in', code: '6901234567890', qty: 3, name: '可乐' });
    const goods = { id: expect.any(Number), code: '6901234567890', name: '可乐', remarks: '', count: 3 };
    expect(ack).toEqual({ type: 'ack', id: 'b-1', ok: true, result: { goods, delta: 3, revision: 1, created: true, duplicate: false } });

    expect(await a.next('change')).toEqual({
      type: 'change',
      directoryId: alice.directory.id,
      revision: 1,
      change: {
        revision: 1,
        type: 'in',
        code: '6901234567890',
        goods: ack.result.goods,
        delta: 3,
        eventId: 'b-1',
        userId: alice.userId,
        nickname: '',
        deviceId: 'alice-phone-1',
        at: expect.any(String),
      },
    });

    // Carol cannot watch Alice's directory (it looks missing), and has been sent nothing of Alice's.
    expect(await c.request({ type: 'subscribe', directoryId: alice.directory.id })).toMatchObject({ ok: false, error: { code: 'directory_not_found' } });
    await settle(a, b, c);
    expect(c.received.filter((f) => f.type === 'change' || f.type === 'directory')).toEqual([]);
    // B did not subscribe: it gets its ack, not the change.
    expect(b.changes()).toEqual([]);
    expect(a.revisions()).toEqual([1]);
  });

  it('pushes writes made over HTTP and the legacy form routes to the subscriber', async () => {
    const alice = await account('alice');
    const a = await device(alice.tokens[0]);
    const dir = alice.directory;
    await a.request({ type: 'subscribe', directoryId: dir.id });

    expect((await alice.api.post(`/api/directories/${dir.id}/scans`, { body: { op: 'in', code: 'tea', qty: 2 } })).status).toBe(200);
    const legacy = await client(server.url).post('/datain/', { form: { cookie: alice.tokens[0], dir: dir.name, code: 'tea', name: '绿茶', remarks: '500ml' } });
    expect(legacy.body).toEqual({ cur_count: 3, exist: 'existed' });
    expect((await client(server.url).post('/dataout/', { form: { cookie: alice.tokens[0], dir: dir.name, code: 'tea' } })).body).toEqual({ exist: 'existed', cur_count: 2 });
    expect((await alice.api.patch(`/api/directories/${dir.id}/goods/tea`, { body: { remarks: '1L' } })).status).toBe(200);
    expect((await alice.api.delete(`/api/directories/${dir.id}/goods/tea`)).status).toBe(204);

    const changes = (await a.changesUpTo(dir.id, 5)).map((f) => f.change);
    expect(changes).toEqual([
      expect.objectContaining({ revision: 1, type: 'in', delta: 2, goods: expect.objectContaining({ count: 2 }) }),
      expect.objectContaining({ revision: 2, type: 'in', delta: 1, goods: expect.objectContaining({ count: 3, name: '绿茶', remarks: '500ml' }) }),
      expect.objectContaining({ revision: 3, type: 'out', delta: -1, goods: expect.objectContaining({ count: 2 }) }),
      expect.objectContaining({ revision: 4, type: 'edit', goods: expect.objectContaining({ remarks: '1L' }) }),
      expect.objectContaining({ revision: 5, type: 'remove', code: 'tea', delta: -2 }),
    ]);
  });

  it("sends directory created, renamed and deleted to every socket of the owner, and nothing to another user's", async () => {
    const alice = await account('alice', 2);
    const carol = await account('carol');
    const a = await device(alice.tokens[0]);
    const b = await device(alice.tokens[1]);
    const c = await device(carol.tokens[0]);

    const created = (await alice.api.post('/api/directories', { body: { name: '冷库' } })).body.directory;
    for (const socket of [a, b]) expect(await socket.next('directory')).toEqual({ type: 'directory', event: 'created', directory: created });

    await a.request({ type: 'subscribe', directoryId: created.id });
    const renamed = (await alice.api.patch(`/api/directories/${created.id}`, { body: { name: '冷库二号' } })).body.directory;
    for (const socket of [a, b]) expect(await socket.next('directory')).toEqual({ type: 'directory', event: 'renamed', directory: renamed });

    expect((await alice.api.delete(`/api/directories/${created.id}`)).status).toBe(204);
    for (const socket of [a, b]) expect(await socket.next('directory')).toMatchObject({ type: 'directory', event: 'deleted', directory: { id: created.id, name: '冷库二号' } });

    // The legacy /builddir/ creates through the same domain.
    expect((await client(server.url).post('/builddir/', { form: { cookie: alice.tokens[1], dirname: '旧仓' } })).body).toEqual({ status: '已成功建立仓库旧仓' });
    for (const socket of [a, b]) expect(await socket.next('directory')).toMatchObject({ event: 'created', directory: { name: '旧仓', revision: 0 } });

    // The subscriber of the directory also got its rename and delete as changes, in order.
    expect((await a.changesUpTo(created.id, 2)).map((f) => f.change)).toEqual([
      expect.objectContaining({ revision: 1, type: 'rename', directory: { id: created.id, name: '冷库二号' } }),
      expect.objectContaining({ revision: 2, type: 'delete', directory: { id: created.id, name: '冷库二号' } }),
    ]);
    await settle(a, b, c);
    expect(c.received.filter((f) => f.type === 'directory' || f.type === 'change')).toEqual([]);
  });

  it('applies a scan id once: sent twice, one change and a duplicate ack with the original result', async () => {
    const alice = await account('alice', 2);
    const a = await device(alice.tokens[0]);
    const b = await device(alice.tokens[1]);
    const dir = alice.directory;
    await a.request({ type: 'subscribe', directoryId: dir.id });

    const scan = { type: 'scan', id: 'evt:42', directoryId: dir.id, op: 'in', code: 'rice', qty: 5 };
    const first = await b.request(scan);
    const second = await b.request(scan);
    expect(first.result).toMatchObject({ revision: 1, delta: 5, duplicate: false, goods: { count: 5 } });
    expect(second).toEqual({ ...first, result: { ...first.result, duplicate: true } });
    // The same event id over HTTP (a phone that resent it through /api/sync) is the same event.
    const overHttp = await alice.api.post('/api/sync', { body: { events: [{ eventId: 'evt:42', directoryId: dir.id, op: 'in', code: 'rice', qty: 5 }] } });
    expect(overHttp.body.results[0]).toMatchObject({ ok: true, result: { revision: 1, duplicate: true } });

    // A refusal is remembered the same way.
    const refused = { type: 'scan', id: 'evt:43', directoryId: dir.id, op: 'out', code: 'rice', qty: 9 };
    expect(await b.request(refused)).toMatchObject({ ok: false, error: { code: 'insufficient_stock', count: 5 } });
    expect(await b.request(refused)).toMatchObject({ ok: false, error: { code: 'insufficient_stock', count: 5, duplicate: true } });

    await b.request({ type: 'scan', id: 'evt:44', directoryId: dir.id, op: 'out', code: 'rice', qty: 1 });
    expect((await a.changesUpTo(dir.id, 2)).map((f) => [f.revision, f.change.eventId])).toEqual([
      [1, 'evt:42'],
      [2, 'evt:44'],
    ]);
    await settle(a);
    expect(a.revisions()).toEqual([1, 2]);
  });

  it('answers lookup, and stops pushing after unsubscribe', async () => {
    const alice = await account('alice', 2);
    const a = await device(alice.tokens[0]);
    const b = await device(alice.tokens[1]);
    const dir = alice.directory;

    expect(await a.request({ type: 'lookup', directoryId: dir.id, code: 'salt' })).toMatchObject({ ok: true, result: { goods: null } });
    await a.request({ type: 'subscribe', directoryId: dir.id });
    await b.request({ type: 'scan', id: 'salt-1', directoryId: dir.id, op: 'set', code: 'salt', qty: 7, name: '盐' });
    expect(await a.request({ type: 'lookup', directoryId: dir.id, code: 'salt' })).toMatchObject({
      ok: true,
      result: { goods: { code: 'salt', name: '盐', remarks: '', count: 7, id: expect.any(Number) } },
    });
    await a.changesUpTo(dir.id, 1);

    expect(await a.request({ type: 'unsubscribe', directoryId: dir.id })).toMatchObject({ ok: true, result: {} });
    await b.request({ type: 'scan', id: 'salt-2', directoryId: dir.id, op: 'in', code: 'salt' });
    await settle(a, b);
    expect(a.revisions()).toEqual([1]);
  });
});
