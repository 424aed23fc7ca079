import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import type { ErrorBody } from '../../errors';
import type { Principal } from '../auth/service';
import type { Change } from '../inventory/views';
import type { AckResult } from '../../contract';
import { CloseCode, encode, frameType, SharedFrame, type RequestId, type ServerFrame } from './protocol';
import { Subscription, type Outlet } from './subscription';

/** Frames waiting to be handled before the socket stops reading (ws pauses the TCP socket). */
const MAX_PENDING_FRAMES = 32;
/** Pipelined scans of one socket awaiting their commit before it stops taking more. */
const MAX_IN_FLIGHT = 64;
/**
 * Bytes queued for the client under which the next paced frame (a snapshot page, a replayed change)
 * goes out: with a page at most 64 KiB, a socket in its start never holds much more than this.
 */
const LOW_WATER_BYTES = 256 * 1024;
/** How often a wait for the client to read looks at the queue, besides the TCP socket's 'drain'. */
const WRITABLE_POLL_MS = 100;

type Reply = ReturnType<Connection['reply']>;
/** setTimeout's limit (about 24.8 days); longer delays are reached in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * What the sockets report for metrics (the plugin implements it; realtime imports no metrics library).
 * Frame types are the protocol's own, or `invalid` for a frame that is not one, so labels stay few.
 */
export interface RealtimeObserver {
  frameIn(type: string): void;
  frameOut(type: string): void;
  /** An ack of a `type` request was sent, `seconds` after its frame arrived. */
  acked(type: string, seconds: number): void;
  closed(code: number): void;
}

/** A request frame's type and when it arrived (performance.now()), to time its ack. */
export interface Arrival {
  type: string;
  at: number;
}

/** What every socket of a gateway shares: one object for all of them, made once. */
export interface ConnectionOptions {
  observer?: RealtimeObserver;
  /** Over this many bytes queued for the client, the socket is closed with 4408. */
  maxQueuedBytes: number;
  /** How long a paced frame (a snapshot page, a replayed change) waits for the client to read before the socket is closed with 4408. */
  readTimeoutMs: number;
  readLog(directoryId: number, after: number, upTo: number): Promise<Change[]>;
  /** What a subscription asks the database, and reports, when a change from the bus is ahead of the log (Outlet). */
  readRevision: Outlet['readRevision'];
  unfounded: Outlet['unfounded'];
  /** Called once, as soon as the socket is closed or closing: nothing more is sent to it. */
  gone(connection: Connection): void;
  /** A subscription starts or stops: the hub indexes them by directory. */
  watching(subscription: Subscription, on: boolean): void;
}

/** Where a socket's chains rest when nothing is queued: one settled promise for every socket. */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * Sockets corked in this turn, uncorked together in one callback at its end (rather than a callback
 * each: a fan-out corks a thousand sockets at once).
 */
const corked: Connection[] = [];
function uncorkAll(): void {
  // Taken out first: a socket corked while these are written (or a throw) waits for the next callback.
  for (const connection of corked.splice(0)) connection.uncork();
}

/**
 * Each ws socket's Connection, for the listeners every socket shares (ws calls a listener with the
 * socket as `this`): one entry here rather than a closure per event per socket.
 */
const connectionOf = new WeakMap<WebSocket, Connection>();

function onSocketHeard(this: WebSocket): void {
  const connection = connectionOf.get(this);
  if (connection) connection.lastHeardAt = Date.now();
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  connectionOf.get(this)?.onClose(code, reason);
}

function onSocketError(this: WebSocket, error: Error): void {
  connectionOf.get(this)?.log.info({ err: error }, 'websocket error');
}

/**
 * One WebSocket: who it is, what it watches, and the rules of sending to it. Incoming frames are
 * handled one at a time, in order; outgoing frames are refused once the client stops reading.
 *
 * Ten thousand idle sockets are ten thousand of these, so a socket keeps only what it needs once open:
 * not the upgrade request nor a logger of its own (log lines get its bindings when they are written),
 * no timer (the gateway's one heartbeat walks every socket), and its queues, sets and promises only
 * while it uses them. It is the Outlet of its subscriptions itself, rather than a set of closures.
 */
