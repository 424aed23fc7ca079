import { memoryStorage, type HttpLike, type OpenSocket, type StorageLike } from './adapters/types';
import { fetchHttp } from './adapters/web';
import { Backoff } from './backoff';
import { Connection, type PushFrame } from './connection';
import {
  INVITE_QR_PREFIX,
  type AckResults,
  type AlertFrame,
  type Change,
  type CountFrame,
  type CountReport,
  type CountSession,
  type Directory,
  type DirectoryPush,
  type ErrorBody,
  type Goods,
  type Invite,
  type LoginRequest,
  type LoginResponse,
  type LowStockAlert,
  type Member,
  type OperationInput,
  type OperationResult,
  type RequestOf,
  type RequestType,
  type Role,
  type ScanRequest,
  type ScanResult,
  type SyncEvent,
  type SyncResult,
  type TransferRequest,
  type UnsubscribedFrame,
  type User,
} from './contract';
import { CountView, type CountViewState } from './count-view';
import { Delivery, type Via } from './delivery';
import { Emitter } from './emitter';
import { ScancodeError } from './errors';
import { Outbox, type OutboxEntry, type Outcome, type QueuedInputs, type QueuedOperation } from './outbox';
import { Session } from './session';
import { DirectoryView, type DirectoryState, type LostReason, type PendingScan } from './view';
import { webLoginIdOf } from './web-login';

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
  /** Writes of the outbox (scans, count lines, transfers) in flight on the socket at once (default 32). */
  scanWindow?: number;
}

/**
 * What to show the user, and nothing that flickers: `online` (the socket is open and authenticated);
 * `connecting` (the first attempt after connect() or login(), or the reconnection right after an online
 * socket ended); `offline` (that attempt failed, or nobody is logged in: the client keeps retrying
 * underneath without changing it, and scans queue). The attempts themselves are in `connectivity`.
 */
export type ClientStatus = 'connecting' | 'online' | 'offline';

/** What lies under `status`, for diagnostics or a "retrying in 8 s" line; the `connectivity` event fires on any change. */
export interface Connectivity {
  status: ClientStatus;
  /** Attempts that failed since the socket was last online (or since connect()/login()). */
  failures: number;
  /** A socket is being opened right now (also while `status` stays `offline`). */
  attempting: boolean;
  /** When the next attempt starts (ms since the epoch), while waiting for it; null otherwise. */
  nextAttemptAt: number | null;
  /** The outbox is going over `POST /api/sync` right now (the socket cannot open). */
  syncing: boolean;
  /** How the last socket ended: its close code and why (never empty: e.g. 1009, a frame over the server's limit). */
  lastClose: { code: number; reason: string } | null;
}

/** What createInvite() takes: the role the invitee gets (`manager`, `editor` or `viewer`), uses (default 1), hours (default 72). */
export type InviteOptions = Omit<OperationInput<'createInvite'>, 'directoryId'>;

