import { Writable } from 'node:stream';
import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { request } from '../../helpers/http';
import { countOf, goodsPath, legacyPost, scan, signIn } from '../../helpers/inventory';
import { encryptProfile } from '../../helpers/wechat';

/**
 * The seed's mini-program switching over unchanged: its exact form requests, at the URLs its app.js
 * calls (`https://<host>/scan/<route>/`) and at the root (a proxy that strips the prefix).
 */
const PREFIXES = ['/scan', ''];
let codes = 0;

describe.each(testDatabases())("the seed's app against scancode on $name", (db) => {
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db)));
  afterAll(() => server.close());

  /** POST a form the way the app does, and the JSON it got (always 200). */
  async function post(path: string, form: Record<string, string>): Promise<any> {
    const answer = await legacyPost(server, path, form);
    expect(answer.status).toBe(200);
    return answer.body;
  }

  /** The app's launch: wx.login + getUserInfo, then /login/ with code, encrypteddata and iv. */
  async function launch(prefix: string, name: string): Promise<{ cookie: string; dirs: string[] }> {
    const code = `${name}#${++codes}`;
    const { encryptedData, iv } = encryptProfile(code, { nickName: name, gender: 1, watermark: { appid: server.config.wechat.appId } });
    const body = await post(`${prefix}/login/`, { code, encrypteddata: encryptedData, iv });
    expect(body.info).toMatchObject({ nickName: name, cookie: expect.any(String) });
    return { cookie: body.info.cookie, dirs: body.dirs };
  }

  describe.each(PREFIXES)('under "%s"', (prefix) => {
    it('the whole journey: login, builddir, datain, checkqr, dataout, query', async () => {
      const user = `journey${prefix.replace('/', '-')}`;
      const first = await launch(prefix, user);
      expect(first.dirs).toEqual(['默认']);
      const { cookie } = first;
      expect(await post(`${prefix}/builddir/`, { cookie, dirname: '仓库A' })).toEqual({ status: '已成功建立仓库仓库A' });
      const dir = '仓库A';
      expect(await post(`${prefix}/datain/`, { code: '6901234567892', name: '可口可乐', remarks: '330ml', cookie, dir })).toEqual({ cur_count: 1, exist: 'newone' });
      expect(await post(`${prefix}/datain/`, { code: '6901234567892', name: '', remarks: '', cookie, dir })).toEqual({ cur_count: 2, exist: 'existed' });
      expect(await post(`${prefix}/checkqr/`, { code: '6901234567892', cookie, dir })).toEqual({ name: '可口可乐', remarks: '330ml', count: 2 });
      expect(await post(`${prefix}/dataout/`, { code: '6901234567892', cookie, dir })).toEqual({ exist: 'existed', cur_count: 1 });
      expect(await post(`${prefix}/query/`, { cookie })).toEqual({ dirs: { 默认: [], 仓库A: [{ name: '可口可乐', remark: '330ml', count: 1, code: '6901234567892' }] } });
      const again = await launch(prefix, user);
      expect(again.dirs).toEqual(['默认', '仓库A']);
      // Any other method: the seed's answer.
      const get = await request(server.url, 'GET', `${prefix}/query/`);
      expect(get.body).toEqual({ error: '仅接受POST请求' });
    });
  });

  it('lists warehouses in creation order on /login/ and /query/ after the most used one changed; /api keeps freq order', async () => {
    const { cookie } = await launch('/scan', 'order');
    await post('/scan/builddir/', { cookie, dirname: '甲' });
    await post('/scan/builddir/', { cookie, dirname: '乙' });
    for (let i = 0; i < 3; i++) await post('/scan/datain/', { code: `B${i}`, name: '', remarks: '', cookie, dir: '乙' });
    await post('/scan/datain/', { code: 'A0', name: '', remarks: '', cookie, dir: '甲' });
    const { dirs } = await launch('/scan', 'order');
    expect(dirs).toEqual(['默认', '甲', '乙']);
    expect(Object.keys((await post('/scan/query/', { cookie })).dirs)).toEqual(['默认', '甲', '乙']);
    const api = await request(server.url, 'GET', '/api/directories', { token: cookie });
    expect(api.body.directories.map((d: { name: string }) => d.name)).toEqual(['乙', '甲', '默认']);
  });

  it('a warehouse typed with spaces is created trimmed and then found by the name as typed', async () => {
    const { cookie } = await launch('/scan', 'spaces');
    expect(await post('/scan/builddir/', { cookie, dirname: ' 仓库B ' })).toEqual({ status: '已成功建立仓库仓库B' });
    const dir = ' 仓库B ';
    expect(await post('/scan/datain/', { code: '6920000000001', name: '纸箱', remarks: '', cookie, dir })).toEqual({ cur_count: 1, exist: 'newone' });
    expect(await post('/scan/checkqr/', { code: '6920000000001', cookie, dir })).toEqual({ name: '纸箱', remarks: '', count: 1 });
    expect(await post('/scan/checkqr/', { code: '6920000000001', cookie, dir: '仓库B' })).toEqual({ name: '纸箱', remarks: '', count: 1 });
    expect(await post('/scan/dataout/', { code: '6920000000001', cookie, dir })).toEqual({ exist: 'existed', cur_count: 0 });
    expect(await post('/scan/builddir/', { cookie, dirname: '仓库B' })).toEqual({ error: '已有该仓库' });
  });

  it.each([
    ['a 588-character Wi-Fi QR code', `WIFI:T:WPA;S:warehouse;P:${'x'.repeat(588 - 'WIFI:T:WPA;S:warehouse;P:;;'.length)};;`],
    ['a 7,089-digit QR code', '1234567890'.repeat(709).slice(0, 7089)],
  ])('%s is scanned in, looked up and out, by the app and over /api', async (_label, code) => {
    const { cookie } = await launch('/scan', `long${code.length}`);
    expect([588, 7089]).toContain(code.length);
    const dir = '默认';
    expect(await post('/scan/datain/', { code, name: 'WIFI', remarks: '', cookie, dir })).toEqual({ cur_count: 1, exist: 'newone' });
    expect(await post('/scan/datain/', { code, name: '', remarks: '', cookie, dir })).toEqual({ cur_count: 2, exist: 'existed' });
    expect(await post('/scan/checkqr/', { code, cookie, dir })).toEqual({ name: 'WIFI', remarks: '', count: 2 });
    expect(await post('/scan/dataout/', { code, cookie, dir })).toEqual({ exist: 'existed', cur_count: 1 });
    const { directories } = (await request(server.url, 'GET', '/api/directories', { token: cookie })).body;
    const api = (await request(server.url, 'GET', goodsPath(directories[0].id, code), { token: cookie })).body;
    expect(api.goods).toMatchObject({ code, count: 1 });
    const query = await post('/scan/query/', { cookie });
    expect(query.dirs.默认).toEqual([{ name: 'WIFI', remark: '', count: 1, code }]);
  });

  it('codes that differ only by trailing spaces are two goods; a trailing CR/LF is dropped', async () => {
    const { api, defaultDirectoryId: id } = await signIn(server, 'pad');
    expect((await scan(api, id, { op: 'in', code: 'PAD-1', qty: 2 })).body).toMatchObject({ goods: { code: 'PAD-1', count: 2 }, created: true });
    expect((await scan(api, id, { op: 'in', code: 'PAD-1 ', qty: 5 })).body).toMatchObject({ goods: { code: 'PAD-1 ', count: 5 }, created: true });
    expect((await scan(api, id, { op: 'in', code: 'PAD-1\r\n' })).body).toMatchObject({ goods: { code: 'PAD-1', count: 3 }, created: false });
    expect((await scan(api, id, { op: 'in', code: 'pad-1' })).body).toMatchObject({ goods: { code: 'pad-1', count: 1 }, created: true });
    expect(await countOf(api, id, 'PAD-1')).toBe(3);
    expect(await countOf(api, id, 'PAD-1 ')).toBe(5);
    expect(await countOf(api, id, 'PAD-1\n')).toBe(3);
    const goods = (await api.get(`/api/directories/${id}`)).body.goods.map((g: { code: string; count: number }) => [g.code, g.count]);
    expect(goods).toEqual([
      ['PAD-1', 3],
      ['PAD-1 ', 5],
      ['pad-1', 1],
    ]);
    expect((await scan(api, id, { op: 'in', code: '\r\n' })).body).toEqual({ error: { code: 'bad_request', message: expect.stringContaining('code must not be empty') } });
  });

  it('a 140-character goods name is kept whole, by the app and over /api; 141 is refused', async () => {
    const { token: cookie, api, defaultDirectoryId: id } = await signIn(server, 'longname');
    const name = '名'.repeat(140);
    expect(await post('/scan/datain/', { code: 'N1', name, remarks: '', cookie, dir: '默认' })).toEqual({ cur_count: 1, exist: 'newone' });
    expect(await post('/scan/checkqr/', { code: 'N1', cookie, dir: '默认' })).toMatchObject({ name });
    expect((await scan(api, id, { op: 'in', code: 'N2', name })).body.goods.name).toBe(name);
    expect((await api.patch(goodsPath(id, 'N2'), { body: { name: `${name}x` } })).status).toBe(400);
  });
});

