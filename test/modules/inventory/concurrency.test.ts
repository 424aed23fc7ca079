import { startServer, type TestServer } from '../../helpers/app';
import { mysqlOnly, testDatabases } from '../../helpers/db';
import { all, allLogs, countOf, createDirectory, directoryState, scan, signIn, type TestUser } from '../../helpers/inventory';

/**
 * Many requests at once against one directory. MariaDB is the real multi-connection case (row locks,
 * unique keys under contention); the embedded SQLite runs a smaller version of the same stories.
 */
const targets = [
  ...mysqlOnly().map((db) => ({ db, name: db.name, stock: 100 })),
  ...testDatabases()
    .filter((db) => db.name === 'sqlite')
    .map((db) => ({ db, name: db.name, stock: 20 })),
];

describe.each(targets)('concurrent scans on $name', ({ db, stock }) => {
  let server: TestServer;
  let user: TestUser;
  beforeAll(async () => {
    server = await startServer(db);
    user = await signIn(server, 'concurrent');
  });
  afterAll(() => server.close());

  it.each([
    ['with event ids', (i: number) => `take-${i}`],
    ['without event ids', () => undefined],
  ])(`${2 * stock} concurrent \`out\` of 1 against a count of ${stock} (%s): exactly ${stock} succeed`, async (label, eventId) => {
    const { api } = user;
    const id = await createDirectory(api, `抢购 ${label}`);
    expect((await scan(api, id, { op: 'set', code: 'LAST', qty: stock })).status).toBe(200);

    const answers = await all(2 * stock, (i) => scan(api, id, { op: 'out', code: 'LAST', eventId: eventId(i) }));

    const taken = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    expect(taken).toHaveLength(stock);
    expect(refused).toHaveLength(stock);
    for (const answer of refused) expect(answer.body).toEqual({ error: { code: 'insufficient_stock', message: expect.any(String), count: 0 } });
    // Each success took a different unit, at a different revision.
    expect(taken.map((a) => a.body.goods.count).sort((a, b) => a - b)).toEqual(Array.from({ length: stock }, (_, i) => i));
    expect(taken.map((a) => a.body.revision).sort((a, b) => a - b)).toEqual(Array.from({ length: stock }, (_, i) => i + 2));
    expect(taken.every((a) => a.body.delta === -1 && a.body.duplicate === false)).toBe(true);

    expect(await countOf(api, id, 'LAST')).toBe(0);
    expect(await directoryState(api, id)).toMatchObject({ directory: { revision: stock + 1, freq: stock + 1, totalCount: 0 } });
    // The log: the create entry, the set, one entry per unit taken, and no gap.
    const logs = await allLogs(api, id);
    expect(logs.map((l) => l.revision)).toEqual(Array.from({ length: stock + 2 }, (_, i) => stock + 1 - i));
    expect(
      logs
        .filter((l) => l.type === 'out')
        .map((l) => l.countAfter)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: stock }, (_, i) => i));
  });

  it('one event id sent 10 times at once is applied once', async () => {
    const { api } = user;
    const id = await createDirectory(api, '重发');
    await scan(api, id, { op: 'in', code: 'ONCE', qty: 50 });

    const answers = await all(10, () => scan(api, id, { op: 'out', code: 'ONCE', qty: 7, eventId: 'retry-storm' }));

    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    const original = answers.filter((a) => a.body.duplicate === false);
    expect(original).toHaveLength(1);
    expect(answers.filter((a) => a.body.duplicate === true)).toHaveLength(9);
    for (const answer of answers) expect(answer.body).toEqual({ ...original[0].body, duplicate: answer.body.duplicate });
    expect(original[0].body).toMatchObject({ goods: { count: 43 }, delta: -7, revision: 2 });
    expect(await countOf(api, id, 'ONCE')).toBe(43);
    expect(await directoryState(api, id)).toMatchObject({ directory: { revision: 2 } });
  });

  it('one refused event id sent 10 times at once is refused 10 times, recorded once', async () => {
    const { api } = user;
    const id = await createDirectory(api, '重发拒绝');
    await scan(api, id, { op: 'in', code: 'FEW', qty: 2 });

    const answers = await all(10, () => scan(api, id, { op: 'out', code: 'FEW', qty: 3, eventId: 'refused-storm' }));

    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(409));
    expect(answers.filter((a) => a.body.error.duplicate === undefined)).toHaveLength(1);
    expect(answers.filter((a) => a.body.error.duplicate === true)).toHaveLength(9);
    for (const answer of answers) expect(answer.body.error).toMatchObject({ code: 'insufficient_stock', count: 2 });
    expect(await countOf(api, id, 'FEW')).toBe(2);
    expect(await directoryState(api, id)).toMatchObject({ directory: { revision: 1 } });
  });

  it('directories at once: one name is created once, a directory is deleted once', async () => {
    const { api } = user;
    const creates = await all(10, () => api.post('/api/directories', { body: { name: '同名' } }));
    expect(creates.filter((a) => a.status === 201)).toHaveLength(1);
    for (const answer of creates.filter((a) => a.status !== 201)) expect(answer).toMatchObject({ status: 409, body: { error: { code: 'name_taken' } } });
    const id = creates.find((a) => a.status === 201)?.body.directory.id;

    const deletes = await all(5, () => api.delete(`/api/directories/${id}`));
    expect(deletes.map((a) => a.status).sort()).toEqual([204, 404, 404, 404, 404]);
    const names = (await api.get('/api/directories')).body.directories.map((d: { name: string }) => d.name);
    expect(names).not.toContain('同名');
  });

  it('concurrent `in` of a new code creates it once and counts every unit', async () => {
    const { api } = user;
    const id = await createDirectory(api, '新货');
    const n = Math.min(stock, 50);

    const answers = await all(n, (i) => scan(api, id, { op: 'in', code: 'NEW', eventId: `new-${i}` }));

    expect(answers.map((a) => a.status)).toEqual(Array(n).fill(200));
    expect(answers.filter((a) => a.body.created)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.body.goods.id)).size).toBe(1);
    expect(await countOf(api, id, 'NEW')).toBe(n);
    expect(await directoryState(api, id)).toMatchObject({ directory: { revision: n, goodsCount: 1 } });
  });
});
