import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { legacyPost } from '../../helpers/inventory';

describe.each(testDatabases())('warehouse operations smoke on $name', (db) => {
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db)));
  afterAll(async () => server.close());

  it('transfers, undoes, counts and alerts', async () => {
    const api = client(server.url, await server.login('ops-owner'));
    const a = (await api.post('/api/directories', { body: { name: 'A' } })).body.directory.id;
    const b = (await api.post('/api/directories', { body: { name: 'B' } })).body.directory.id;
    await api.post(`/api/directories/${a}/scans`, { body: { op: 'in', code: 'X', qty: 10, name: '货' } });
    const t = await api.post('/api/transfers', { body: { from: a, to: b, code: 'X', qty: 4, eventId: 't1' } });
    expect(t.status).toBe(200);
    expect(t.body.out.goods.count).toBe(6);
    expect(t.body.in.goods).toMatchObject({ count: 4, name: '货' });
    const again = await api.post('/api/transfers', { body: { from: a, to: b, code: 'X', qty: 4, eventId: 't1' } });
    expect(again.body.duplicate).toBe(true);
    const tooMuch = await api.post('/api/transfers', { body: { from: a, to: b, code: 'X', qty: 99 } });
    expect(tooMuch.body.error).toMatchObject({ code: 'insufficient_stock', count: 6 });
    const changes = (await api.get(`/api/directories/${b}/changes?since=0`)).body.changes;
    expect(changes[0]).toMatchObject({ type: 'in', transfer: { from: a, to: b } });
    // undo the transfer from B's side: both sides back
    const undo = await api.post(`/api/directories/${b}/undo`, { body: { revision: changes[0].revision } });
    expect(undo.status).toBe(200);
    expect(undo.body.change).toMatchObject({ type: 'undo', undoes: changes[0].revision });
    expect((await api.get(`/api/directories/${a}/goods/X`)).body.goods.count).toBe(10);
    expect((await api.get(`/api/directories/${b}/goods/X`)).body.goods.count).toBe(0);
    const twice = await api.post(`/api/directories/${b}/undo`, { body: { revision: changes[0].revision } });
    expect(twice.body.error.code).toBe('undo_conflict');
    // undo a plain scan, then the undo
    const s = await api.post(`/api/directories/${a}/scans`, { body: { op: 'out', code: 'X', qty: 3 } });
    const u1 = await api.post(`/api/directories/${a}/undo`, { body: { revision: s.body.revision } });
    expect(u1.body.change.goods.count).toBe(10);
    const u2 = await api.post(`/api/directories/${a}/undo`, { body: { revision: u1.body.change.revision } });
    expect(u2.body.change.goods.count).toBe(7);
    // remove and undo it
    await api.delete(`/api/directories/${a}/goods/X`);
    const log = (await api.get(`/api/directories/${a}/logs`)).body.logs[0];
    const u3 = await api.post(`/api/directories/${a}/undo`, { body: { revision: log.revision } });
    expect(u3.body.change.goods).toMatchObject({ code: 'X', count: 7, name: '货' });
    // low stock
    await api.patch(`/api/directories/${a}/goods/X`, { body: { minCount: 5 } });
    const low = await api.post(`/api/directories/${a}/scans`, { body: { op: 'out', code: 'X', qty: 3 } });
    expect(low.body.goods.count).toBe(4);
    expect((await api.get('/api/alerts')).body.alerts).toEqual([{ directoryId: a, goods: expect.objectContaining({ code: 'X', count: 4, minCount: 5 }) }]);
    // counts
    const c = await api.post(`/api/directories/${a}/counts`, { body: { name: '月末' } });
    expect(c.status).toBe(201);
    const second = await api.post(`/api/directories/${a}/counts`, { body: {} });
    expect(second.body.error).toMatchObject({ code: 'count_open', countId: c.body.count.id });
    const line = await api.post(`/api/counts/${c.body.count.id}/lines`, { body: { code: 'X', qty: 9, eventId: 'l1' } });
    expect(line.body.line).toEqual({ code: 'X', counted: 9, expected: 4 });
    await api.post(`/api/counts/${c.body.count.id}/lines`, { body: { code: 'NEW', qty: 2 } });
    await api.post(`/api/counts/${c.body.count.id}/lines`, { body: { code: 'X', qty: -1 } });
    const report = await api.get(`/api/counts/${c.body.count.id}`);
    expect(report.body.lines).toEqual([
      { code: 'X', name: '货', counted: 8, expected: 4, variance: 4 },
      { code: 'NEW', name: '', counted: 2, expected: 0, variance: 2 },
    ]);
    const fin = await api.post(`/api/counts/${c.body.count.id}/finish`, { body: { zeroMissing: true } });
    expect(fin.status).toBe(200);
    expect(fin.body.count.status).toBe('finished');
    expect((await api.get(`/api/directories/${a}/goods/X`)).body.goods.count).toBe(8);
    expect((await api.get(`/api/directories/${a}/goods/NEW`)).body.goods.count).toBe(2);
    const closed = await api.post(`/api/counts/${c.body.count.id}/finish`, { body: {} });
    expect(closed.body.error.code).toBe('count_closed');
  });

  it("undoes a legacy route's write like any other change", async () => {
    const token = await server.login('ops-legacy');
    const api = client(server.url, token);
    const dir = (await api.get('/api/directories')).body.directories[0];
    const datain = await legacyPost(server, '/datain/', { code: 'L-1', name: '旧', remarks: '', cookie: token, dir: dir.name });
    expect(datain.body).toEqual({ cur_count: 1, exist: 'newone' });
    const [change] = (await api.get(`/api/directories/${dir.id}/changes?since=0`)).body.changes;
    expect(change).toMatchObject({ type: 'in', code: 'L-1', delta: 1 });
    const undone = await api.post(`/api/directories/${dir.id}/undo`, { body: { revision: change.revision } });
    expect(undone.body.change).toMatchObject({ type: 'undo', undoes: change.revision, goods: { code: 'L-1', count: 0 } });
    expect((await legacyPost(server, '/checkqr/', { code: 'L-1', cookie: token, dir: dir.name })).body).toEqual({ name: '旧', remarks: '', count: 0 });
  });
});
