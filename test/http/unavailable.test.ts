import { startServer, type TestServer } from '../helpers/app';
import { mysqlOnly } from '../helpers/db';
import { client, request } from '../helpers/http';
import { startRelayFor, type Relay } from '../helpers/relay';
import { connect } from '../helpers/ws';

const [db] = mysqlOnly();

/**
 * MariaDB reached through a relay that the test cuts: clients get 503 `unavailable`, then service again.
 * (Skipped only when TEST_DATABASES leaves MariaDB out.)
 */
(db ? describe : describe.skip)('database unreachable on mysql', () => {
  let server: TestServer;
  let relay: Relay;

  beforeAll(async () => {
    const viaRelay = {
      ...db,
      async create() {
        const created = await db.create();
        if (created.config.kind !== 'mysql') throw new Error('mysql only');
        relay = await startRelayFor(created.config.url, 3306);
        return { config: { kind: 'mysql' as const, url: relay.rewrite(created.config.url) }, drop: created.drop };
      },
    };
    server = await startServer(viaRelay);
  });
  afterAll(async () => {
    await relay.restore();
    await server.close();
    await relay.close();
  });

  it('answers 503 unavailable while the database is unreachable, and recovers', async () => {
    const token = await server.login('alice');
    const api = client(server.url, token);
    const directories = (await api.get('/api/directories')).body.directories;
    expect(directories).toHaveLength(1);
    const socket = await connect(server.url, token);

    await relay.cut();
    const ready = await request(server.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error).toMatchObject({ code: 'unavailable', database: 'unavailable', bus: 'ok' });
    const scan = await api.post(`/api/directories/${directories[0].id}/scans`, { body: { op: 'in', code: 'x' } });
    expect(scan.status).toBe(503);
    expect(scan.body.error).toEqual({ code: 'unavailable', message: expect.any(String) });
    // An authenticated socket's scan takes the mutation path straight to the pool: the same answer.
    const ack = await socket.request({ type: 'scan', id: 'cut-1', directoryId: directories[0].id, op: 'in', code: 'x' });
    expect(ack).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    await socket.close();
    expect((await request(server.url, 'GET', '/healthz')).status).toBe(200);

    await relay.restore();
    let recovered = await request(server.url, 'GET', '/readyz');
    for (let attempt = 0; attempt < 20 && recovered.status !== 200; attempt++) recovered = await request(server.url, 'GET', '/readyz');
    expect(recovered.status).toBe(200);
    expect((await api.post(`/api/directories/${directories[0].id}/scans`, { body: { op: 'in', code: 'x' } })).status).toBe(200);
  });
});
