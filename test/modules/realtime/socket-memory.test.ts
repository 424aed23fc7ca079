import type { IncomingMessage } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

// A full collection on demand, without starting jest with --expose-gc.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/**
 * An open socket keeps nothing of its opening: once it is authenticated and subscribed, the upgrade's
 * IncomingMessage can be collected, so neither the fastify request and reply nor the ServerResponse
 * (which both hold it) are kept for the life of the socket. The database does not matter here.
 */
describe.each(testDatabases().filter((db) => db.name === 'sqlite'))('an idle socket on $name', (db) => {
  let server: TestServer;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    server = await startServer(db);
  });
  afterAll(async () => {
    await closeAll(sockets);
    await server.close();
  });

  it('lets its upgrade request go, and still hears its directory and answers', async () => {
    const upgrades: WeakRef<IncomingMessage>[] = [];
    server.app.server.on('upgrade', (request: IncomingMessage) => upgrades.push(new WeakRef(request)));
    const token = await server.login('memo', { deviceId: 'memo-phone' });
    const api = client(server.url, token);
    const directory = (await api.post('/api/directories', { body: { name: '小仓库' } })).body.directory;
    for (let i = 0; i < 3; i++) {
      const socket = await connect(server.url, token);
      sockets.push(socket);
      expect((await socket.request({ type: 'subscribe', directoryId: directory.id })).ok).toBe(true);
    }
    expect(upgrades).toHaveLength(3);

    // Collections are not promised at once: a few turns, each with a full one.
    for (let attempt = 0; attempt < 20 && upgrades.some((upgrade) => upgrade.deref() !== undefined); attempt++) {
      await new Promise((resolve) => setImmediate(resolve));
      collectGarbage();
    }
    expect(upgrades.filter((upgrade) => upgrade.deref() !== undefined)).toHaveLength(0);

    // What the socket needs after its opening is still there: changes reach every watcher, requests are answered.
    const scan = await api.post(`/api/directories/${directory.id}/scans`, { body: { op: 'in', code: 'tea', qty: 2, eventId: 'memo-1' } });
    expect(scan.status).toBe(200);
    for (const socket of sockets) expect((await socket.next('change')).change).toMatchObject({ code: 'tea', delta: 2 });
    for (const socket of sockets) expect((await socket.request({ type: 'ping' })).ok).toBe(true);
  });
});
