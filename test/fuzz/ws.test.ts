import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import WebSocket from 'ws';
import { CloseCode, MAX_FRAME_BYTES, ServerFrame } from '../../src/contract';
import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { createDirectory, scan, signIn, type TestUser } from '../helpers/inventory';
import {
  DIR,
  KNOWN_CODES,
  OTHER_TOKEN,
  SEED,
  TOKEN,
  codeish,
  dirIdish,
  eventIdish,
  fill,
  garbageText,
  hostileNumber,
  jsonText,
  junk,
  mutated,
  validScanFields,
  wsErrorProblem,
  type Live,
} from './arbitraries';

/**
 * Hostile frames on `/ws`, on each database: valid frames of every type spoiled (wrong types, extra
 * keys, `__proto__`, NUL, lone surrogates, huge and odd ids, unknown types), garbage text, binary frames,
 * `auth` again on an authenticated socket, all on a few long-lived sockets; and sockets that send
 * anything but a good `auth` first. Whatever comes: every server frame is one of the protocol's, every
 * error has a code of the contract and none is `internal`, each frame gets exactly one answer (an ack, or
 * an error frame when it had no usable id), a socket is only ever closed with a documented close code
 * (4401 before authentication), the long-lived sockets still answer a ping, and /healthz still answers.
 */

const FRAMES = 300;
const PRE_AUTH_SOCKETS = 30;
/** Frames sent before a ping whose ack proves they were all answered (requests are answered in order). */
const BATCH = 10;
const WAIT_MS = 15_000;

const validServerFrame = addFormats(new Ajv({ strict: false, discriminator: true })).compile(ServerFrame);
type Frame = Record<string, unknown> & { type?: unknown };

/** A raw `ws` client that keeps every frame and checks it against the protocol. */
class FuzzSocket {
  readonly received: Frame[] = [];
  readonly problems: string[] = [];
  /** Acks that break the protocol only by echoing an id of 65–256 characters (the known bug below). */
  closedWith: { code: number; reason: string } | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;
  private listeners = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        this.problems.push(`a frame that is not JSON (binary: ${isBinary}): ${data.toString().slice(0, 200)}`);
        return;
      }
      if (!validServerFrame(frame)) this.problems.push(`not a frame of the protocol: ${JSON.stringify(frame).slice(0, 300)} ${JSON.stringify(validServerFrame.errors?.slice(0, 2))}`);
      const error = frame.type === 'error' || (frame.type === 'ack' && frame.ok === false) ? wsErrorProblem(frame.error) : null;
      if (error !== null) this.problems.push(`${error}: ${JSON.stringify(frame).slice(0, 300)}`);
      this.received.push(frame);
      for (const listener of [...this.listeners]) listener();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closedWith = { code, reason: reason.toString() };
        resolve(this.closedWith);
        for (const listener of [...this.listeners]) listener();
      }),
    );
    ws.on('error', () => undefined); // the close reports the outcome
  }

  static open(baseUrl: string, token?: string): Promise<FuzzSocket> {
    const headers = token === undefined ? undefined : { authorization: `Bearer ${token}` };
    const socket = new FuzzSocket(new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, { headers }));
    return new Promise((resolve, reject) => {
      socket.ws.once('open', () => resolve(socket));
      socket.ws.once('error', reject);
    });
  }

  /** Resolves with the first frame from index `from` on that matches; rejects if the socket closes first. */
  waitFor(match: (frame: Frame) => boolean, from = 0): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const check = () => {
        const found = this.received.slice(from).find(match);
        if (found) {
          done();
          resolve(found);
        } else if (this.closedWith) {
          done();
          reject(new Error(`socket closed (${this.closedWith.code} ${this.closedWith.reason}) while waiting; last frames ${JSON.stringify(this.received.slice(-5)).slice(0, 800)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no answer within ${WAIT_MS} ms; last frames ${JSON.stringify(this.received.slice(-5)).slice(0, 800)}`));
      }, WAIT_MS);
      this.listeners.add(check);
      check();
    });
  }

  /** A ping with an id no generated frame has; resolves with its ack. */
  async ping(id: string, from = this.received.length): Promise<Frame> {
    this.ws.send(JSON.stringify({ type: 'ping', id }));
    return this.waitFor((frame) => frame.type === 'ack' && frame.id === id, from);
  }
}

