import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/app';
import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { all, createDirectory, directoryState, goodsPath, legacyPost, queryDatabase, scan, signIn } from '../../helpers/inventory';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * SPEC's stored-size caps (MAX_DIRECTORIES_PER_USER, MAX_GOODS_PER_DIRECTORY): a create past them is
 * refused with 409 quota_exceeded and its `limit`, over HTTP, the socket and the legacy routes alike,
 * and requests racing for the last place cannot take more than there is.
 */
const MAX_DIRECTORIES = 4;
const MAX_GOODS = 6;

describe.each(testDatabases())('caps on what a user stores, on $name', (db) => {
  let server: TestServer;
  /** A second server on the same database: its mutations race the first's in their own transactions. */
  let other: FastifyInstance;
  let otherUrl: string;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    server = await startServer(db, { config: { storage: { maxDirectoriesPerUser: MAX_DIRECTORIES, maxGoodsPerDirectory: MAX_GOODS } } });
    other = await buildApp(server.config);
    await other.listen({ host: '127.0.0.1', port: 0 });
    otherUrl = `http://127.0.0.1:${(other.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await closeAll(sockets);
    await other.close();
    await server.close();
  });

  const quota = (limit: number) => ({ code: 'quota_exceeded', limit });

  it('refuses a directory past MAX_DIRECTORIES_PER_USER on every route; a deleted one frees its place', async () => {
    const { api, token } = await signIn(server, 'many-dirs');
    // 默认 is the first.
    for (let i = 1; i < MAX_DIRECTORIES; i++) await createDirectory(api, `仓库${i}`);

    const refused = await api.post('/api/directories', { body: { name: 'one too many' } });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject(quota(MAX_DIRECTORIES));
    const socket = await connect(server.url, token);
    sockets.push(socket);
    const ack = await socket.request({ type: 'createDirectory', name: 'one too many' });
    expect(ack).toMatchObject({ ok: false, error: quota(MAX_DIRECTORIES) });
    expect((await legacyPost(server, '/builddir/', { cookie: token, dirname: 'one too many' })).body).toEqual({ error: `已达仓库数量上限（${MAX_DIRECTORIES}个），请先删除不用的仓库` });
    expect((await api.get('/api/directories')).body.directories).toHaveLength(MAX_DIRECTORIES);

    const [first] = (await api.get('/api/directories')).body.directories;
    expect((await api.delete(`/api/directories/${first.id}`)).status).toBe(204);
    expect((await legacyPost(server, '/builddir/', { cookie: token, dirname: 'in its place' })).body).toEqual({ status: '已成功建立仓库in its place' });
    expect((await api.post('/api/directories', { body: { name: 'and no more' } })).status).toBe(409);
  });

  it('lets exactly the free places be taken by creates racing on two servers', async () => {
    const { api, token } = await signIn(server, 'racing-dirs');
    const elsewhere = client(otherUrl, token);
    const answers = await all(12, (i) => (i % 2 === 0 ? api : elsewhere).post('/api/directories', { body: { name: `抢${i}` } }));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(MAX_DIRECTORIES - 1);
    for (const refused of answers.filter((a) => a.status !== 201)) {
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject(quota(MAX_DIRECTORIES));
    }
    expect((await api.get('/api/directories')).body.directories).toHaveLength(MAX_DIRECTORIES);
  });

  it('refuses a new goods past MAX_GOODS_PER_DIRECTORY on every route, while the goods it has still scan; a removal frees a place', async () => {
    const { api, token, defaultDirectoryId: directoryId } = await signIn(server, 'many-goods');
    for (let i = 0; i < MAX_GOODS; i++) expect((await scan(api, directoryId, { op: i % 2 === 0 ? 'in' : 'set', code: `G${i}`, qty: 3 })).status).toBe(200);

    for (const op of ['in', 'set']) {
      const refused = await scan(api, directoryId, { op, code: 'G-new', qty: 1 });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject(quota(MAX_GOODS));
    }
    const socket = await connect(server.url, token);
    sockets.push(socket);
    expect(await socket.request({ type: 'scan', id: 'quota-1', directoryId, op: 'in', code: 'G-new', qty: 1 })).toMatchObject({ ok: false, error: quota(MAX_GOODS) });
    const name = (await directoryState(api, directoryId)).directory.name;
    expect((await legacyPost(server, '/datain/', { cookie: token, dir: name, code: 'G-new', name: '', remarks: '' })).body).toEqual({
      error: `已达商品数量上限（${MAX_GOODS}种），请先删除不用的商品`,
    });

    // What it holds still counts in and out; nothing refused was stored.
    expect((await scan(api, directoryId, { op: 'in', code: 'G0', qty: 1 })).body).toMatchObject({ goods: { count: 4 } });
    expect((await scan(api, directoryId, { op: 'out', code: 'G1', qty: 3 })).body).toMatchObject({ goods: { count: 0 } });
    let state = await directoryState(api, directoryId);
    expect(state.goods.map((g) => g.code)).toEqual(Array.from({ length: MAX_GOODS }, (_, i) => `G${i}`));
    expect(state.directory.goodsCount).toBe(MAX_GOODS);

    expect((await api.delete(goodsPath(directoryId, 'G1'))).status).toBe(204);
    expect((await scan(api, directoryId, { op: 'in', code: 'G-new', qty: 1 })).status).toBe(200);
    expect((await scan(api, directoryId, { op: 'in', code: 'G-newer', qty: 1 })).status).toBe(409);
    state = await directoryState(api, directoryId);
    expect(state.goods).toHaveLength(MAX_GOODS);
    const [row] = await queryDatabase<{ goods_count: number }>(server, 'select goods_count from directories where id = ?', [directoryId]);
    expect(Number(row.goods_count)).toBe(MAX_GOODS);
  });

  it('lets exactly the free places be taken by new goods racing on two servers, in batches and alone', async () => {
    const { api, token } = await signIn(server, 'racing-goods');
    const directoryId = await createDirectory(api, '抢位');
    const elsewhere = client(otherUrl, token);
    await scan(api, directoryId, { op: 'in', code: 'already', qty: 1 });
    // Singles and syncs of several events, on both servers at once: one place taken, five left.
    const singles = all(10, (i) => scan(i % 2 === 0 ? api : elsewhere, directoryId, { op: 'in', code: `single-${i}`, qty: 1 }));
    const syncs = all(4, (i) =>
      (i % 2 === 0 ? api : elsewhere).post('/api/sync', {
        body: { events: Array.from({ length: 3 }, (_, j) => ({ eventId: `race-${i}-${j}`, directoryId, op: 'in', code: `sync-${i}-${j}`, qty: 1 })) },
      }),
    );
    const [singleAnswers, syncAnswers] = await Promise.all([singles, syncs]);
    const results = [
      ...singleAnswers.map((a) => (a.status === 200 ? 'ok' : a.body.error)),
      ...syncAnswers.flatMap((a) => a.body.results.map((r: { ok: boolean; error?: unknown }) => (r.ok ? 'ok' : r.error))),
    ];
    expect(results.filter((r) => r === 'ok')).toHaveLength(MAX_GOODS - 1);
    for (const refused of results.filter((r) => r !== 'ok')) expect(refused).toMatchObject(quota(MAX_GOODS));

    const state = await directoryState(api, directoryId);
    expect(state.goods).toHaveLength(MAX_GOODS);
    expect(state.directory.goodsCount).toBe(MAX_GOODS);
    const [row] = await queryDatabase<{ goods_count: number }>(server, 'select goods_count from directories where id = ?', [directoryId]);
    expect(Number(row.goods_count)).toBe(MAX_GOODS);
  });
});
