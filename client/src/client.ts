import { memoryStorage, type HttpLike, type OpenSocket, type StorageLike } from './adapters/types';
import { fetchHttp } from './adapters/web';
import { Backoff } from './backoff';
import { Connection, type PushFrame } from './connection';
import type { AckResults, Change, DirectoryFrame, ErrorBody, Goods, LoginRequest, LoginResponse, RequestOf, RequestType, ScanRequest, ScanResult, SyncResult, User } from './contract';
import { Delivery, type Via } from './delivery';
import { Emitter } from './emitter';
import { ScancodeError } from './errors';
import { Outbox, type OutboxEntry } from './outbox';
import { Session } from './session';
import { DirectoryView, type DirectoryState, type PendingScan } from './view';

export interface ClientOptions {
  /** The server: `https://scancode.example.com` (the socket is `wss://scancode.example.com/ws`). */
  url: string;
  /** How to open a WebSocket: `wxSocket(wx)`, `browserSocket(WebSocket)` or `wsSocket(WebSocket)`. */
  socket: OpenSocket;
  /** Where the token, the device id and the outbox are kept: `wxStorage(wx)`; in memory by default. */
  storage?: StorageLike;
  /** HTTP: `wxHttp(wx)`; fetch by default. */
  http?: HttpLike;
  /** A fresh login code, for login() without one: `wxLoginCode(wx)`. */
  loginCode?: () => Promise<string>;
  /** Prefix of the storage keys (two clients on one storage need two). Default `scancode`. */
  storageKey?: string;
  /** This install's id; made once and kept in storage when not given. */
  deviceId?: string;
  /** How long a request waits for its answer (default 15 s); a socket that misses one is reopened. */
  requestTimeoutMs?: number;
  /** How long opening and authenticating a socket may take (default 10 s). */
  connectTimeoutMs?: number;
  /** Ping after this long without a frame (default 25 s, or the server's heartbeatMs if smaller). */
  pingIntervalMs?: number;
  /** Reconnection delays: from `baseMs` (default 500) doubling up to `maxMs` (default 30 s), with jitter. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Scans in flight on the socket at once (default 32). */
  scanWindow?: number;
}

/** connecting: opening the socket; online: open and authenticated; offline: waiting to retry; syncing: sending the outbox over HTTP. */
export type ClientStatus = 'connecting' | 'online' | 'offline' | 'syncing';

export interface ClientEvents {
  status: ClientStatus;
  /** A watched directory changed (a change, a snapshot, a pending scan made or settled): render `client.view(directoryId)`. */
  change: { directoryId: number; change?: Change };
  /** A directory of the user was created, renamed or deleted (refresh the list). */
  directory: DirectoryFrame;
  /** The server applied a scan of this phone (`result.duplicate`: it had been applied before). */
  acked: { entry: OutboxEntry; result: ScanResult; via: Via };
  /** The server refused a scan of this phone for good (`insufficient_stock`, `goods_not_found`...). */
  refused: { entry: OutboxEntry; error: ErrorBody; via: Via };
  /** The token is missing, expired or revoked: call login(). Scans are kept meanwhile. */
  loginRequired: { reason: string };
  /** A socket ended (diagnostics: the SDK reconnects by itself). */
  disconnected: { code: number; reason: string };
}

/**
 * The scancode client: one socket for every subscription and scan, a durable outbox, live directory
 * views, login. See docs/client.md.
 */
export class ScancodeClient extends Emitter<ClientEvents> {
  status: ClientStatus = 'offline';
  private readonly session: Session;
  private readonly outbox: Outbox;
  private readonly connection: Connection;
  private readonly delivery: Delivery;
  private readonly views = new Map<number, DirectoryView>();
  /** Subscribes in flight (a gap is filled by one at a time). */
  private readonly subscribing = new Set<number>();
  /** Acked scans of watched directories whose revision the view has not reached yet, still shown as pending. */
  private readonly unseen = new Map<string, PendingScan>();
  private readonly waiters = new Map<string, (outcome: SyncResult) => void>();
  private syncingOverHttp = false;

