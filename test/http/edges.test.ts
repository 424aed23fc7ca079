import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { goodsPath, scan, signIn } from '../helpers/inventory';
import { connect, TestSocket } from '../helpers/ws';

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

  it("a request line over the limit is 400 bad_request in SPEC's shape", async () => {
    const response = await fetch(`${server.url}/api/me?x=${'a'.repeat(150_000)}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'bad_request', message: 'request line and headers are too large' } });
  });
});

describe(`shutting down on ${db.name}`, () => {
  it('answers a WebSocket upgrade that arrives during shutdown with 503 and still finishes closing', async () => {
    const server = await startServer(db);
    const token = await server.login('edges-shutdown');
    const open = await connect(server.url, token);
    let closed = false;
    const closing = server.app.close().then(() => (closed = true));
    // The open socket got its 1001; a phone reconnects at once, while the server is still closing.
    const refused = await TestSocket.open(server.url, { token }).then(
      () => 'opened',
      (error: Error) => error.message,
    );
    expect(refused).toBe('upgrade refused with HTTP 503');
    expect((await open.closed).code).toBe(1001);
    // A guard against hanging, not a timing assertion: close() must end on its own.
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    expect(closed).toBe(true);
    await server.close().catch(() => undefined);
  });
});
