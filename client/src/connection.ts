import type { OpenSocket, SocketLike } from './adapters/types';
import type { Backoff } from './backoff';
import {
  CloseCode,
  type AckResults,
  type ChangeFrame,
  type DirectoryPush,
  type ErrorBody,
  type HelloFrame,
  type RequestOf,
  type RequestType,
  type ServerFrame,
  type SnapshotFrame,
  type UnsubscribedFrame,
  type CountFrame,
  type AlertFrame,
} from './contract';
import { Emitter } from './emitter';
import { ScancodeError } from './errors';

/** idle: not started, stopped, or waiting for a login; waiting: for the next attempt after a close. */
export type ConnectionState = 'idle' | 'connecting' | 'online' | 'waiting';

export type PushFrame = ChangeFrame | SnapshotFrame | DirectoryPush | UnsubscribedFrame | CountFrame | AlertFrame;

export interface ConnectionOptions {
  openSocket: OpenSocket;
  /** The `/ws` URL, read at each attempt. */
  url(): string;
  /** The session token, read at each attempt; null: nobody is logged in. */
  token(): string | null;
  backoff: Backoff;
  /** How long a request may wait for its ack before the socket is taken for dead. */
  requestTimeoutMs: number;
  /** How long opening and authenticating (up to `hello`) may take. */
  connectTimeoutMs: number;
  /** At most this long without hearing from the server before a `ping` is sent (the server's heartbeatMs if smaller). */
  pingIntervalMs: number;
}

export interface ConnectionEvents {
  /** The state, the failures or the time of the next attempt changed. */
  state: ConnectionState;
  /** An authenticated socket: subscribe and send from here. */
  hello: HelloFrame;
  push: PushFrame;
  /** A socket ended; `authenticated` says whether it had got as far as `hello`. */
  closed: { code: number; reason: string; authenticated: boolean };
  /** 4401, or no token: nothing is attempted until start() is called again after a login. */
  loginRequired: { reason: string };
}

/** A client-chosen close code (4000–4999 are the application's): this side gave up on the socket. */
const GAVE_UP = 4000;
const NORMAL = 1000;

/** A timer handle: a number in a mini-program or a browser, an object in Node. */
type Timer = ReturnType<typeof setTimeout>;

interface Pending {
  resolve(result: unknown): void;
  reject(error: ScancodeError): void;
  timer: Timer;
}

/**
 * The one socket of a client and its whole life: opening and authenticating it (the token in the first
 * frame, which every platform can send), requests matched to their acks with a timeout, a ping when the
 * server has been quiet, and reconnection with backoff as the close code says. Every pending request is
 * settled when a socket ends, whichever way it ends.
 */
export class Connection extends Emitter<ConnectionEvents> {
  state: ConnectionState = 'idle';
  private socket: SocketLike | null = null;
  /** The attempt whose socket events count; events of an abandoned socket are ignored. */
  private attempt = 0;
  private stopped = true;
  private readonly pending = new Map<string, Pending>();
  private nextRequest = 1;
  /**
   * Request ids are unique to this client, not counted from 1: a write sent with `request()` (a rename,
   * a directory created) uses its frame id as its event id, which the server remembers for the user,
   * and `r1` of a later app launch would be answered as a duplicate of this launch's `r1`.
   */
  private readonly idPrefix = `q${Math.floor(Math.random() * 36 ** 6).toString(36)}${Math.floor(Math.random() * 36 ** 6).toString(36)}.`;
  private connectTimer: Timer | undefined;
  private retryTimer: Timer | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private lastHeardAt = 0;
  /** The `error` frame that came before a close, which says why (e.g. the 4401's reason). */
  private lastError: ErrorBody | null = null;
  /** Attempts that ended before `hello` since the last socket that got there (or since start). */
  failures = 0;
  /** When the next attempt starts (Date.now() ms) while `waiting`; null otherwise. */
  nextAttemptAt: number | null = null;
  /** How the last socket ended. */
  lastClose: { code: number; reason: string } | null = null;