  constructor(private readonly options: ClientOptions) {
    super();
    const storage = options.storage ?? memoryStorage();
    const key = options.storageKey ?? 'scancode';
    const base = options.url.replace(/\/+$/, '');
    const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.session = new Session({ storage, key, http: options.http ?? fetchHttp(), baseUrl: base, timeoutMs: requestTimeoutMs, deviceId: options.deviceId });
    this.outbox = new Outbox(storage, key);
    this.connection = new Connection({
      openSocket: options.socket,
      url: () => `${base.replace(/^http/, 'ws')}/ws`,
      token: () => this.session.token,
      backoff: new Backoff(options.backoff?.baseMs ?? 500, options.backoff?.maxMs ?? 30_000),
      requestTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      pingIntervalMs: options.pingIntervalMs ?? 25_000,
    });
    this.delivery = new Delivery(this.connection, this.session, this.outbox, {
      settle: (outcome, via) => this.settle(outcome, via),
      syncing: (active) => {
        this.syncingOverHttp = active;
        this.updateStatus();
      },
      loginRequired: (reason) => this.emit('loginRequired', { reason }),
    }, options.scanWindow ?? 32);
    this.connection.on('state', () => this.updateStatus());
    this.connection.on('hello', () => this.online());
    this.connection.on('push', (frame) => this.receive(frame));
    this.connection.on('loginRequired', (event) => this.emit('loginRequired', event));
    this.connection.on('closed', ({ code, reason, authenticated }) => {
      this.emit('disconnected', { code, reason });
      // The socket could not even open: the outbox goes over HTTP meanwhile.
      if (!authenticated && code !== 4401) void this.delivery.flushHttp();
    });
  }

  /** This install's id (sent at login; the server marks this phone's changes with it). */
  get deviceId(): string {
    return this.session.deviceId;
  }

  /** The logged-in user (kept from the last login), or null. */
  get user(): User | null {
    return this.session.user;
  }

  /** Logs in with a `wx.login()` code (or the `loginCode` option's), keeps the token, and (re)connects. */
  async login(code?: string, profile?: Omit<LoginRequest, 'code' | 'deviceId'>): Promise<LoginResponse> {
    const loginCode = code ?? (await this.options.loginCode?.());
    if (loginCode === undefined) throw new ScancodeError('not_logged_in', 'no login code: pass one, or the loginCode option');
    const answer = await this.session.login(loginCode, profile);
    this.connection.restart();
    return answer;
  }

  /** Connects with the stored token (a `loginRequired` event when there is none), and stays connected. */
  connect(): void {
    this.connection.start();
  }

  /** Connects at once instead of waiting for the next attempt (call it when the network or the app comes back). */
  reconnectNow(): void {
    this.connection.reconnectNow();
  }

  /** Revokes the token everywhere and disconnects; the outbox keeps the scans not yet sent. */
  async logout(): Promise<void> {
    this.close(); // first, so that the server's 4401 to this socket is not taken for a revoked login
    try {
      await this.session.call('POST', '/api/logout');
    } finally {
      this.session.forget();
    }
  }

  /** Disconnects and stops (the outbox stays in storage; a new client over it sends it). */
  close(): void {
    this.connection.stop();
    this.delivery.stop();
  }

  /** Watches a directory: a snapshot, then every change, resumed with `since` after any disconnect. */
  subscribe(directoryId: number): DirectoryState {
    let view = this.views.get(directoryId);
    if (!view) {
      this.views.set(directoryId, (view = new DirectoryView(directoryId)));
      if (this.connection.state === 'online') this.resubscribe(view);
    }
    return this.state(view);
  }

  unsubscribe(directoryId: number): void {
    if (!this.views.delete(directoryId)) return;
    for (const [eventId, scan] of this.unseen) if (scan.event.directoryId === directoryId) this.unseen.delete(eventId);
    if (this.connection.state === 'online') this.connection.request<'unsubscribe'>({ type: 'unsubscribe', directoryId }).catch(() => undefined);
  }

  /** A watched directory as it should be shown, pending scans included; null when not watched. */
  view(directoryId: number): DirectoryState | null {
    const view = this.views.get(directoryId);
    return view ? this.state(view) : null;
  }

  /** The server's counts by code, as this phone's copy has them (pending scans left out). */
  counts(directoryId: number): Record<string, number> | null {
    return this.views.get(directoryId)?.counts() ?? null;
  }

