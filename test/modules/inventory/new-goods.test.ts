import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { createDirectory, directoryState, queryDatabase, signIn } from '../../helpers/inventory';

/**
 * A transaction reserves, in one round trip, a goods row for every code its scans may create (an `in`
 * or a `set` of a code the directory lacks), writes the ones it used with the rest of its goods and
 * deletes the others. Seen from outside nothing of that shows: the goods created carry what their scans
 * said, under the ids the answers and the Changes give, and a scan refused leaves no row behind.
 */
describe.each(testDatabases())('new goods in one transaction, on $name', (db) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(db, { config: { storage: { maxDirectoriesPerUser: 10, maxGoodsPerDirectory: 3 } } });
  });
  afterAll(() => server.close());

  it('creates what the scans said under the ids they were answered with, and leaves no row for a refused one', async () => {
    const { api } = await signIn(server, 'new-goods');
    const shop = await createDirectory(api, '门店');
    const store = await createDirectory(api, '仓库');
    const event = (eventId: string, directoryId: number, op: string, code: string, qty: number, name?: string) => ({ eventId, directoryId, op, code, qty, ...(name ? { name } : {}) });
    // One sync over two directories: one group, one transaction.
    const answer = await api.post('/api/sync', {
      body: {
        events: [
          event('n1', shop, 'in', 'A', 1, '苹果'),
          event('n2', shop, 'set', 'B', 7),
          event('n3', shop, 'out', 'C', 1), // goods_not_found: never reserved
          event('n4', shop, 'in', 'A', 1),
          event('n5', store, 'in', 'D', 2, '梨'),
          event('n6', shop, 'in', 'E', 1), // the third and last place
          event('n7', shop, 'set', 'F', 0), // a fourth goods of a directory holding at most 3
        ],
      },
    });
    expect(answer.status).toBe(200);
    const results = answer.body.results as { ok: boolean; result?: { goods: { id: number; code: string; count: number; name: string } }; error?: { code: string } }[];
    expect(results.map((r) => (r.ok ? `${r.result?.goods.code}:${r.result?.goods.count}` : r.error?.code))).toEqual(['A:1', 'B:7', 'goods_not_found', 'A:2', 'D:2', 'E:1', 'quota_exceeded']);

    const shopState = await directoryState(api, shop);
    expect(shopState.goods.map((g) => [g.code, g.name, g.count])).toEqual([
      ['A', '苹果', 2],
      ['B', '', 7],
      ['E', '', 1],
    ]);
    expect(shopState.directory.goodsCount).toBe(3);
    const storeState = await directoryState(api, store);
    expect(storeState.goods.map((g) => [g.code, g.name, g.count])).toEqual([['D', '梨', 2]]);
    // The ids answered are the stored ones, and so are those of the Changes.
    const stored = new Map([...shopState.goods, ...storeState.goods].map((g) => [g.code, g.id]));
    for (const r of results.filter((r) => r.ok)) expect(r.result?.goods.id).toBe(stored.get(r.result?.goods.code ?? ''));
    const changes = await api.get(`/api/directories/${shop}/changes?since=0`);
    expect(changes.body.changes.map((c: { goods: { code: string; id: number } }) => [c.goods.code, c.goods.id])).toEqual([
      ['A', stored.get('A')],
      ['B', stored.get('B')],
      ['A', stored.get('A')],
      ['E', stored.get('E')],
    ]);
    // No row for C or F was left in the table.
    const rows = await queryDatabase<{ code: string }>(server, 'select code from goods where directory_id in (?, ?) order by id', [shop, store]);
    expect(rows.map((row) => row.code).sort()).toEqual(['A', 'B', 'D', 'E']);
  });
});
