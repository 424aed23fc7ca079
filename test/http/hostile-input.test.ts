import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { legacyPost, signIn, type TestUser } from '../helpers/inventory';
import { encryptProfile, signRawData } from '../helpers/wechat';

/**
 * Input from careless clients and hostile ones, answered as refusals rather than server errors, on
 * every database (the embedded one reads a NUL as the end of a statement).
 */
describe.each(testDatabases())('hostile and careless input on $name', (db) => {
  let server: TestServer;
  let user: TestUser;
  beforeAll(async () => {
    server = await startServer(db);
    user = await signIn(server, 'hostile');
  });
  afterAll(() => server.close());

  /** What `curl -d '<text>'` sends: the text as it is, typed as a form. */
  const curlPost = async (path: string, text: string, token?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const response = await fetch(server.url + path, { method: 'POST', headers, body: text });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('a JSON object sent as curl sends it (a form content type) is read as JSON', async () => {
    const path = `/api/directories/${user.defaultDirectoryId}/scans`;
    const scanned = await curlPost(path, '{"op":"in","code":"6901234567892","qty":2,"name":"a+b=c&d"}', user.token);
    expect(scanned.status).toBe(200);
    expect(scanned.body.goods).toMatchObject({ code: '6901234567892', name: 'a+b=c&d', count: 2 });
    // Strict as JSON is: an unknown field is still named.
    const misspelled = await curlPost(path, '{"op":"in","code":"6901234567892","quantity":5}', user.token);
    expect(misspelled.status).toBe(400);
    expect(misspelled.body.error).toMatchObject({ code: 'bad_request', message: 'quantity is not a known field' });
    const broken = await curlPost(path, '{"op":"in","code":', user.token);
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatchObject({ code: 'bad_request', message: expect.stringContaining('Content-Type: application/json') });
    const poisoned = await curlPost(path, '{"op":"in","code":"X","__proto__":{"admin":true}}', user.token);
    expect(poisoned.status).toBe(400);
    expect(poisoned.body.error).toMatchObject({ code: 'bad_request' });
    expect((await user.api.get(`/api/directories/${user.defaultDirectoryId}`)).body.goods).toHaveLength(1);
  });

  it('real forms are read as forms, on the legacy routes and the login alike', async () => {
    const form = new URLSearchParams({ cookie: user.token, code: '{not json', name: '', remarks: '', dir: '默认' }).toString();
    expect((await curlPost('/scan/datain/', form)).body).toEqual({ cur_count: 1, exist: 'newone' });
    const login = await curlPost('/api/login', 'code=hostile-form%231');
    expect(login.status).toBe(200);
    expect(login.body.token).toEqual(expect.any(String));
  });

  it('a NUL in the goods search is 400 bad_request naming q', async () => {
    const answer = await user.api.get(`/api/directories/${user.defaultDirectoryId}?q=%00`);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^q must be text without NUL/) });
    // Any other search still answers.
    expect((await user.api.get(`/api/directories/${user.defaultDirectoryId}?q=%25_%5C`)).body.goods).toEqual([]);
  });

  it("a NUL in a legacy dir answers as an unknown directory does, in each route's own words", async () => {
    const dir = '默认\u0000';
    expect((await legacyPost(server, '/scan/checkqr/', { cookie: user.token, code: 'X', dir })).body).toEqual({ error: '无此仓库，请重新登陆账户' });
    expect((await legacyPost(server, '/scan/datain/', { cookie: user.token, code: 'X', name: '', remarks: '', dir })).body).toEqual({ error: '不存在此仓库' });
    expect((await legacyPost(server, '/dataout/', { cookie: user.token, code: 'X', dir: '\u0000' })).body).toEqual({ error: '无此仓库' });
    const goods = (await user.api.get(`/api/directories/${user.defaultDirectoryId}`)).body.goods as { code: string }[];
    expect(goods.map((g) => g.code)).not.toContain('X');
  });

  it('a login code with a lone surrogate is 400 bad_request, never sent on to WeChat', async () => {
    const answer = await request(server.url, 'POST', '/api/login', { body: { code: 'lone\ud800#1' } });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'bad_request', message: 'code must be printable ASCII without spaces, as wx.login() returns it' });
    expect((await request(server.url, 'POST', '/api/login', { body: { code: 'with space#1' } })).status).toBe(400);
    expect(server.fake.codes.some((code) => code.startsWith('lone') || code.startsWith('with space'))).toBe(false);
    // The seed's login refuses it in its own words.
    const legacy = await request(server.url, 'POST', '/scan/login/', { body: { code: 'lone\ud800#2' } });
    expect(legacy.body).toEqual({ error: '参数code含有无法保存的字符' });
  });

  it("an avatar URL is http(s) or nothing: PATCH /api/me refuses javascript:, a WeChat profile's is never stored", async () => {
    for (const avatarUrl of ['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', ' https://x.example/a.png']) {
      const refused = await user.api.patch('/api/me', { body: { avatarUrl } });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'bad_request', message: 'avatarUrl must be empty, or an http:// or https:// URL without spaces' });
    }
    const avatarUrl = 'https://thirdwx.qlogo.cn/mmopen/vi_32/avatar/132';
    expect((await user.api.patch('/api/me', { body: { avatarUrl } })).body.user.avatarUrl).toBe(avatarUrl);
    expect((await user.api.patch('/api/me', { body: { avatarUrl: '' } })).body.user.avatarUrl).toBe('');

    // From WeChat's profile, signed or encrypted: the nickname is taken, the avatar is not.
    const rawData = JSON.stringify({ nickName: 'Mallory', avatarUrl: 'javascript:alert(1)' });
    const signed = await request(server.url, 'POST', '/api/login', { body: { code: 'mallory#1', rawData, signature: signRawData('mallory#1', rawData) } });
    expect(signed.body.user).toMatchObject({ nickname: 'Mallory', avatarUrl: '' });
    const encrypted = encryptProfile('mallory#2', { nickName: 'Mallory', avatarUrl: 'JavaScript:alert(1)', watermark: { appid: server.config.wechat.appId } });
    const legacy = await request(server.url, 'POST', '/scan/login/', { form: { code: 'mallory#2', encrypteddata: encrypted.encryptedData, iv: encrypted.iv } });
    expect(legacy.body.info).toMatchObject({ nickName: 'Mallory', avatarUrl: '' });
    const me = await request(server.url, 'GET', '/api/me', { token: legacy.body.info.cookie as string });
    expect(me.body.user.avatarUrl).toBe('');
  });
});