// ---- generating frames ----

/** A frame to send: its text or bytes (with placeholders in the text), and whether it goes as binary. */
interface FuzzFrame {
  data: string;
  /** `binary`: the bytes of `data` as a binary frame; `bytes`: random bytes as a binary frame. */
  as: 'text' | 'binary' | 'bytes';
  bytes?: number[];
}

const VALID_FRAMES: Record<string, fc.Arbitrary<unknown>> = {
  subscribe: fc.record({ type: fc.constant('subscribe'), id: eventIdish, directoryId: dirIdish, since: fc.oneof(fc.nat({ max: 20 }), hostileNumber) }, { requiredKeys: ['type', 'id', 'directoryId'] }),
  unsubscribe: fc.record({ type: fc.constant('unsubscribe'), id: eventIdish, directoryId: dirIdish }),
  scan: fc.tuple(validScanFields, eventIdish, dirIdish).map(([fields, id, directoryId]) => ({ type: 'scan', id, directoryId, ...fields })),
  lookup: fc.record({ type: fc.constant('lookup'), id: eventIdish, directoryId: dirIdish, code: codeish }),
  ping: fc.record({ type: fc.constant('ping'), id: eventIdish }),
  auth: fc.record({ type: fc.constant('auth'), token: fc.oneof(fc.constant(TOKEN), fc.constant(OTHER_TOKEN), garbageText) }),
};
const unknownType = fc.record(
  { type: fc.oneof(fc.constantFrom('Ping', 'SCAN', 'hello', 'ack', 'change', 'error', '', ' ping', 'ping\u0000', '__proto__', 'toString', 'constructor'), junk), id: eventIdish },
  { requiredKeys: ['type'] },
);

const frameValue = fc.oneof({ weight: 12, arbitrary: mutated(fc.oneof(...Object.values(VALID_FRAMES))) }, { weight: 2, arbitrary: mutated(unknownType) }, { weight: 1, arbitrary: junk });

const fuzzFrame: fc.Arbitrary<FuzzFrame> = fc
  .oneof(
    { weight: 14, arbitrary: jsonText(frameValue, 3).map((data): FuzzFrame => ({ data, as: 'text' })) },
    { weight: 2, arbitrary: jsonText(frameValue, 3).map((data): FuzzFrame => ({ data, as: 'binary' })) },
    { weight: 2, arbitrary: garbageText.map((data): FuzzFrame => ({ data, as: 'text' })) },
    // Random bytes are valid UTF-8 only by chance; sent as binary (read as UTF-8, SPEC), never as text (see the known bug).
    { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }).map((bytes): FuzzFrame => ({ data: '', as: 'bytes', bytes })) },
    // Near the 64 KiB limit, under it: an id or a code of a few thousand characters.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(1000, 7090, 20_000, 30_000)
        .map((n): FuzzFrame => ({ data: JSON.stringify({ type: 'lookup', id: 'x'.repeat(n), directoryId: DIR, code: 'c'.repeat(n) }), as: 'text' })),
    },
  )
  .filter((frame) => Buffer.byteLength(frame.data) <= MAX_FRAME_BYTES - 64); // over the limit: the 1009 case below

function sendFrame(socket: FuzzSocket, frame: FuzzFrame, live: Live): string {
  if (frame.as === 'bytes') {
    socket.ws.send(Buffer.from(frame.bytes ?? []), { binary: true });
    return `binary bytes ${JSON.stringify(frame.bytes)}`;
  }
  const text = fill(frame.data, live);
  socket.ws.send(frame.as === 'binary' ? Buffer.from(text, 'utf8') : text, { binary: frame.as === 'binary' });
  return `${frame.as} ${text.slice(0, 400)}`;
}