export class Connection implements Outlet {
  principal: Principal | null = null;
  readonly subscriptions = new Map<number, Subscription>();
  /** When the client was last heard from (a frame or a pong), in Date.now() time. */
  lastHeardAt = Date.now();
  private revoked: Set<number> | null = null;
  private closing: Promise<void> | null = null;
  private inbox: Promise<void> = SETTLED;
  /** Resolves once every request received so far has been answered (in order). */
  private answered: Promise<void> = SETTLED;
  private inFlight = 0;
  private corked = false;
  private pending = 0;
  private timers: Set<NodeJS.Timeout> | null = null;
  private disposed = false;
  /** Frames handled and sent, and when the socket opened: the close log line reports them. */
  private framesIn = 0;
  private framesOut = 0;
  private readonly openedAt = performance.now();
  /** The one wait for the client to read, shared by every subscription of this socket that has more to send. */
  private drained: Promise<boolean> | null = null;

  constructor(
    readonly socket: WebSocket,
    private readonly baseLog: FastifyBaseLogger,
    private readonly options: ConnectionOptions,
    /** Where the socket came from, as TRUST_PROXY lets fastify read it (logged at authentication). */
    readonly ip: string,
    /** The upgrade request's id, bound to each log line of the socket (the request itself is not kept). */
    private readonly reqId?: string,
  ) {
    connectionOf.set(socket, this);
    socket.on('close', onSocketClose);
    socket.on('pong', onSocketHeard);
    socket.on('ping', onSocketHeard);
  }

  /**
   * Takes over the socket's errors (logged) from whoever listened before: @fastify/websocket's
   * listener holds the fastify request and reply, and through them the upgrade request.
   */
  logErrors(): void {
    const previous = this.socket.listeners('error') as ((error: Error) => void)[];
    // Added before the others are removed: the listener slot is replaced, not deleted (a delete would
    // turn the socket's listener table into a dictionary of its own).
    this.socket.on('error', onSocketError);
    for (const listener of previous) this.socket.off('error', listener);
  }

  /**
   * The socket's logger: the server's, with the upgrade request's id bound, made when a line is
   * written rather than kept for the life of the socket (a pino child is a few hundred bytes).
   */
  get log(): FastifyBaseLogger {
    return this.reqId === undefined ? this.baseLog : this.baseLog.child({ reqId: this.reqId });
  }

  /** Sessions revoked while this socket was authenticating (its session may be one of them); made on first use. */
  get revokedWhileAuthenticating(): Set<number> {
    return (this.revoked ??= new Set());
  }

  /** Whether the socket's session was revoked while it authenticated (without making the set). */
  wasRevoked(sessionId: number): boolean {
    return this.revoked?.has(sessionId) === true;
  }

  /** Resolves once the socket is closed; the gateway waits for it at shutdown. */
  get closed(): Promise<void> {
    // ws sets CLOSED just before it emits 'close': a socket already CLOSED has emitted it, or is emitting it now.
    this.closing ??= this.socket.readyState === WebSocket.CLOSED ? SETTLED : new Promise((resolve) => this.socket.once('close', () => resolve()));
    return this.closing;
  }

  /** The socket closed (its 'close' event). */
  onClose(code: number, reason: Buffer): void {
    this.dispose();
    this.options.observer?.closed(code);
    const { userId = null, deviceId = null } = this.principal ?? {};
    const durationMs = Math.round(performance.now() - this.openedAt);
    this.log.info({ userId, deviceId, code, reason: reason.toString(), framesIn: this.framesIn, framesOut: this.framesOut, durationMs }, 'websocket closed');
  }

  // The Outlet of this socket's subscriptions (send and writable are the socket's own, below).
  readLog(directoryId: number, after: number, upTo: number): Promise<Change[]> {
    return this.options.readLog(directoryId, after, upTo);
  }

  readRevision(directoryId: number): Promise<number | null> {
    return this.options.readRevision(directoryId);
  }

  unfounded(directoryId: number, revision: number): void {
    this.options.unfounded(directoryId, revision);
  }

  broken(error: unknown): void {
    this.log.error({ err: error }, 'a subscription could not be kept without a gap; closing the socket');
    this.close(CloseCode.internalError, 'reconnect and resume with since');
  }

