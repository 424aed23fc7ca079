import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { countOf, createDirectory, directoryState, revisionOf, scan, signIn } from '../../helpers/inventory';

describe.each(testDatabases())('POST /api/sync on $name', (db) => {
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db)));
  afterAll(() => server.close());

  it('answers one result per event in order; a refusal in the middle stops nothing; resending changes nothing', async () => {
    const { api } = await signIn(server, 'sync-batch');
    const shop = await createDirectory(api, '店');
    const store = await createDirectory(api, '仓');
    const events = [
      { eventId: 'off:1', directoryId: shop, op: 'in', code: 'A', qty: 3, name: '苹果' },
      { eventId: 'off:2', directoryId: store, op: 'set', code: 'B', qty: 10 },
      { eventId: 'off:3', directoryId: shop, op: 'out', code: 'A', qty: 5 }, // only 3: refused
      { eventId: 'off:4', directoryId: shop, op: 'out', code: 'nope' }, // unknown code: refused
      { eventId: 'off:5', directoryId: 1_999_999_999, op: 'in', code: 'A' }, // no such directory
      { eventId: 'off:6', directoryId: shop, op: 'out', code: 'A', qty: 2 },
      { eventId: 'off:7', directoryId: store, op: 'in', code: 'B', remarks: '到货' },
    ];
    const answer = await api.post('/api/sync', { body: { events } });
    expect(answer.status).toBe(200);
    const { results } = answer.body;
    expect(results.map((r: { eventId: string }) => r.eventId)).toEqual(events.map((e) => e.eventId));
    expect(results[0]).toEqual({
      eventId: 'off:1',
      ok: true,
      result: { goods: { id: expect.any(Number), code: 'A', name: '苹果', remarks: '', count: 3 }, delta: 3, revision: 1, created: true, duplicate: false },
    });
    expect(results[1]).toMatchObject({ ok: true, result: { goods: { code: 'B', count: 10 }, revision: 1, created: true } });
    expect(results[2]).toEqual({ eventId: 'off:3', ok: false, error: { code: 'insufficient_stock', message: expect.any(String), count: 3 } });
    expect(results[3]).toEqual({ eventId: 'off:4', ok: false, error: { code: 'goods_not_found', message: expect.any(String) } });
    expect(results[4]).toEqual({ eventId: 'off:5', ok: false, error: { code: 'directory_not_found', message: expect.any(String) } });
    expect(results[5]).toMatchObject({ ok: true, result: { goods: { code: 'A', count: 1 }, delta: -2, revision: 2, duplicate: false } });
    expect(results[6]).toMatchObject({ ok: true, result: { goods: { code: 'B', count: 11, remarks: '到货' }, revision: 2 } });

    const before = { shop: await directoryState(api, shop), store: await directoryState(api, store) };
    expect(before.shop.directory).toMatchObject({ revision: 2, freq: 2 });

    // The phone did not hear the answer and sends the whole batch again.
    const resent = await api.post('/api/sync', { body: { events } });
    expect(resent.status).toBe(200);
    expect(resent.body.results).toEqual(
      results.map((r: { ok: boolean; result?: object; error?: object }) => (r.ok ? { ...r, result: { ...r.result, duplicate: true } } : { ...r, error: { ...r.error, duplicate: true } })),
    );
    expect(await directoryState(api, shop)).toEqual(before.shop);
    expect(await directoryState(api, store)).toEqual(before.store);
  });

  it('shares event ids with single scans: an id first sent alone is a duplicate in a batch', async () => {
    const { api, defaultDirectoryId: id } = await signIn(server, 'sync-mixed');
    const single = await scan(api, id, { op: 'in', code: 'M', qty: 4, eventId: 'mix-1' });
    const batch = await api.post('/api/sync', {
      body: {
        events: [
          { eventId: 'mix-1', directoryId: id, op: 'in', code: 'M', qty: 4 },
          { eventId: 'mix-2', directoryId: id, op: 'in', code: 'M' },
        ],
      },
    });
    expect(batch.body.results).toEqual([
      { eventId: 'mix-1', ok: true, result: { ...single.body, duplicate: true } },
      { eventId: 'mix-2', ok: true, result: expect.objectContaining({ duplicate: false, goods: expect.objectContaining({ count: 5 }) }) },
    ]);
    // The same id twice in one batch is applied once.
    const twice = await api.post('/api/sync', {
      body: {
        events: [
          { eventId: 'mix-3', directoryId: id, op: 'in', code: 'M' },
          { eventId: 'mix-3', directoryId: id, op: 'in', code: 'M' },
        ],
      },
    });
    expect(twice.body.results.map((r: { result: { duplicate: boolean } }) => r.result.duplicate)).toEqual([false, true]);
    expect(await countOf(api, id, 'M')).toBe(6);
  });

  it('accepts 500 events and an empty batch; answers 400 for 501', async () => {
    const { api } = await signIn(server, 'sync-limit');
    const id = await createDirectory(api, '批量');
    const batch = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ eventId: `${prefix}-${i}`, directoryId: id, op: 'in', code: `g${i % 7}` }));

    const tooMany = await api.post('/api/sync', { body: { events: batch(501, 'big') } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining('events') });
    expect(await revisionOf(api, id)).toBe(0);

    const full = await api.post('/api/sync', { body: { events: batch(500, 'full') } });
    expect(full.status).toBe(200);
    expect(full.body.results).toHaveLength(500);
    expect(full.body.results.every((r: { ok: boolean }) => r.ok)).toBe(true);
    expect(full.body.results.map((r: { result: { revision: number } }) => r.result.revision)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(await directoryState(api, id)).toMatchObject({ directory: { revision: 500, totalCount: 500, goodsCount: 7 } });

    expect((await api.post('/api/sync', { body: { events: [] } })).body).toEqual({ results: [] });
  });

  it.each([
    ['no events field', {}, 'events'],
    ['an event without eventId', { events: [{ directoryId: 1, op: 'in', code: 'c' }] }, 'eventId'],
    ['an event without directoryId', { events: [{ eventId: 'e', op: 'in', code: 'c' }] }, 'directoryId'],
    ['an event with a bad op', { events: [{ eventId: 'e', directoryId: 1, op: 'take', code: 'c' }] }, 'op'],
    ['an event with a bad qty', { events: [{ eventId: 'e', directoryId: 1, op: 'in', code: 'c', qty: -3 }] }, 'qty'],
  ])('answers 400 bad_request naming the field for %s', async (_case, body, field) => {
    const { api } = await signIn(server, 'sync-bad');
    const answer = await api.post('/api/sync', { body });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining(field) });
  });
});
