import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import WebSocket from 'ws';
import { ACK_RESULTS, ServerFrame, type RequestType } from '../../src/contract';

/**
 * Real `ws` clients for the `/ws` gateway, with the waiting done here so that tests read as frames sent
 * and frames received. Every frame received is checked against the protocol's ServerFrame schema, and
 * every successful ack's result against the result of the request type it answers; a frame outside
 * them fails the next wait.
 */
export type Frame = Record<string, any>;

export interface Closed {
  code: number;
  reason: string;
}

/** How long a wait may take before it fails with what was received (a guard against hanging, not an assertion). */
const WAIT_MS = 20_000;

const validServerFrame = addFormats(new Ajv({ strict: false, discriminator: true })).compile(ServerFrame);

// ServerFrame only says that a result is one of the results; this says it is the one its request asked for.
const resultAjv = addFormats(new Ajv({ strict: false, discriminator: true }));
const validAckResult = new Map<string, ValidateFunction>(Object.entries(ACK_RESULTS).map(([type, schema]) => [type, resultAjv.compile(schema)]));

interface Waiter {
  /** Checks the condition against what has arrived, and settles the wait if it can. */
  poll(): void;
}

export interface OpenOptions {
  /** Sent as `Authorization: Bearer`; without it the socket must authenticate with a frame. */
  token?: string;
  /** false: never answer the server's pings (a phone that went silent). */
  autoPong?: boolean;
}

export class TestSocket {
  /** Every frame received, in order. */
  readonly received: Frame[] = [];
  /** Resolves with the close code and reason, however the socket was closed. */
  readonly closed: Promise<Closed>;
  private readonly unclaimed: Frame[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly violations: string[] = [];
  private closedWith: Closed | null = null;
  private ids = 0;
  /** The type of each request sent, by its id, to check the result of its ack. */
  private readonly requestTypes = new Map<unknown, RequestType>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (!validServerFrame(frame)) this.violations.push(`${JSON.stringify(frame).slice(0, 300)}: ${JSON.stringify(validServerFrame.errors?.slice(0, 2))}`);
      else if (frame.type === 'ack' && frame.ok === true) this.checkResult(frame);
      this.received.push(frame);
      this.unclaimed.push(frame);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closedWith = { code, reason: reason.toString() };
        resolve(this.closedWith);
        this.wake();
      }),
    );
    ws.on('error', () => undefined); // the close event reports the outcome
  }

  /** Opens a socket to `<base>/ws`; resolves once the upgrade is accepted (before any hello). */
  static open(baseUrl: string, options: OpenOptions = {}): Promise<TestSocket> {
    const headers = options.token === undefined ? undefined : { authorization: `Bearer ${options.token}` };
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, { headers, autoPong: options.autoPong ?? true });
    const socket = new TestSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused with HTTP ${response.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(frame: object | string): void {
    this.rememberRequest(frame);
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a request (with a fresh id unless it has one) and resolves with its ack. */
  async request(frame: Frame): Promise<Frame> {
    const id = frame.id ?? `r${++this.ids}`;
    this.send({ ...frame, id });
    return this.next((f) => f.type === 'ack' && f.id === id);
  }

  /** The next frame not yet returned by `next` that is of this type (or matches). */
  async next(match: string | ((frame: Frame) => boolean)): Promise<Frame> {
    const test = typeof match === 'string' ? (f: Frame) => f.type === match : match;
    let found: Frame | undefined;
    await this.until(
      () => {
        const index = this.unclaimed.findIndex(test);
        if (index >= 0) found = this.unclaimed.splice(index, 1)[0];
        return found !== undefined;
      },
      `a frame matching ${String(match)}`,
    );
    return found as Frame;
  }

  /** The change frames received so far (of one directory). */
  changes(directoryId?: number): Frame[] {
    return this.received.filter((f) => f.type === 'change' && (directoryId === undefined || f.directoryId === directoryId));
  }

  /** The revisions of the change frames received so far, in arrival order. */
  revisions(directoryId?: number): number[] {
    return this.changes(directoryId).map((f) => f.revision as number);
  }

  /** Waits until a change with at least this revision has arrived. */
  async changesUpTo(directoryId: number, revision: number): Promise<Frame[]> {
    await this.until(() => this.changes(directoryId).some((f) => f.revision >= revision), `revision ${revision} of directory ${directoryId}`);
    return this.changes(directoryId);
  }

  /** Resolves once `condition` holds (checked on every frame); fails if the socket closes first. */
  until(condition: () => boolean, what = 'a condition'): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (reason: string) => {
        settle();
        reject(new Error(`waiting for ${what}: ${reason}; received ${JSON.stringify(this.received).slice(-1500)}`));
      };
      const waiter: Waiter = {
        poll: () => {
          if (this.violations.length > 0) return fail(`frames outside the protocol: ${this.violations.join('; ')}`);
          if (condition()) {
            settle();
            return resolve();
          }
          if (this.closedWith) fail(`socket closed (${this.closedWith.code} ${this.closedWith.reason})`);
        },
      };
      const timer = setTimeout(() => fail('timed out'), WAIT_MS);
      const settle = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      waiter.poll();
    });
  }

  /** Closes from the client side and waits for the close to complete. */
  async close(): Promise<Closed> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    return this.closed;
  }

  private rememberRequest(frame: object | string): void {
    let value: unknown = frame;
    if (typeof frame === 'string') {
      try {
        value = JSON.parse(frame);
      } catch {
        return; // not JSON: answered by an error frame, never by an ack
      }
    }
    if (typeof value !== 'object' || value === null) return;
    const { type, id } = value as Frame;
    if (typeof type === 'string' && validAckResult.has(type) && id !== undefined) this.requestTypes.set(id, type as RequestType);
  }

  private checkResult(ack: Frame): void {
    const type = this.requestTypes.get(ack.id);
    const validate = type === undefined ? undefined : validAckResult.get(type);
    if (validate && !validate(ack.result)) {
      this.violations.push(`${JSON.stringify(ack).slice(0, 300)}: not the result of a ${type}: ${JSON.stringify(validate.errors?.slice(0, 2))}`);
    }
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter.poll();
  }
}

/** An authenticated socket: by header (default) or by a first auth frame; resolves after the hello. */
export async function connect(baseUrl: string, token: string, via: 'header' | 'frame' = 'header'): Promise<TestSocket> {
  const socket = await TestSocket.open(baseUrl, via === 'header' ? { token } : {});
  if (via === 'frame') socket.send({ type: 'auth', token });
  await socket.next('hello');
  return socket;
}

/** Closes every socket opened by a test (for afterEach). */
export async function closeAll(sockets: TestSocket[]): Promise<void> {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
}