  /** A frame from the client is being handled (counted once, by its type). */
  counted(type: string): void {
    this.framesIn += 1;
    this.options.observer?.frameIn(type);
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Queues `work` behind the frames already received: one frame is handled at a time, in order. */
  enqueue(work: () => Promise<void>): void {
    this.lastHeardAt = Date.now();
    // A client that sends faster than its frames are handled stops being read, rather than growing the queue.
    if (++this.pending > MAX_PENDING_FRAMES) this.socket.pause();
    this.inbox = this.inbox
      .then(() => (this.isOpen ? work() : undefined))
      .catch((error: unknown) => this.log.error({ err: error }, 'websocket frame handler failed'))
      .finally(() => {
        if (--this.pending <= MAX_PENDING_FRAMES / 2 && this.socket.isPaused) this.socket.resume();
        // Nothing queued behind this frame: an idle socket keeps no chain of its own.
        if (this.pending === 0) this.inbox = SETTLED;
      });
  }

  /**
   * A request already started (a scan, queued for its directory in arrival order) whose ack is sent
   * after every earlier request's: a socket may pipeline scans, and their effects and acks keep its
   * order. Resolves at once, unless too many are in flight, when it holds the inbox until they commit.
   */
  async answerInOrder(started: Promise<{ ok: true; result: AckResult | undefined } | { ok: false; error: ErrorBody }>, reply: Reply): Promise<void> {
    this.inFlight += 1;
    this.answered = this.answered
      .then(() => started)
      .then((outcome) => {
        if (!outcome.ok) reply.fail(outcome.error);
        else if (outcome.result !== undefined) reply.ok(outcome.result);
      })
      .finally(() => {
        if (--this.inFlight === 0) this.answered = SETTLED;
      });
    if (this.inFlight >= MAX_IN_FLIGHT) await this.answered;
  }

  /** Resolves once every request received so far has been answered: what comes next sees their effects. */
  answeredSoFar(): Promise<void> {
    return this.answered;
  }

  /** Resolves once every frame received so far has been handled. */
  idle(): Promise<void> {
    return this.inbox.then(() => this.answered);
  }

  /** A frame's text; binary frames are read as UTF-8 too (wx.sendSocketMessage may send an ArrayBuffer). */
  static text(data: RawData): string {
    if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
    return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
  }

  /**
   * Sends one serialized frame: text, the UTF-8 bytes of one shared by many sockets (a snapshot page),
   * sent as a text frame without a copy, or a SharedFrame (a change for every watcher), framed once. A client with more than maxQueuedBytes still unsent is
   * not reading: it is closed with 4408 (it resumes with `since`), so one stalled phone cannot grow our
   * memory. Frames are small (a snapshot comes in pages), so the queue stays within one frame of it.
   */
  send(frame: string | Buffer | SharedFrame): boolean {
    if (!this.isOpen) return false;
    if (this.socket.bufferedAmount > this.options.maxQueuedBytes) {
      this.closeTooSlow('closing a websocket that does not read');
      return false;
    }
    const tcp = this.tcp();
    if (frame instanceof SharedFrame && tcp && this.socket.extensions === '') {
      // Framed once for every socket it goes to, and written as ws would write it: ws counts the TCP
      // socket's queue in bufferedAmount, so backpressure sees it; with no extension negotiated
      // (app.ts: no permessage-deflate) ws queues nothing of its own in front of it while OPEN. Not
      // corked: one write per socket, the first watchers served while the loop reaches the last.
      tcp.write(frame.framed);
    } else if (frame instanceof SharedFrame) {
      this.corkUntilNextTick();
      this.socket.send(frame.payload, { binary: false });
    } else {
      this.corkUntilNextTick();
      if (typeof frame === 'string') this.socket.send(frame);
      else this.socket.send(frame, { binary: false });
    }
    this.framesOut += 1;
    this.options.observer?.frameOut(frameType(frame));
    return true;
  }

  /**
   * Resolves true once fewer than LOW_WATER_BYTES are queued for the client, so that one more paced
   * frame may go; false once the socket is gone. A client that reads nothing for readTimeoutMs while
   * the server waits to send it more is not reading: it is closed with 4408, as SPEC says. ws has no
   * drain event of its own; its TCP socket's 'drain' comes when its queue empties, and a slow poll
   * covers whatever else moves the count.
   */
  writable(): Promise<boolean> {
    if (!this.isOpen) return Promise.resolve(false);
    if (this.socket.bufferedAmount < LOW_WATER_BYTES) return Promise.resolve(true);
    this.drained ??= new Promise<boolean>((resolve) => {
      const tcp = this.tcp();
      const finish = (writable: boolean) => {
        clearInterval(poll);
        clearTimeout(deadline);
        tcp?.off('drain', check);
        this.drained = null;
        resolve(writable);
      };
      const check = () => {
        if (!this.isOpen) finish(false);
        else if (this.socket.bufferedAmount < LOW_WATER_BYTES) finish(true);
      };
      const poll = setInterval(check, WRITABLE_POLL_MS);
      const deadline = setTimeout(() => {
        this.closeTooSlow(`closing a websocket that read nothing for ${this.options.readTimeoutMs} ms`);
        finish(false);
      }, this.options.readTimeoutMs);
      tcp?.on('drain', check);
    });
    return this.drained;
  }

  private closeTooSlow(message: string): void {
    this.log.warn({ bufferedAmount: this.socket.bufferedAmount }, message);
    this.close(CloseCode.tooSlow, 'too many frames queued; reconnect and resume with since');
  }

  /** The TCP socket under ws (ws has no public cork or drain; its socket is the net.Socket it was upgraded from). */
  private tcp(): Socket | undefined {
    return (this.socket as unknown as { _socket?: Socket })._socket;
  }

  /**
   * Frames sent in one turn (a batch's acks, its change frames) leave in one write rather than one
   * system call each: the TCP socket is corked until the next tick. (ws has no public cork; its
   * socket is the net.Socket it was upgraded from.)
   */
  private corkUntilNextTick(): void {
    if (this.corked) return;
    const tcp = this.tcp();
    if (!tcp) return;
    this.corked = true;
    tcp.cork();
    if (corked.push(this) === 1) process.nextTick(uncorkAll);
  }

  /** Ends this turn's cork (uncorkAll calls it, at the end of the turn). */
  uncork(): void {
    this.corked = false;
    this.tcp()?.uncork();
  }

  sendFrame(frame: ServerFrame): boolean {
    return this.send(encode(frame));
  }

  /**
   * One answer per request: the first call wins (a subscribe acks before its replay frames). Given the
   * request's arrival, the ack's latency is reported.
   */
  reply(id: RequestId | null, arrival?: Arrival): { ok(result: AckResult): void; fail(error: ErrorBody): void } {
    let answered = false;
    const once = (frame: ServerFrame) => {
      if (!answered && this.sendFrame(frame) && arrival && frame.type === 'ack') this.options.observer?.acked(arrival.type, (performance.now() - arrival.at) / 1000);
      answered = true;
    };
    return {
      ok: (result) => once({ type: 'ack', id: id as RequestId, ok: true, result }),
      fail: (error) => once(id === null ? { type: 'error', error } : { type: 'ack', id, ok: false, error }),
    };
  }

  /** Starts watching a directory; a second subscribe to it starts over from its own starting point. */
  subscribe(directoryId: number): Subscription {
    const previous = this.subscriptions.get(directoryId);
    if (previous) this.unsubscribe(directoryId, previous);
    const subscription = new Subscription(directoryId, this);
    this.subscriptions.set(directoryId, subscription);
    this.options.watching(subscription, true);
    return subscription;
  }

  unsubscribe(directoryId: number, subscription = this.subscriptions.get(directoryId)): void {
    if (!subscription || this.subscriptions.get(directoryId) !== subscription) return;
    subscription.close();
    this.detach(directoryId, subscription);
  }

  /** Takes the subscription out of this socket and of the hub's index, without closing it (it may still send what it has queued). */
  detach(directoryId: number, subscription: Subscription): void {
    if (this.subscriptions.get(directoryId) !== subscription) return;
    this.subscriptions.delete(directoryId);
    this.options.watching(subscription, false);
  }

  /** Calls `fire` after `ms`, even beyond setTimeout's 24.8-day limit; cleared when the socket closes. */
  after(ms: number, fire: () => void): void {
    if (this.disposed) return;
    const timers = (this.timers ??= new Set());
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        if (ms > MAX_TIMER_MS) this.after(ms - MAX_TIMER_MS, fire);
        else fire();
      },
      Math.max(0, Math.min(ms, MAX_TIMER_MS)),
    );
    timers.add(timer);
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(code, reason);
    this.dispose();
  }

  terminate(): void {
    this.socket.terminate();
    this.dispose();
  }

  /** Stops everything this socket holds at once, not when its closing handshake ends. */
  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const timer of this.timers ?? []) clearTimeout(timer);
    this.timers = null;
    for (const [directoryId, subscription] of this.subscriptions) this.unsubscribe(directoryId, subscription);
    this.options.gone(this);
  }
}
