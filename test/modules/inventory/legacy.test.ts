import type { BusMessage } from '../../../src/modules/realtime/bus';
import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { request } from '../../helpers/http';
import { busDelivered, countOf, createDirectory, directoryState, legacyPost, signIn } from '../../helpers/inventory';

const ROUTES = ['/checkqr/', '/datain/', '/dataout/', '/query/', '/builddir/'];

describe.each(testDatabases())('the seed mini-program routes on $name', (db) => {
  let server: TestServer;
  const published: BusMessage[] = [];
  beforeAll(async () => {
    server = await startServer(db);
    server.app.services.bus.subscribe((message) => published.push(message));
  });
  afterAll(() => server.close());

  it("replays the seed's flow: builddir, datain ×2, checkqr, dataout to zero and past it, query", async () => {
    const { token: cookie, api } = await signIn(server, 'legacy-flow');
    const post = async (path: string, form: Record<string, string>) => {
      const answer = await legacyPost(server, path, form);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toContain('application/json');
      return answer.body;
    };
    const dir = '小卖部';
    const code = '6920202888883';

    expect(await post('/builddir/', { cookie, dirname: dir })).toEqual({ status: '已成功建立仓库小卖部' });
    expect(await post('/datain/', { code, name: '矿泉水', remarks: '550ml', cookie, dir })).toEqual({ cur_count: 1, exist: 'newone' });
    expect(await post('/datain/', { code, name: '', remarks: '', cookie, dir })).toEqual({ cur_count: 2, exist: 'existed' });
    expect(await post('/checkqr/', { code, cookie, dir })).toEqual({ name: '矿泉水', remarks: '550ml', count: 2 });
    expect(await post('/checkqr/', { code: 'unknown', cookie, dir })).toEqual({ exist: 'none_existed' });
    expect(await post('/dataout/', { code, cookie, dir })).toEqual({ exist: 'existed', cur_count: 1 });
    expect(await post('/dataout/', { code, cookie, dir })).toEqual({ exist: 'existed', cur_count: 0 });
    expect(await post('/dataout/', { code, cookie, dir })).toEqual({ exist: 'existed', error: '库存不足' });
    expect(await post('/dataout/', { code: 'unknown', cookie, dir })).toEqual({ exist: 'noneexist', error: '无此商品' });
    await post('/datain/', { code: 'B2', name: '面包', remarks: '', cookie, dir });
    expect(await post('/query/', { cookie })).toEqual({
      dirs: {
        默认: [],
        小卖部: [
          { name: '矿泉水', remark: '550ml', count: 0, code },
          { name: '面包', remark: '', count: 1, code: 'B2' },
        ],
      },
    });

    // The same domain as /api: five changes, each one pushed live.
    const id = (await api.get('/api/directories')).body.directories.find((d: { name: string }) => d.name === dir).id;
    await busDelivered();
    expect(await directoryState(api, id)).toMatchObject({ directory: { revision: 5, freq: 5 } });
    const pushed = published.filter((m) => m.type === 'change' && m.directoryId === id).map((m) => (m.type === 'change' ? [m.change.type, m.change.goods?.count] : null));
    expect(pushed).toEqual([
      ['in', 1],
      ['in', 2],
      ['out', 1],
      ['out', 0],
      ['in', 1],
    ]);
    expect(published.some((m) => m.type === 'directory' && m.event === 'created' && m.directory.id === id)).toBe(true);
  });

  it('answers 用户错误 for a missing or unknown cookie on every route', async () => {
    const { defaultDirectoryId } = await signIn(server, 'legacy-cookie');
    for (const path of ROUTES) {
      for (const cookie of [undefined, '', 'not-a-token']) {
        const form: Record<string, string> = { code: 'c', name: 'n', remarks: '', dir: '默认', dirname: '新仓库' };
        if (cookie !== undefined) form.cookie = cookie;
        const answer = await legacyPost(server, path, form);
        expect({ path, status: answer.status, body: answer.body }).toEqual({ path, status: 200, body: { error: '用户错误' } });
      }
    }
    expect(await countOf((await signIn(server, 'legacy-cookie')).api, defaultDirectoryId, 'c')).toBeNull();
  });

  it("answers each route's own message for a missing, deleted or another user's directory", async () => {
    const me = await signIn(server, 'legacy-nodir');
    const other = await signIn(server, 'legacy-other');
    await createDirectory(other.api, '别人的');
    await other.api.post('/api/sync', { body: { events: [{ eventId: 'o1', directoryId: other.defaultDirectoryId, op: 'in', code: 'c' }] } });
    const gone = await createDirectory(me.api, '已删除');
    await me.api.delete(`/api/directories/${gone}`);

    const messages: [string, string][] = [
      ['/checkqr/', '无此仓库，请重新登陆账户'],
      ['/datain/', '不存在此仓库'],
      ['/dataout/', '无此仓库'],
    ];
    for (const [path, error] of messages) {
      for (const dir of [undefined, '没有这个', '已删除', '别人的']) {
        const form: Record<string, string> = { code: 'c', name: '', remarks: '', cookie: me.token };
        if (dir !== undefined) form.dir = dir;
        const answer = await legacyPost(server, path, form);
        expect({ path, dir, status: answer.status, body: answer.body }).toEqual({ path, dir, status: 200, body: { error } });
      }
    }
    // Nothing reached the other user's directories.
    expect(await countOf(other.api, other.defaultDirectoryId, 'c')).toBe(1);
    expect((await other.api.get('/api/directories')).body.directories.map((d: { revision: number }) => d.revision).sort()).toEqual([0, 1]);
  });

  it('builddir refuses a blank name with 仓库名不能为空 and a taken one with 已有该仓库', async () => {
    const { token: cookie, api } = await signIn(server, 'legacy-builddir');
    for (const dirname of [undefined, '', '   ']) {
      const form: Record<string, string> = { cookie };
      if (dirname !== undefined) form.dirname = dirname;
      expect((await legacyPost(server, '/builddir/', form)).body).toEqual({ error: '仓库名不能为空' });
    }
    expect((await legacyPost(server, '/builddir/', { cookie, dirname: ' 货架 ' })).body).toEqual({ status: '已成功建立仓库货架' });
    expect((await legacyPost(server, '/builddir/', { cookie, dirname: '货架' })).body).toEqual({ error: '已有该仓库' });
    expect((await legacyPost(server, '/builddir/', { cookie, dirname: '默认' })).body).toEqual({ error: '已有该仓库' });
    expect((await api.get('/api/directories')).body.directories.map((d: { name: string }) => d.name).sort()).toEqual(['货架', '默认'].sort());
  });

  it('answers {error: "仅接受POST请求"} to any other method on every route', async () => {
    for (const path of ROUTES) {
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
        const answer = await request(server.url, method, path);
        expect({ path, method, status: answer.status, body: answer.body }).toEqual({ path, method, status: 200, body: { error: '仅接受POST请求' } });
      }
    }
  });
});
