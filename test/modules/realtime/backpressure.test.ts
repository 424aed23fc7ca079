import { WebSocket } from 'ws';
import type { Change } from '../../../src/modules/inventory/views';
import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { connect } from '../../helpers/ws';

const MAX_QUEUED = 256 * 1024;
/** Far more than loopback's socket buffers can hold, so that the server's own queue must fill. */
const MAX_CHANGES = 4000;

describe.each(testDatabases())('a client that stops reading, on $name', (db) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(db, { deps: { realtime: { maxQueuedBytes: MAX_QUEUED } } });
  });
  afterAll(() => server.close());

  it('is closed with 4408, and what the server queues for it stays under the limit plus one frame', async () => {
    const token = await server.login('slowpoke');
    const me = (await client(server.url, token).get('/api/me')).body;
    const ownerId: number = me.user.id;
    const directoryId: number = me.directories[0].id;
    const socket = await connect(server.url, token);
    const { revision } = (await socket.request({ type: 'subscribe', directoryId })).result;
    const [serverSide] = [...server.app.websocketServer.clients];

    // The phone stops reading: its TCP socket is paused, so the kernel's buffers fill, then the server's.
    (socket.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    const bus = server.app.services.bus;
    const change = (r: number): Change => ({
      revision: r,
      type: 'edit',
      code: 'c',
      goods: { id: 1, code: 'c', name: '', remarks: 'x'.repeat(32 * 1024), count: r },
      userId: ownerId,
      nickname: '',
      at: new Date().toISOString(),
    });
    const frameBytes = JSON.stringify({ type: 'change', directoryId, revision: revision + 1, change: change(revision + 1) }).length + 16;
    let maxQueued = 0;
    let published = 0;
    while (serverSide.readyState === WebSocket.OPEN && published < MAX_CHANGES) {
      published++;
      await bus.publish({ type: 'change', directoryId, revision: revision + published, change: change(revision + published) });
      // Let the subscription's chain send it, then look at what the server holds for this client.
      await new Promise((resolve) => setImmediate(resolve));
      maxQueued = Math.max(maxQueued, serverSide.bufferedAmount);
    }
    expect(serverSide.readyState).not.toBe(WebSocket.OPEN);
    expect(maxQueued).toBeLessThanOrEqual(MAX_QUEUED + frameBytes);

    // Nothing more is queued for it once it is being closed.
    const queuedAtClose = serverSide.bufferedAmount;
    for (let i = 1; i <= 20; i++) await bus.publish({ type: 'change', directoryId, revision: revision + published + i, change: change(revision + published + i) });
    await new Promise((resolve) => setImmediate(resolve));
    expect(serverSide.bufferedAmount).toBeLessThanOrEqual(queuedAtClose);

    // When the phone reads again, it finds the frames it was sent, in order, then the close.
    (socket.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await socket.closed).toMatchObject({ code: 4408 });
    const revisions = socket.revisions(directoryId);
    expect(revisions).toEqual(revisions.map((_, i) => revision + 1 + i));
    expect(revisions.length).toBeLessThan(published);
  });
});
