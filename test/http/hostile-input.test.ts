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
    expect((await user.api.get(`/api/directories/${user.defaultDirectoryId}`)).body.goods).toEqual([]);
  });
});
