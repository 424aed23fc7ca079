import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { legacyPost, signIn, type TestUser } from '../helpers/inventory';

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

  it('a NUL in a legacy dir answers as an unknown directory does, in each route\'s own words', async () => {
    const dir = '默认\u0000';
    expect((await legacyPost(server, '/scan/checkqr/', { cookie: user.token, code: 'X', dir })).body).toEqual({ error: '无此仓库，请重新登陆账户' });
    expect((await legacyPost(server, '/scan/datain/', { cookie: user.token, code: 'X', name: '', remarks: '', dir })).body).toEqual({ error: '不存在此仓库' });
    expect((await legacyPost(server, '/dataout/', { cookie: user.token, code: 'X', dir: '\u0000' })).body).toEqual({ error: '无此仓库' });
    const goods = (await user.api.get(`/api/directories/${user.defaultDirectoryId}`)).body.goods as { code: string }[];
    expect(goods.map((g) => g.code)).not.toContain('X');
  });
});