  constructor(private readonly options: ConnectionOptions) {
    super();
  }

  /** Connects (if not already), and keeps reconnecting until stop() or a 4401. */
  start(): void {
    this.stopped = false;
    if (this.state !== 'idle') return;
    this.failures = 0;
    this.open();
  }

  /** Closes the socket (1000) and stops reconnecting. Pending requests fail with `disconnected`. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.finish(this.attempt, NORMAL, 'closed by the app', true);
    this.setState('idle');
  }

  /** Skips the wait before the next attempt (the network is back, the app came to the foreground). */
  reconnectNow(): void {
    if (this.stopped) return;
    if (this.state === 'waiting' || this.state === 'idle') this.open();
  }

  /** Closes the current socket and opens a new one at once (a new token). */
  restart(): void {
    this.stopped = false;
    this.finish(this.attempt, NORMAL, 'reconnecting', true);
    this.failures = 0;
    this.open();
  }

  /**
   * Sends a request and resolves with its ack's result; rejects with the server's error, or with
   * `offline`, `timeout` or `disconnected`. A timeout means the socket is dead: it is closed and
   * reopened. `id` is the request id (a scan's is its event id).
   */
  request<T extends RequestType>(frame: RequestOf<T>, options: { id?: string; timeoutMs?: number } = {}): Promise<AckResults[T]> {
    const socket = this.socket;
    if (this.state !== 'online' || socket === null) return Promise.reject(new ScancodeError('offline', 'not connected'));
    const id = options.id ?? `${this.idPrefix}${(this.nextRequest++).toString(36)}`;
    const attempt = this.attempt;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ScancodeError('timeout', `no answer to ${frame.type} ${id}`));
        this.finish(attempt, GAVE_UP, 'no answer in time', true);
      }, options.timeoutMs ?? this.options.requestTimeoutMs);
      this.pending.get(id)?.reject(new ScancodeError('disconnected', `${id} was sent again`));
      this.pending.set(id, { resolve: (result) => resolve(result as AckResults[T]), reject, timer });
      this.transmit(attempt, { ...frame, id });
    });
  }

  private open(): void {
    clearTimeout(this.retryTimer);
    this.nextAttemptAt = null;
    const token = this.options.token();
    if (token === null) {
      this.setState('idle');
      this.emit('loginRequired', { reason: 'not logged in' });
      return;
    }
    const attempt = ++this.attempt;
    const live = () => attempt === this.attempt;
    this.lastError = null;
    this.setState('connecting');
    let socket: SocketLike;
    try {
      socket = this.options.openSocket(this.options.url(), {
        open: () => live() && this.transmit(attempt, { type: 'auth', token }),
        message: (text) => live() && this.receive(text),
        close: (code, reason) => this.finish(attempt, code, reason, false),
        error: (message) => this.finish(attempt, 1006, message, true),
      });
    } catch (error) {
      return this.finish(attempt, 1006, error instanceof Error ? error.message : String(error), false);
    }
    // An adapter may report a failure before it returns the socket.
    if (!live()) return socket.close(GAVE_UP, 'abandoned');
    this.socket = socket;
    this.connectTimer = setTimeout(() => this.finish(attempt, GAVE_UP, 'not authenticated in time', true), this.options.connectTimeoutMs);
  }

  private transmit(attempt: number, frame: object): void {
    if (attempt !== this.attempt || this.socket === null) return;
    try {
      this.socket.send(JSON.stringify(frame));
    } catch (error) {
      this.finish(attempt, 1006, error instanceof Error ? error.message : 'send failed', true);
    }
  }

  private receive(text: string): void {
    this.lastHeardAt = Date.now();
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    switch (frame.type) {
      case 'hello':
        clearTimeout(this.connectTimer);
        this.options.backoff.reset();
        this.failures = 0;
        this.startHeartbeat(frame.heartbeatMs);
        this.setState('online');
        this.emit('hello', frame);
        return;
      case 'ack': {
        const pending = this.pending.get(String(frame.id));
        if (!pending) return; // timed out already, or answered to an earlier socket
        this.pending.delete(String(frame.id));
        clearTimeout(pending.timer);
        if (frame.ok) pending.resolve(frame.result);
        else pending.reject(ScancodeError.fromBody(frame.error));
        return;
      }
      case 'error':
        this.lastError = frame.error;
        return;
      case 'change':
      case 'snapshot':
      case 'directory':
      case 'unsubscribed':
      case 'count':
      case 'alert':
        this.emit('push', frame);
        return;
    }
  }

  /**
   * A mini-program cannot see protocol pings, so it checks the socket itself: after a quiet interval it
   * sends a `ping`, whose timeout takes the socket for dead like any request's.
   */
  private startHeartbeat(heartbeatMs: number): void {
    const every = Math.min(heartbeatMs, this.options.pingIntervalMs);
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastHeardAt >= every) this.request({ type: 'ping' }).catch(() => undefined);
    }, every);
  }

  /** Ends an attempt once (a close, an error, a timeout or the app, whichever comes first), then decides what next. */
  private finish(attempt: number, code: number, reason: string, closeSocket: boolean): void {
    if (attempt !== this.attempt || this.state === 'idle' || this.state === 'waiting') return;
    const socket = this.socket;
    const authenticated = this.state === 'online';
    this.attempt++;
    this.socket = null;
    clearTimeout(this.connectTimer);
    clearInterval(this.heartbeat);
    if (closeSocket && socket) {
      try {
        socket.close(code === NORMAL ? NORMAL : GAVE_UP, reason);
      } catch {
        // already closed
      }
    }
    const pending = [...this.pending.values()];
    this.pending.clear();
    const why = closeReason(code, reason, this.lastError);
    for (const request of pending) {
      clearTimeout(request.timer);
      request.reject(new ScancodeError('disconnected', `the socket closed (${code}: ${why}) before the answer`, { closeCode: code }));
    }
    if (!authenticated) this.failures++;
    this.lastClose = { code, reason: why };
    this.setState(this.stopped ? 'idle' : 'waiting');
    const next = this.attempt;
    this.emit('closed', { code, reason: why, authenticated });
    if (this.stopped || this.attempt !== next) return; // a listener stopped or restarted it
    if (code === CloseCode.unauthorized) {
      this.setState('idle');
      this.emit('loginRequired', { reason: why });
      return;
    }
    const quick = code === CloseCode.goingAway || code === CloseCode.tooSlow;
    let delay = quick ? this.options.backoff.brief() : this.options.backoff.next();
    // 4429: the token is fine but the server holds enough of this user's sockets; like a network
    // failure, try again, but not before the `retryAfter` its error frame named.
    if (code === CloseCode.tooManySockets) delay = Math.max(delay, (this.lastError?.retryAfter ?? 0) * 1000);
    this.nextAttemptAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => this.open(), delay);
    this.emit('state', this.state);
  }

  private setState(state: ConnectionState): void {
    if (state !== 'waiting') this.nextAttemptAt = null;
    if (state === this.state) return;
    this.state = state;
    this.emit('state', state);
  }
}

/**
 * Why a socket ended, in words: the server's `error` frame before a 4401/4429 says it best; a close
 * without a reason (a 1009 from the server's frame limit, a 1006 of a lost network) gets the code's
 * meaning, so that every `disconnected` event and error says something.
 */
function closeReason(code: number, reason: string, lastError: ErrorBody | null): string {
  if ((code === CloseCode.unauthorized || code === CloseCode.tooManySockets) && lastError) return lastError.message;
  if (reason !== '') return reason;
  switch (code) {
    case CloseCode.tooBig:
      return "a frame over the server's size limit (64 KiB): the server closed the socket";
    case CloseCode.goingAway:
      return 'the server is shutting down';
    case CloseCode.internalError:
      return 'the server could not deliver in order; resuming';
    case CloseCode.tooSlow:
      return 'frames were not read fast enough; resuming';
    case 1006:
      return 'the connection was lost (no close frame)';
    default:
      return `closed with ${code}`;
  }
}