describe.each(testDatabases().slice(0, 1))('dev login with the seed app on $name', (db) => {
  it("logs the seed app in with an empty profile when its encrypteddata does not open with the fake's session key, and says so in the log", async () => {
    const lines: string[] = [];
    const logStream = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) });
    const server = await startServer(db, { devLogin: true, env: { LOG_LEVEL: 'warn' }, deps: { logStream } });
    try {
      // What the real WeChat gave the app: encrypted with a session key the fake never issued.
      const encrypteddata = Buffer.alloc(96, 3).toString('base64');
      const iv = Buffer.alloc(16, 9).toString('base64');
      const answer = await legacyPost(server, '/scan/login/', { code: 'devseed', encrypteddata, iv });
      expect(answer.body).toMatchObject({ dirs: ['默认'], status: '已创建并登录', info: { nickName: '', cookie: expect.any(String) } });
      const api = await request(server.url, 'POST', '/api/login', { body: { code: 'devseed#2', encryptedData: encrypteddata, iv } });
      expect(api.status).toBe(200);
      expect(lines.some((line) => line.includes('dev login') && line.includes('empty profile'))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('outside dev login the same request is refused with the seed message for decrypt_failed', async () => {
    const server = await startServer(db);
    try {
      const answer = await legacyPost(server, '/scan/login/', { code: 'prodseed', encrypteddata: Buffer.alloc(96, 3).toString('base64'), iv: Buffer.alloc(16, 9).toString('base64') });
      expect(answer.body).toEqual({ error: '用户数据解密失败' });
    } finally {
      await server.close();
    }
  });
});
