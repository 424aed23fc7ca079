import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { goodsPath, scan, signIn } from '../helpers/inventory';

/** Answers at the edges, where fastify or node would answer with their own bodies: SPEC's shape. */
const [db] = testDatabases();

describe(`edges of HTTP on ${db.name}`, () => {
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db)));
  afterAll(() => server.close());

  it('GET /ws without an upgrade is 400 bad_request, not an empty 404', async () => {
    const response = await fetch(`${server.url}/ws`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'bad_request', message: 'GET /ws takes a WebSocket upgrade' } });
  });

  it('a goods whose code is 2,000 emoji is scanned in and read back by its path (request line over 16 KiB)', async () => {
    const { api, defaultDirectoryId: id } = await signIn(server, 'edges-long');
    const code = '📦'.repeat(2000);
    expect((await scan(api, id, { op: 'in', code })).status).toBe(200);
    const read = await api.get(goodsPath(id, code));
    expect(read.status).toBe(200);
    expect(read.body.goods).toMatchObject({ code, count: 1 });
    expect((await api.delete(goodsPath(id, code))).status).toBe(204);
  });

  it('a request line over the limit is 400 bad_request in SPEC\'s shape', async () => {
    const response = await fetch(`${server.url}/api/me?x=${'a'.repeat(150_000)}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'bad_request', message: 'request line and headers are too large' } });
  });
});