export interface ClientEvents {
  status: ClientStatus;
  /** A watched directory changed (a change, a snapshot, a pending scan made or settled): render `client.view(directoryId)`. */
  change: { directoryId: number; change?: Change };
  /** A directory push as it came: created, renamed, deleted, shared with the user, the user's role changed, unshared. `client.directories` already has it. */
  directory: DirectoryPush;
  /** `client.directories` changed (a push, a login, a refresh, an invite accepted, a directory left): render it. */
  directories: Directory[];
  /**
   * A watched directory was lost: the user was removed from it, it was deleted, or a (re)subscribe
   * found no such directory of theirs (e.g. removed while this phone was offline). Its view stays,
   * marked (`lost`), and gets no more changes. Once per view.
   */
  unsubscribed: { directoryId: number; reason: LostReason };
  /** A goods of a directory the user is a member of went below its minCount (whether or not it is watched). */
  alert: AlertFrame;
  /** A count session of a watched directory moved: a phone's line, or its start, finish or cancel (the push as it came). */
  count: CountFrame;
  /** A count view changed (a push, a read, a line of this phone made or answered): render `client.countView(countId)`. */
  countChange: { countId: number };
  /** Anything under `status` changed (an attempt started or failed, a sync over HTTP began or ended). */
  connectivity: Connectivity;
  /** The server applied a scan of this phone (`result.duplicate`: it had been applied before). Scans only: see `answered`. */
  acked: { entry: OutboxEntry<'scan'>; result: ScanResult; via: Via };
  /** The server refused a scan of this phone for good (`insufficient_stock`, `goods_not_found`...). Scans only: see `answered`. */
  refused: { entry: OutboxEntry<'scan'>; error: ErrorBody; via: Via };
  /**
   * The server answered a write of this phone's outbox for good, whichever it is (a scan, a count line,
   * a transfer): `outcome.ok` with its result (`duplicate` when applied before), or the refusal.
   */
  answered: AnsweredEvent;
  /** The token is missing, expired or revoked: call login(). Scans are kept meanwhile. */
  loginRequired: { reason: string };
  /** A socket ended (diagnostics: the SDK reconnects by itself); `reason` always says why. */
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
  /** Acked scans (and transfers' sides) of watched directories whose revision the view has not reached yet, still shown as pending. */
  private readonly unseen = new Map<string, PendingScan>();
  private readonly waiters = new Map<string, (outcome: Outcome) => void>();
  /** The directories the app subscribed to (a count view also watches its directory, for its pushes). */
  private readonly watched = new Set<number>();
  private readonly countViews = new Map<number, CountView>();
  private syncingOverHttp = false;
  private list: Directory[] = [];
  /** While the list is being read: the pushes that came meanwhile, replayed over the answer. */
  private listing: DirectoryPush[] | null = null;
  private lastConnectivity = '';

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
    this.delivery = new Delivery(
      this.connection,
      this.session,
      this.outbox,
      {
        settle: (outcome, via) => this.settle(outcome, via),
        syncing: (active) => {
          this.syncingOverHttp = active;
          this.updateStatus();
        },
        loginRequired: (reason) => this.emit('loginRequired', { reason }),
      },
      options.scanWindow ?? 32,
    );
    this.connection.on('state', () => this.updateStatus());
    this.connection.on('hello', () => this.online());
    this.connection.on('push', (frame) => this.receive(frame));
    this.connection.on('loginRequired', (event) => this.emit('loginRequired', event));
    this.connection.on('closed', ({ code, reason, authenticated }) => {
      this.emit('disconnected', { code, reason });
      // Pushes may be missed from now on: the count views are read again once subscribed again.
      for (const view of this.countViews.values()) if (view.synced) ((view.synced = false), this.countChanged(view.countId));
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

  /**
   * Every directory the user is a member of, each with the user's `role` and its `owner`, ordered as
   * the server orders them (most scanned first): from the login, kept current by the server's pushes
   * and read again at each reconnection. The `directories` event fires when it changes.
   */
  get directories(): Directory[] {
    return this.list;
  }

  /** One directory of `directories` (with the user's `role`), or null. */
  directory(directoryId: number): Directory | null {
    return this.list.find((directory) => directory.id === directoryId) ?? null;
  }

  /** Logs in with a `wx.login()` code (or the `loginCode` option's), keeps the token, and (re)connects. */
  async login(code?: string, profile?: Omit<LoginRequest, 'code' | 'deviceId'>): Promise<LoginResponse> {
    const loginCode = code ?? (await this.options.loginCode?.());
    if (loginCode === undefined) throw new ScancodeError('not_logged_in', 'no login code: pass one, or the loginCode option');
    const answer = await this.session.login(loginCode, profile);
    this.setDirectories(answer.directories);
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
      this.setDirectories([]);
    }
  }

  /** Disconnects and stops (the outbox stays in storage; a new client over it sends it). */
  close(): void {
    this.connection.stop();
    this.delivery.stop();
  }

  /** Watches a directory: a snapshot, then every change, resumed with `since` after any disconnect. */
  subscribe(directoryId: number): DirectoryState {
    this.watched.add(directoryId);
    return this.state(this.watch(directoryId));
  }

  /** Stops watching a directory (its subscription stays while a count view of it is open). */
  unsubscribe(directoryId: number): void {
    this.watched.delete(directoryId);
    this.release(directoryId);
  }

  private watch(directoryId: number): DirectoryView {
    let view = this.views.get(directoryId);
    if (!view) {
      this.views.set(directoryId, (view = new DirectoryView(directoryId)));
      if (this.connection.state === 'online') this.resubscribe(view);
    }
    return view;
  }

  /** Ends the subscription of a directory nothing watches any more. */
  private release(directoryId: number): void {
    if (this.watched.has(directoryId) || [...this.countViews.values()].some((view) => view.directoryId === directoryId)) return;
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
    return this.queue('scan', scan as Omit<SyncEvent, 'eventId'>) as Promise<SyncResult>;
  }

  /**
   * Adds what was counted of a code to a count session (`qty` may be negative to correct a miscount),
   * through the outbox as a scan goes: kept in storage until answered, sent when it can be, exactly
   * once. Resolves with `{ok: true, result: {line}}` (the code's counted total and live count) or the
   * refusal (`count_closed`...).
   */
  countLine(countId: number, code: string, qty = 1): Promise<Outcome<'count'>> {
    return this.queue('count', { countId, code, qty });
  }

  /**
   * Moves `qty` of a code from one directory to another (editor in both), both sides at once, through
   * the outbox: shown as pending in both directories' views until applied. Resolves with `{ok: true,
   * result: {transferId, out, in}}` or the refusal (`insufficient_stock`, `goods_not_found` from `from`).
   */
  transfer(transfer: TransferRequest): Promise<Outcome<'transfer'>> {
    return this.queue('transfer', transfer);
  }

  /** Writes an operation to the outbox, sends it when it can, and resolves with its final answer. */
  private queue<N extends QueuedOperation>(operation: N, input: Omit<QueuedInputs[N], 'eventId'>): Promise<Outcome<N>> {
    const user = this.session.user;
    if (user === null) return Promise.reject(new ScancodeError('not_logged_in', 'log in before scanning'));
    const entry = this.outbox.add(operation, input, this.session.deviceId, user.id);
    const outcome = new Promise<Outcome<N>>((resolve) => this.waiters.set(entry.event.eventId, resolve as (outcome: Outcome) => void));
    this.touched(entry);
    this.delivery.flushSocket();
    return outcome;
  }

  /** The writes (scans, count lines, transfers) not yet answered by the server, oldest first. */
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

  /** What lies under `status`: attempts, the next one's time, an HTTP sync, the last close. */
  get connectivity(): Connectivity {
    const { state, failures, nextAttemptAt, lastClose } = this.connection;
    const status: ClientStatus = state === 'online' ? 'online' : state !== 'idle' && failures === 0 ? 'connecting' : 'offline';
    return { status, failures, attempting: state === 'connecting', nextAttemptAt, syncing: this.syncingOverHttp, lastClose };
  }

  // ---- warehouse operations (SPEC "Warehouse operations") that answer at once, over HTTP ----
  // Each write carries an event id made here, so that the server applies it once.

  /** Undoes the change of that revision by a compensating change (editors their own, managers anyone's). */
  async undo(directoryId: number, revision: number): Promise<OperationResult<'undo'>> {
    return this.session.call<OperationResult<'undo'>>('POST', `/api/directories/${directoryId}/undo`, { revision, eventId: this.eventId() });
  }

  /** Starts a count session on a directory (one open at a time: `count_open` names the open one's `countId`). */
  async startCount(directoryId: number, name?: string): Promise<CountSession> {
    const body = name === undefined ? { eventId: this.eventId() } : { name, eventId: this.eventId() };
    return (await this.session.call<OperationResult<'startCount'>>('POST', `/api/directories/${directoryId}/counts`, body)).count;
  }

  /** The count sessions of a directory, newest first. */
  async listCounts(directoryId: number): Promise<CountSession[]> {
    return (await this.session.call<OperationResult<'listCounts'>>('GET', `/api/directories/${directoryId}/counts`)).counts;
  }

  /** A count session with its variance report, read once (`countView` keeps one live). */
  async getCount(countId: number): Promise<CountReport> {
    return this.session.call<CountReport>('GET', `/api/counts/${countId}`);
  }

  /**
   * Finishes a count (managers, or whoever started it): every counted code's count becomes its counted
   * total, and with `zeroMissing` every uncounted goods 0. Resolves with the report as of the finish.
   * Lines of this phone still in the outbox are not waited for: the count view shows them as pending.
   */
  async finishCount(countId: number, options: { zeroMissing?: boolean } = {}): Promise<CountReport> {
    const { count, lines } = await this.session.call<OperationResult<'finishCount'>>('POST', `/api/counts/${countId}/finish`, { zeroMissing: options.zeroMissing === true, eventId: this.eventId() });
    const report = { count, lines };
    const view = this.countViews.get(countId);
    if (view) (view.finished(report), this.countChanged(countId));
    return report;
  }

  /** Cancels a count (managers, or whoever started it): nothing changes. */
  async cancelCount(countId: number): Promise<CountSession> {
    const { count } = await this.session.call<OperationResult<'cancelCount'>>('POST', `/api/counts/${countId}/cancel`, { eventId: this.eventId() });
    const view = this.countViews.get(countId);
    if (view) (view.apply({ type: 'count', countId, directoryId: count.directoryId, count }), this.countChanged(countId));
    return count;
  }

  /** The low-stock goods of every directory the user is a member of (live ones come as `alert` events). */
  async alerts(): Promise<LowStockAlert[]> {
    return (await this.session.call<OperationResult<'listAlerts'>>('GET', '/api/alerts')).alerts;
  }

  /**
   * A count session kept live: read when first asked for and at every reconnection, then moved by
   * every phone's lines (`count` pushes of its directory, which it watches meanwhile) and by the
   * directory's changes (`expected`), with this phone's unanswered lines as `pending`. A
   * `countChange` event fires on each change. Call closeCountView() when the page closes.
   */
  countView(countId: number): CountViewState {
    let view = this.countViews.get(countId);
    if (!view) {
      this.countViews.set(countId, (view = new CountView(countId)));
      void this.readCount(view);
    }
    return this.countState(view);
  }

  /** Stops keeping a count view (and its directory's subscription, unless the app watches it too). */
  closeCountView(countId: number): void {
    const view = this.countViews.get(countId);
    if (!view) return;
    this.countViews.delete(countId);
    if (view.directoryId !== null) this.release(view.directoryId);
  }

  private eventId(): string {
    return this.outbox.nextEventId(this.session.deviceId);
  }

  /**
   * Reads a count view whole. Pushes that come while the read is on its way are applied over its
   * answer: each carries a code's total, and the last one heard of a code is its latest.
   */
  private async readCount(view: CountView): Promise<void> {
    if (this.session.token === null) return;
    const meanwhile: CountFrame[] = [];
    view.reading = meanwhile;
    try {
      const report = await this.getCount(view.countId);
      if (view.reading !== meanwhile || this.countViews.get(view.countId) !== view) return;
      const watching = this.views.has(report.count.directoryId);
      view.load(report, meanwhile);
      // Its pushes come to the directory's subscribers. A new subscription reads the view again
      // once acked, for the lines counted between this read and then.
      if (!watching) this.watch(report.count.directoryId);
      view.synced = watching && this.connection.state === 'online';
    } catch (error) {
      // No answer: read again at the next reconnection. A refusal is kept for the page to show.
      if (view.reading === meanwhile && error instanceof ScancodeError && error.body) view.error = error.body;
    } finally {
      if (view.reading === meanwhile) view.reading = null;
    }
    this.countChanged(view.countId);
  }

  private countState(view: CountView): CountViewState {
    const pending: Array<{ code: string; qty: number }> = [];
    for (const entry of this.pending()) if (entry.operation === 'count' && entry.event.countId === view.countId) pending.push(entry.event);
    const directory = view.directoryId === null ? undefined : this.views.get(view.directoryId);
    return view.state(pending, (code) => directory?.goodsOf(code)?.name ?? '');
  }

  private countChanged(countId: number): void {
    if (this.countViews.has(countId)) this.emit('countChange', { countId });
  }

  // ---- login by scanning (SPEC "The web dashboard and web login"): the phone's side ----

  /**
   * Logs the web dashboard in as this phone's user: `qrOrId` is the text `wx.scanCode` read from the
   * page's QR code (`scancode:weblogin:<id>`) or the id alone. Ask the user first ("在电脑上登录？"):
   * the page gets a session of its own (`deviceId` `web`) at once. Any other text rejects with
   * `not_a_web_login` without asking the server; an expired, unknown or already used login (or one
   * another user approved) with `not_found`. Approving the same login again changes nothing.
   */
  async approveWebLogin(qrOrId: string): Promise<void> {
    const id = webLoginIdOf(qrOrId);
    await this.session.call<void>('POST', `/api/web-logins/${encodeURIComponent(id)}/approve`);
  }

  // ---- teams (SPEC "Teams"): thin calls over HTTP, which work whether or not the socket is open ----

  /**
   * Joins a directory with an invite: the text a `wx.scanCode` read from its QR code
   * (`scancode:join:<code>`) or the code alone. Resolves with the directory and the role the user now
   * has (the higher one, if already a member); the directory is in `directories` at once. Any other
   * text rejects with `not_an_invite` without asking the server; an unknown, expired or used-up invite
   * with `invite_not_found`.
   */
  async acceptInvite(codeOrQrText: string): Promise<OperationResult<'acceptInvite'>> {
    const code = inviteCode(codeOrQrText);
    const answer = await this.session.call<OperationResult<'acceptInvite'>>('POST', `/api/invites/${encodeURIComponent(code)}/accept`);
    this.upsert(answer.directory);
    this.emit('directories', this.list);
    return answer;
  }

  /** A new invite (manager and up): show `invite.qr` as a QR code, or send `invite.code`. */
  async createInvite(directoryId: number, options: InviteOptions): Promise<Invite> {
    return (await this.session.call<OperationResult<'createInvite'>>('POST', `/api/directories/${directoryId}/invites`, options)).invite;
  }

  /** The open invites of a directory (manager and up). */
  async invites(directoryId: number): Promise<Invite[]> {
    return (await this.session.call<OperationResult<'listInvites'>>('GET', `/api/directories/${directoryId}/invites`)).invites;
  }

  /** Revokes an invite (manager and up): it can no longer be accepted. */
  async revokeInvite(directoryId: number, code: string): Promise<void> {
    await this.session.call('DELETE', `/api/directories/${directoryId}/invites/${encodeURIComponent(code)}`);
  }

  /** The members of a directory with their roles (any member). */
  async members(directoryId: number): Promise<Member[]> {
    return (await this.session.call<OperationResult<'listMembers'>>('GET', `/api/directories/${directoryId}/members`)).members;
  }

  /** Changes a member's role (managers: editors and viewers; the owner: anyone, and `owner` hands ownership over). */
  async setRole(directoryId: number, userId: number, role: Role): Promise<Member> {
    return (await this.session.call<OperationResult<'setMemberRole'>>('PATCH', `/api/directories/${directoryId}/members/${userId}`, { role })).member;
  }

  /** Removes a member (managers: editors and viewers; the owner: anyone). Their sockets lose the directory at once. */
  async removeMember(directoryId: number, userId: number): Promise<void> {
    await this.session.call('DELETE', `/api/directories/${directoryId}/members/${userId}`);
  }

  /** Leaves a directory (any member but its owner, who hands ownership over first): gone from `directories` at once. */
  async leave(directoryId: number): Promise<void> {
    const user = this.session.user;
    if (user === null) throw new ScancodeError('not_logged_in', 'log in first');
    await this.removeMember(directoryId, user.id);
    this.drop(directoryId);
  }

  /**
   * Reads `directories` again from the server (done at each reconnection, where pushes may have been
   * missed). Pushes that arrive while it is read are applied over its answer, so none is lost to it.
   */
  async refreshDirectories(): Promise<Directory[]> {
    const meanwhile: DirectoryPush[] = [];
    this.listing = meanwhile;
    try {
      const { directories } = await this.session.call<OperationResult<'listDirectories'>>('GET', '/api/directories');
      // A later refresh started meanwhile: its answer is the newer one.
      if (this.listing !== meanwhile) return this.list;
      this.listing = null;
      this.list = directories.slice();
      for (const push of meanwhile) this.applyDirectoryPush(push);
      this.emit('directories', this.list);
      return this.list;
    } finally {
      if (this.listing === meanwhile) this.listing = null;
    }
  }

  /** A socket came online: resume every watched directory from its revision, send the outbox, read the directory list again. */
  private online(): void {
    for (const view of this.views.values()) if (!view.deleted) this.resubscribe(view);
    // Count views not read yet (their directory is not known); the others are read at their subscribe's ack.
    for (const view of this.countViews.values()) if (view.directoryId === null && view.reading === null) void this.readCount(view);
    this.delivery.flushSocket();
    this.refreshDirectories().catch(() => undefined); // offline again, or logged out: the next hello reads it
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
        // Subscribed: from now on its count pushes come; what was counted before is read.
        for (const count of this.countViews.values()) if (count.directoryId === directoryId) void this.readCount(count);
      },
      (error: ScancodeError) => {
        this.subscribing.delete(directoryId);
        if (error.code !== 'directory_not_found') return; // lost with the socket: the next hello subscribes again
        // Not theirs any more (removed while the socket was away): gone from the list too, as an `unsubscribed` push drops it.
        this.drop(directoryId);
        this.lose(view, 'not_found');
      },
    );
  }

  private receive(frame: PushFrame): void {
    if (frame.type === 'directory') {
      this.listing?.push(frame);
      this.applyDirectoryPush(frame);
      this.emit('directory', frame);
      this.emit('directories', this.list);
      return;
    }
    if (frame.type === 'unsubscribed') return this.unsubscribed(frame);
    if (frame.type === 'alert') return void this.emit('alert', frame);
    if (frame.type === 'count') {
      const count = this.countViews.get(frame.countId);
      if (count) {
        count.reading?.push(frame);
        count.apply(frame);
        this.countChanged(frame.countId);
      }
      return void this.emit('count', frame);
    }
    const view = this.views.get(frame.directoryId);
    if (!view) return;
    const applied = frame.type === 'snapshot' ? view.applySnapshot(frame) : view.applyChange(frame);
    // The directory's `delete` change: lost like an `unsubscribed` push would say (whichever comes first).
    if (frame.type === 'change' && frame.change.type === 'delete' && applied === 'applied') this.lose(view, 'deleted');
    if (applied === 'gap') return this.resubscribe(view);
    if (applied === 'skipped' || applied === 'partial') return;
    for (const [eventId, scan] of this.unseen) {
      if (scan.event.directoryId === view.directoryId && (scan.result?.revision ?? 0) <= (view.revision ?? -1)) this.unseen.delete(eventId);
    }
    this.liveCounts(view, frame.type === 'change' ? frame.change : null);
    this.emit('change', frame.type === 'change' ? { directoryId: view.directoryId, change: frame.change } : { directoryId: view.directoryId });
  }

  /** The goods' live counts are the `expected` of the open count views of their directory. */
  private liveCounts(view: DirectoryView, change: Change | null): void {
    for (const count of this.countViews.values()) {
      if (count.directoryId !== view.directoryId) continue;
      if (change === null) {
        for (const code of count.codes()) count.goodsChanged(code, view.goodsOf(code) ?? null);
      } else {
        const code = change.goods?.code ?? change.code;
        // A finish's own `set`s make every count equal its counted total: the report stays as of before.
        if (code === undefined || change.countId === count.countId) continue;
        count.goodsChanged(code, change.goods ?? null);
      }
      this.countChanged(count.countId);
    }
  }

  private settle(outcome: Outcome, via: Via): void {
    const entry = this.outbox.remove(outcome.eventId);
    if (!entry) return; // answered before, over the other path or the same one twice
    const sides = sidesOf(entry, outcome.ok ? outcome.result : undefined);
    for (const side of sides) {
      const view = this.views.get(side.event.directoryId);
      if (view && side.result && side.result.revision > (view.revision ?? -1)) this.unseen.set(side.key, side);
    }
    if (entry.operation === 'scan') {
      if (outcome.ok) this.emit('acked', { entry, result: outcome.result as ScanResult, via });
      else this.emit('refused', { entry, error: outcome.error, via });
    }
    this.emit('answered', { entry, outcome, via } as AnsweredEvent);
    this.waiters.get(outcome.eventId)?.(outcome);
    this.waiters.delete(outcome.eventId);
    this.touched(entry);
  }

  /** A write of the outbox was made or answered: the views it shows in changed. */
  private touched(entry: OutboxEntry): void {
    for (const side of sidesOf(entry)) this.changed(side.event.directoryId);
    if (entry.operation === 'count') this.countChanged(entry.event.countId);
  }

  private state(view: DirectoryView): DirectoryState {
    const pending: PendingScan[] = [];
    for (const scan of this.unseen.values()) if (scan.event.directoryId === view.directoryId) pending.push(scan);
    for (const entry of this.pending()) for (const side of sidesOf(entry)) if (side.event.directoryId === view.directoryId) pending.push(side);
    return view.state(pending);
  }

  private changed(directoryId: number): void {
    if (this.views.has(directoryId)) this.emit('change', { directoryId });
  }

  /**
   * The server dropped this user's subscription (removed from the directory, or it was deleted): the
   * view stays, marked, for the page to say so; nothing resubscribes it. Scans for it still in the
   * outbox are sent and refused by the server (`refused` events), never dropped here unseen.
   */
  private unsubscribed({ directoryId, reason }: UnsubscribedFrame): void {
    this.drop(directoryId);
    const view = this.views.get(directoryId);
    if (view) this.lose(view, reason);
  }

  /** Marks a view lost (once) and says so. */
  private lose(view: DirectoryView, reason: LostReason): void {
    if (view.lost !== null) return;
    view.lose(reason);
    for (const [eventId, scan] of this.unseen) if (scan.event.directoryId === view.directoryId) this.unseen.delete(eventId);
    this.emit('unsubscribed', { directoryId: view.directoryId, reason });
    this.changed(view.directoryId);
  }

  private applyDirectoryPush({ event, directory }: DirectoryPush): void {
    if (event === 'deleted' || event === 'unshared') this.list = this.list.filter((known) => known.id !== directory.id);
    else this.upsert(directory);
    const view = this.views.get(directory.id);
    if (view && event === 'renamed') view.name = directory.name;
  }

  /** Adds or replaces a directory in the list, kept in the server's order: most scanned first, then by id. */
  private upsert(directory: Directory): void {
    this.list = this.list.filter((known) => known.id !== directory.id).concat(directory);
    this.list.sort((a, b) => b.freq - a.freq || a.id - b.id);
  }

  private drop(directoryId: number): void {
    if (!this.list.some((known) => known.id === directoryId)) return;
    this.list = this.list.filter((known) => known.id !== directoryId);
    this.emit('directories', this.list);
  }

  private setDirectories(directories: Directory[]): void {
    this.list = directories.slice();
    this.emit('directories', this.list);
  }

  private updateStatus(): void {
    const connectivity = this.connectivity;
    if (connectivity.status !== this.status) {
      this.status = connectivity.status;
      this.emit('status', connectivity.status);
    }
    const key = JSON.stringify(connectivity);
    if (key === this.lastConnectivity) return;
    this.lastConnectivity = key;
    this.emit('connectivity', connectivity);
  }
}