const answers = (frame: Frame) => frame.type === 'ack' || frame.type === 'error';

describe.each(testDatabases())('fuzzed /ws frames on $name', (db) => {
  let server: TestServer;
  let user: TestUser;
  let other: TestUser;
  const live: Live = { token: '', otherToken: '', dir: 0, otherDir: 0, dirName: '' };
  const opened: FuzzSocket[] = [];

  beforeAll(async () => {
    server = await startServer(db);
    user = await signIn(server, 'fuzz-ws');
    other = await signIn(server, 'fuzz-ws-other');
    live.dirName = '模糊 ws';
    live.dir = await createDirectory(user.api, live.dirName);
    live.token = user.token;
    live.otherToken = other.token;
    live.otherDir = other.defaultDirectoryId;
    for (const code of KNOWN_CODES.slice(0, 3)) await scan(user.api, live.dir, { op: 'in', code, qty: 5 });
  });
  afterAll(async () => {
    for (const socket of opened) socket.ws.terminate();
    await server.close();
  });

  const open = async (token?: string) => {
    const socket = await FuzzSocket.open(server.url, token);
    opened.push(socket);
    return socket;
  };

  it(`answers ${FRAMES} generated frames on long-lived sockets, each exactly once, and never closes them`, async () => {
    const byHeader = await open(user.token);
    const byFrame = await open();
    byFrame.ws.send(JSON.stringify({ type: 'auth', token: user.token }));
    const sockets = [byHeader, byFrame, await open(user.token)];
    for (const socket of sockets) await socket.waitFor((frame) => frame.type === 'hello');

    const frames = fc.sample(fuzzFrame, { seed: SEED, numRuns: FRAMES });
    const failures: string[] = [];
    for (let start = 0, batch = 0; start < frames.length; start += BATCH, batch++) {
      const socket = sockets[batch % sockets.length];
      const from = socket.received.length;
      const sent = frames.slice(start, start + BATCH).map((frame) => sendFrame(socket, frame, live));
      const sentinel = `sentinel:${batch}`;
      try {
        await socket.ping(sentinel, from);
      } catch (error) {
        failures.push(`after ${JSON.stringify(sent)}: ${(error as Error).message}`);
        break;
      }
      const answered = socket.received.slice(from).filter((frame) => answers(frame) && frame.id !== sentinel).length;
      if (answered !== sent.length) failures.push(`${sent.length} frames got ${answered} answers: ${JSON.stringify(sent)} -> ${JSON.stringify(socket.received.slice(from)).slice(0, 1500)}`);
    }
    for (const socket of sockets) {
      failures.push(...socket.problems);
      if (socket.closedWith) failures.push(`a long-lived socket was closed: ${JSON.stringify(socket.closedWith)}`);
      else expect(await socket.ping('after-the-run')).toMatchObject({ ok: true, result: { serverTime: expect.any(String) } });
    }
    const health = await fetch(`${server.url}/healthz`);
    const tally = new Map<string, number>();
    for (const frame of sockets.flatMap((socket) => socket.received)) {
      const key = frame.type === 'ack' ? (frame.ok === true ? 'ack ok' : `ack ${(frame.error as { code?: string }).code}`) : String(frame.type);
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    console.log(
      `fuzz ws on ${db.name}: ${frames.length} frames tried on ${sockets.length} long-lived sockets (seed ${SEED}); answers ${JSON.stringify(Object.fromEntries(tally))}; problems: ${failures.length}`,
    );
    expect(failures).toEqual([]);
    expect(health.status).toBe(200);
  });

  it(`closes each of ${PRE_AUTH_SOCKETS} sockets that send anything but a good auth first with 4401, after an error frame`, async () => {
    // Mostly anything but an auth first; now and then a good one, followed by hostile frames.
    const goodAuth: FuzzFrame = { data: JSON.stringify({ type: 'auth', token: TOKEN }), as: 'text' };
    const first = fc.oneof({ weight: 1, arbitrary: fc.constant(goodAuth) }, { weight: 4, arbitrary: fuzzFrame });
    const frames = fc.sample(
      fc.tuple(first, fc.array(fuzzFrame, { maxLength: 2 })).map(([head, rest]) => [head, ...rest]),
      { seed: SEED + 1, numRuns: PRE_AUTH_SOCKETS },
    );
    const failures: string[] = [];
    let authenticated = 0;
    for (const sequence of frames) {
      const socket = await open();
      const sent = sequence.map((frame) => sendFrame(socket, frame, live));
      // The first frame decides: a good auth gets hello, anything else an error frame and 4401.
      const first = await Promise.race([socket.waitFor((frame) => frame.type === 'hello' || frame.type === 'error').catch(() => null), socket.closed.then(() => null)]);
      if (first?.type === 'hello') {
        authenticated++;
        socket.ws.close(1000);
      } else {
        const closed = await socket.closed;
        if (closed.code !== CloseCode.unauthorized) failures.push(`${JSON.stringify(sent)} -> closed with ${closed.code} ${closed.reason}`);
        const reason = socket.received.find((frame) => frame.type === 'error');
        if (!reason || (reason.error as { code?: unknown }).code !== 'unauthorized')
          failures.push(`${JSON.stringify(sent)} -> no unauthorized error frame before the close: ${JSON.stringify(socket.received)}`);
      }
      await socket.closed;
      failures.push(...socket.problems.map((problem) => `${JSON.stringify(sent)} -> ${problem}`));
    }
    // A wrong token in the upgrade's header is refused the same way.
    const badHeader = await open(`${user.token}x`);
    const badHeaderClosed = await badHeader.closed;
    expect(badHeaderClosed.code).toBe(CloseCode.unauthorized);
    console.log(
      `fuzz ws on ${db.name}: ${frames.length} unauthenticated sockets tried, ${frames.reduce((n, s) => n + s.length, 0)} frames (seed ${SEED + 1}); ${authenticated} authenticated by their first frame`,
    );
    expect(failures).toEqual([]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('closes a socket that sends a frame over 64 KiB with 1009, and one of exactly 64 KiB is answered', async () => {
    const socket = await open(user.token);
    await socket.waitFor((frame) => frame.type === 'hello');
    const prefix = '{"type":"ping","id":"limit","pad":"';
    const atLimit = `${prefix}${'x'.repeat(MAX_FRAME_BYTES - prefix.length - 2)}"}`;
    expect(Buffer.byteLength(atLimit)).toBe(MAX_FRAME_BYTES);
    socket.ws.send(atLimit);
    expect(await socket.waitFor((frame) => frame.id === 'limit')).toMatchObject({ ok: false, error: { code: 'bad_request', message: 'pad is not a known field' } });
    socket.ws.send(`${atLimit} `);
    expect((await socket.closed).code).toBe(CloseCode.tooBig);
    expect(socket.problems).toEqual([]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('answers a request whose id is over 64 characters with an error frame of the protocol (no id to echo)', async () => {
    const socket = await open(user.token);
    await socket.waitFor((frame) => frame.type === 'hello');
    const id = 'a'.repeat(65);
    socket.ws.send(JSON.stringify({ type: 'ping', id }));
    const answer = await socket.waitFor((frame) => frame.type === 'ack' || frame.type === 'error');
    expect(answer).toMatchObject({ type: 'error', error: { code: 'bad_request' } });
    expect(validServerFrame(answer)).toBe(true);
  });

  // ws closes a socket whose text frame is not valid UTF-8 with 1007, as RFC 6455 requires; the
  // protocol documents it (the same bytes as a binary frame get a bad_request answer).
  it('closes a socket whose text frame is not valid UTF-8 with 1007, as the protocol documents', async () => {
    const socket = await open(user.token);
    await socket.waitFor((frame) => frame.type === 'hello');
    socket.ws.send(Buffer.from([0x7b, 0xff, 0x7d]), { binary: false });
    expect((await socket.closed).code).toBe(1007);
  });
});
