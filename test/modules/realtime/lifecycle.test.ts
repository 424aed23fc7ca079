import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { closeAll, connect, TestSocket } from '../../helpers/ws';

describe.each(testDatabases())('WebSocket liveness and shutdown on $name', (db) => {
  describe('heartbeat', () => {
    let server: TestServer;
    const sockets: TestSocket[] = [];

    beforeAll(async () => {
      server = await startServer(db, { config: { heartbeatMs: 300 } });
    });
    afterAll(async () => {
      await closeAll(sockets);
      await server.close();
    });

    it('terminates a socket that stops answering pings, and keeps one that answers', async () => {
      const token = await server.login('alice');
      const answering = await connect(server.url, token);
      const silent = await TestSocket.open(server.url, { token, autoPong: false });
      sockets.push(answering, silent);
      expect(await silent.next('hello')).toMatchObject({ heartbeatMs: 300 });

      // Terminated, not closed: there is no one at the other end to hand a close frame to.
      expect((await silent.closed).code).toBe(1006);
      // The answering one has lived through the same intervals, and still works.
      expect(await answering.request({ type: 'ping' })).toMatchObject({ ok: true });
    });
  });

  describe('shutdown', () => {
    it('closes every socket with 1001, and app.close() does not wait for a client that does not answer', async () => {
      const server = await startServer(db, { deps: { realtime: { shutdownGraceMs: 200 } } });
      const token = await server.login('alice');
      const authenticated = await connect(server.url, token);
      const anonymous = await TestSocket.open(server.url);
      const asleep = await connect(server.url, token);
      // A phone that does not read any more cannot answer the close handshake.
      (asleep.ws as unknown as { _socket: { pause(): void } })._socket.pause();

      await server.close();
      expect(await authenticated.closed).toEqual({ code: 1001, reason: 'server shutting down' });
      expect(await anonymous.closed).toEqual({ code: 1001, reason: 'server shutting down' });
      expect(authenticated.received.at(-1)).toMatchObject({ type: 'hello' });
      (asleep.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      expect((await asleep.closed).code).toBeGreaterThan(0);
    });
  });
});