  /**
   * Records a scan (written to storage before this returns), sends it when it can, and resolves with
   * the server's answer: `{ok: true, result}` or `{ok: false, error}` (a refusal such as
   * `insufficient_stock`). It waits through disconnects; after an app restart the answer comes as an
   * `acked` or `refused` event instead.
   */
  scan(scan: ScanRequest): Promise<SyncResult> {
    const user = this.session.user;
    if (user === null) return Promise.reject(new ScancodeError('not_logged_in', 'log in before scanning'));
    const entry = this.outbox.add(scan, this.session.deviceId, user.id);
    const outcome = new Promise<SyncResult>((resolve) => this.waiters.set(entry.event.eventId, resolve));
    this.changed(scan.directoryId);
    this.delivery.flushSocket();
    return outcome;
  }

  /** The scans not yet answered by the server, oldest first. */
  pending(): OutboxEntry[] {
    return this.session.user ? this.outbox.of(this.session.user.id) : [];
  }

  /** The goods with this code in a directory, from the server; null when there is none. */
  async lookup(directoryId: number, code: string): Promise<Goods | null> {
    return (await this.request<'lookup'>({ type: 'lookup', directoryId, code })).goods;
  }

  /** Any request over the socket; rejects with `offline` when it is not online. */
  request<T extends RequestType>(frame: RequestOf<T>, options: { timeoutMs?: number } = {}): Promise<AckResults[T]> {
    return this.connection.request(frame, options);
  }

  /** A socket came online: resume every watched directory from its revision, then send the outbox. */
  private online(): void {
    for (const view of this.views.values()) if (!view.deleted) this.resubscribe(view);
    this.delivery.flushSocket();
  }

  private resubscribe(view: DirectoryView): void {
    const { directoryId } = view;
    if (this.subscribing.has(directoryId)) return;
    this.subscribing.add(directoryId);
    const frame: RequestOf<'subscribe'> = view.revision === null ? { type: 'subscribe', directoryId } : { type: 'subscribe', directoryId, since: view.revision };
    this.connection.request<'subscribe'>(frame).then(
      ({ revision }) => {
        this.subscribing.delete(directoryId);
        view.target = revision;
        this.changed(directoryId);
      },
      (error: ScancodeError) => {
        this.subscribing.delete(directoryId);
        if (error.code !== 'directory_not_found') return; // lost with the socket: the next hello subscribes again
        view.deleted = true;
        this.changed(directoryId);
      },
    );
  }

  private receive(frame: PushFrame): void {
    if (frame.type === 'directory') return this.emit('directory', frame);
    const view = this.views.get(frame.directoryId);
    if (!view) return;
    const applied = frame.type === 'snapshot' ? view.applySnapshot(frame) : view.applyChange(frame);
    if (applied === 'gap') return this.resubscribe(view);
    if (applied === 'skipped' || applied === 'partial') return;
    for (const [eventId, scan] of this.unseen) {
      if (scan.event.directoryId === view.directoryId && (scan.result?.revision ?? 0) <= (view.revision ?? -1)) this.unseen.delete(eventId);
    }
    this.emit('change', frame.type === 'change' ? { directoryId: view.directoryId, change: frame.change } : { directoryId: view.directoryId });
  }

  private settle(outcome: SyncResult, via: Via): void {
    const entry = this.outbox.remove(outcome.eventId);
    if (!entry) return; // answered before, over the other path or the same one twice
    const { directoryId } = entry.event;
    const view = this.views.get(directoryId);
    if (outcome.ok) {
      if (view && outcome.result.revision > (view.revision ?? -1)) this.unseen.set(outcome.eventId, { event: entry.event, result: outcome.result });
      this.emit('acked', { entry, result: outcome.result, via });
    } else {
      this.emit('refused', { entry, error: outcome.error, via });
    }
    this.waiters.get(outcome.eventId)?.(outcome);
    this.waiters.delete(outcome.eventId);
    this.changed(directoryId);
  }

  private state(view: DirectoryView): DirectoryState {
    const pending: PendingScan[] = [];
    for (const scan of this.unseen.values()) if (scan.event.directoryId === view.directoryId) pending.push(scan);
    for (const entry of this.pending()) if (entry.event.directoryId === view.directoryId) pending.push({ event: entry.event });
    return view.state(pending);
  }

  private changed(directoryId: number): void {
    if (this.views.has(directoryId)) this.emit('change', { directoryId });
  }

  private updateStatus(): void {
    const state = this.connection.state;
    const status: ClientStatus = this.syncingOverHttp ? 'syncing' : state === 'online' ? 'online' : state === 'connecting' ? 'connecting' : 'offline';
    if (status === this.status) return;
    this.status = status;
    this.emit('status', status);
  }
}
