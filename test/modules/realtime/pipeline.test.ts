import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { createDirectory, signIn } from '../../helpers/inventory';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/** A socket may send scans without waiting for their acks: effects and acks keep the socket's order. */
describe.each(testDatabases())('pipelined scans on $name', (db) => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  beforeAll(async () => (server = await startServer(db)));
  afterEach(() => closeAll(sockets));
  afterAll(() => server.close());

  it('100 scans sent at once are applied and acked in the order sent; a lookup after them sees them all', async () => {
    const { token, api } = await signIn(server, 'pipeline');
    const id = await createDirectory(api, '流水');
    const socket = await connect(server.url, token);
    sockets.push(socket);
    // in, in, out, in, in, out...: an out refused for stock would show an order broken.
    const ops = Array.from({ length: 100 }, (_, i) => (i % 3 === 2 ? 'out' : 'in'));
    ops.forEach((op, i) => socket.send({ type: 'scan', id: `pipe-${i}`, directoryId: id, op, code: 'P' }));
    socket.send({ type: 'lookup', id: 'after', directoryId: id, code: 'P' });
    const lookup = await socket.next((f) => f.type === 'ack' && f.id === 'after');
    const acks = socket.received.filter((f) => f.type === 'ack');
    expect(acks.map((a) => a.id)).toEqual([...ops.map((_, i) => `pipe-${i}`), 'after']);
    expect(acks.slice(0, 100).every((a) => a.ok)).toBe(true);
    let count = 0;
    expect(acks.slice(0, 100).map((a) => a.result.goods.count)).toEqual(ops.map((op) => (count += op === 'in' ? 1 : -1)));
    expect(acks.slice(0, 100).map((a) => a.result.revision)).toEqual(ops.map((_, i) => i + 1));
    expect(lookup.result.goods.count).toBe(count);
  });
});
