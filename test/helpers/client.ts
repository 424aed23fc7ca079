import type { Duplex } from 'node:stream';
import { buildApp } from '../../src/app';
import { ScancodeClient, wxHttp, wxLoginCode, wxSocket, wxStorage, type ClientOptions } from '../../client/src';
import { startServer, type TestServer } from './app';
import type { TestDatabase } from './db';
import { request } from './http';
import type { FakeWx } from './wx';

/**
 * What the SDK's tests need around a real server: waiting for a client to settle, cutting every socket,
 * restarting the server on its database and port, and reading what the server holds.
 */

/** A phone: the SDK over a fake `wx` against the server, with a quick backoff unless `options` say otherwise. */
export function phoneOf(server: TestServer, wx: FakeWx, options: Partial<ClientOptions> = {}): ScancodeClient {
  return new ScancodeClient({
    url: server.url,
    socket: wxSocket(wx),
    storage: wxStorage(wx),
    http: wxHttp(wx),
    loginCode: wxLoginCode(wx),
    backoff: { baseMs: 20, maxMs: 200 },
    ...options,
  });
}

/**
 * For a describe block of SDK tests: one real server on `db` for the block, and the phones made on it
 * with `phone()`, all closed after it. `server()` is the server of the running test.
 */
export function sdkSuite(db: TestDatabase): { server(): TestServer; phone(wx: FakeWx, options?: Partial<ClientOptions>): ScancodeClient } {
  let server: TestServer | undefined;
  const phones: ScancodeClient[] = [];
  beforeAll(async () => {
    server = await startServer(db);
  });
  afterAll(async () => {
    for (const phone of phones.splice(0)) phone.close();
    await server?.close();
  });
  const current = () => {
    if (!server) throw new Error('sdkSuite: the server is not started yet (call server() inside a test)');
    return server;
  };
  return {
    server: current,
    phone(wx, options) {
      const phone = phoneOf(current(), wx, options);
      phones.push(phone);
      return phone;
    },
  };
}

/** Resolves once `condition` holds (checked every 20 ms); fails after `timeoutMs` saying what it waited for. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Drops every socket on the server side, without a close frame (a phone's network gone: 1006 at the phone). */
export function cutSockets(server: TestServer): number {
  const clients = [...server.app.websocketServer.clients];
  for (const socket of clients) socket.terminate();
  return clients.length;
}

/**
 * Stops the server (its sockets get 1001) and starts a new one on the same database and port, as a
 * deploy does. `server.app` is the new one, and `server.close()` closes it too.
 */
export async function restartServer(server: TestServer, downMs = 300): Promise<void> {
  // A WebSocket upgrade that arrives while the server shuts down is answered 503 by fastify, but its
  // socket is never ended, and app.close() waits for it forever: phones told 1001 reconnect within
  // a second and hit exactly that window. Until the gateway's preClose refuses them itself, they are
  // cut here, as a closed port would.
  server.app.server.prependListener('upgrade', (_request, socket: Duplex) => socket.destroy());
  await server.app.close();
  await new Promise((resolve) => setTimeout(resolve, downMs));
  const app = await buildApp(server.config);
  await app.listen({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
  server.app = app;
  const close = server.close.bind(server);
  server.close = async () => {
    await app.close();
    await close(); // closes the first app again (a no-op), the fake WeChat, and drops the database
  };
}

/** The directory as the server has it: its revision and each code's count. */
export async function serverDirectory(server: TestServer, token: string, directoryId: number): Promise<{ revision: number; counts: Record<string, number> }> {
  const answer = await request(server.url, 'GET', `/api/directories/${directoryId}`, { token });
  if (answer.status !== 200) throw new Error(`GET directory: ${answer.status} ${answer.text}`);
  const counts: Record<string, number> = {};
  for (const goods of answer.body.goods as { code: string; count: number }[]) counts[goods.code] = goods.count;
  return { revision: answer.body.directory.revision, counts };
}

/** Every event id in the directory's log, oldest first, with repeats (there should be none). */
export async function loggedEventIds(server: TestServer, token: string, directoryId: number): Promise<string[]> {
  const ids: string[] = [];
  let before: number | null | undefined;
  do {
    const query = before === undefined ? '' : `&before=${before}`;
    const answer = await request(server.url, 'GET', `/api/directories/${directoryId}/logs?limit=200${query}`, { token });
    if (answer.status !== 200) throw new Error(`GET logs: ${answer.status} ${answer.text}`);
    for (const entry of answer.body.logs as { eventId: string | null }[]) if (entry.eventId !== null) ids.push(entry.eventId);
    before = answer.body.next as number | null;
  } while (before !== null);
  return ids.reverse();
}

/** The token a client keeps in its storage. */
export function storedToken(storage: Map<string, string>, key = 'scancode'): string {
  const session = storage.get(`${key}:session`);
  if (!session) throw new Error('no session in storage');
  return (JSON.parse(session) as { token: string }).token;
}

/** Waits until the client has no scan left to send and its view of the directory is at the server's revision. */
export async function settled(server: TestServer, client: ScancodeClient, token: string, directoryId: number): Promise<void> {
  await eventually(async () => {
    if (client.pending().length > 0) return false;
    const view = client.view(directoryId);
    return view !== null && view.synced && view.revision === (await serverDirectory(server, token, directoryId)).revision;
  }, `client ${client.deviceId} to settle on directory ${directoryId}`);
}