/** The `answered` event: a write of the outbox and its final outcome, paired by operation. */
export type AnsweredEvent = { [N in QueuedOperation]: { entry: OutboxEntry<N>; outcome: Outcome<N>; via: Via } }[QueuedOperation];

/**
 * What a write of the outbox does to directory views, as scans: a scan itself; a transfer's `out` of
 * `from` and `in` of `to` (each with its side's result once applied); a count line nothing.
 */
function sidesOf(entry: OutboxEntry, result?: unknown): Array<PendingScan & { key: string }> {
  const { eventId } = entry.event;
  if (entry.operation === 'scan') return [{ key: eventId, event: entry.event, result: result as ScanResult | undefined }];
  if (entry.operation === 'count') return [];
  const { from, to, code, qty } = entry.event;
  const sides = result as OperationResult<'transfer'> | undefined;
  return [
    { key: `${eventId}>out`, event: { eventId, directoryId: from, op: 'out', code, qty }, result: sides?.out },
    { key: `${eventId}>in`, event: { eventId, directoryId: to, op: 'in', code, qty }, result: sides?.in },
  ];
}

/** The invite code in a scanned `scancode:join:<code>` text, or a code as it is; anything else is refused here. */
function inviteCode(text: string): string {
  const trimmed = text.trim();
  const code = trimmed.indexOf(INVITE_QR_PREFIX) === 0 ? trimmed.slice(INVITE_QR_PREFIX.length) : trimmed;
  if (!/^[A-Za-z0-9_-]+$/.test(code)) throw new ScancodeError('not_an_invite', `not a scancode invite: ${trimmed.slice(0, 40)}`);
  return code;
}
