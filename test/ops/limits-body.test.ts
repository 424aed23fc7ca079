import { connect as connectTcp, type Socket } from 'node:net';
import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { CapturedLog } from '../helpers/logs';
import { connect, type TestSocket } from '../helpers/ws';

/**
 * BODY_TIMEOUT_MS: a request whose body trickles in is answered (400 `bad_request`, SPEC's shape) and
 * its connection closed once the time is up, however much of it is still to come; a slow request that
 * completes in time, a WebSocket and an idle keep-alive connection are left alone.
 */

const TIMEOUT_MS = 1000;

/** A raw TCP client: what it has received, and whether the server closed the connection. */
class RawClient {
  received = '';
  /** Resolves once the server has closed its side of the connection. */
  readonly ended: Promise<void>;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (this.received += chunk));
    socket.on('error', () => undefined);
    this.ended = new Promise((resolve) => {
      socket.once('end', () => resolve());
      socket.once('close', () => resolve());
    });
  }

  static open(url: string): Promise<RawClient> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      // Half-open allowed: the client goes on sending after the server has finished, as a careless one may.
      const socket = connectTcp({ port: Number(port), host: hostname, allowHalfOpen: true }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes `text` in pieces of `size` characters, `everyMs` apart, until done, answered or closed. */
  async trickle(text: string, size: number, everyMs: number): Promise<number> {
    let sent = 0;
    while (sent < text.length && !this.socket.destroyed && this.received === '') {
      this.socket.write(text.slice(sent, sent + size));
      sent += size;
      if (sent < text.length) await sleep(everyMs);
    }
    return Math.min(sent, text.length);
  }

  /** Resolves once a whole answer (headers and Content-Length of body) has arrived. */
  async answer(): Promise<{ status: number; headers: string; body: string }> {
    for (let waited = 0; waited < 20_000; waited += 10) {
      const parsed = parseAnswer(this.received);
      if (parsed) return parsed;
      await sleep(10);
    }
    throw new Error(`no whole answer; received ${JSON.stringify(this.received)}`);
  }
}

function parseAnswer(text: string): { status: number; headers: string; body: string } | null {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const headers = text.slice(0, end);
  const length = Number(/content-length: *(\d+)/i.exec(headers)?.[1] ?? 0);
  const body = text.slice(end + 4);
  if (Buffer.byteLength(body) < length) return null;
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(headers)?.[1]), headers, body };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const loginRequest = (body: string) => `POST /api/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;

const [db] = testDatabases();

describe(`BODY_TIMEOUT_MS on ${db.name}`, () => {
  let server: TestServer;
  const log = new CapturedLog();
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    server = await startServer(db, { env: { BODY_TIMEOUT_MS: String(TIMEOUT_MS), LOG_LEVEL: 'info' }, deps: { logStream: log.stream } });
  });
  afterAll(async () => {
    for (const socket of sockets) await socket.close();
    await server.close();
  });

  it('answers a request whose body trickles in with bad_request, closes its connection, and never runs it; closes a connection that sends nothing', async () => {
    const silent = await RawClient.open(server.url);
    const client = await RawClient.open(server.url);
    // 60 bytes at one every 200 ms would take 12 s.
    const body = JSON.stringify({ code: 'trickle#1', deviceId: 'd'.repeat(26) });
    client.socket.write(loginRequest(body));
    const sent = await client.trickle(body, 1, 200);
    const answer = await client.answer();
    expect(sent).toBeLessThan(Buffer.byteLength(body));
    // The rest of the body, sent after the answer, completes nothing: the connection is gone.
    if (!client.socket.destroyed) client.socket.write(body.slice(sent));
    await client.ended;
    expect(answer.status).toBe(400);
    expect(answer.headers).toMatch(/content-type: application\/json/i);
    expect(JSON.parse(answer.body)).toEqual({ error: { code: 'bad_request', message: `the request did not arrive within ${TIMEOUT_MS} ms of its first byte; send it again` } });
    // A login sent afterwards reaches WeChat; the trickled one never does.
    expect((await fetch(`${server.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'after#1' }) })).status).toBe(200);
    expect(server.fake.codes).toContain('after#1');
    expect(server.fake.codes).not.toContain('trickle#1');
    // A connection that never sent a byte has no request to answer: it is closed without a word, lest
    // a client read that answer as the answer to the request it sends next.
    await silent.ended;
    expect(silent.received).toBe('');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^scancode_rate_limited_total\{limit="body_timeout"\} 1$/m);
  });

  it('leaves alone a slow request that completes in time, a WebSocket and an idle keep-alive connection', async () => {
    const token = await server.login('patient');
    const socket = await connect(server.url, token);
    sockets.push(socket);

    const client = await RawClient.open(server.url);
    const body = JSON.stringify({ code: 'slow#1' });
    client.socket.write(loginRequest(body));
    // Three pieces, well within the time.
    await client.trickle(body, Math.ceil(body.length / 3), 50);
    const first = await client.answer();
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body).token).toEqual(expect.any(String));

    // Idle past the timeout, the same connection serves the next request; the socket still answers.
    await sleep(TIMEOUT_MS * 2.5);
    client.received = '';
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n');
    const second = await client.answer();
    expect(second.status).toBe(200);
    client.socket.end();
    expect((await socket.request({ type: 'ping' })).ok).toBe(true);
    expect(log.find('websocket closed')).toEqual([]);
  });
});
