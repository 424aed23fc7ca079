import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type {} from '@fastify/swagger'; // the `hide` route option, which keeps /asyncapi.json out of the OpenAPI document
import { asyncApiDocument } from '../../contract/asyncapi';
import { AppError, type ErrorBody } from '../../errors';
import { bearerToken } from '../../http/auth';
import { toErrorBody } from '../../http/errors';
import type { Services } from '../../services';
import { authenticate } from '../auth/service';
import { directoryRevisions } from '../inventory/directories';
import { logChanges } from '../inventory/history';
import { Connection, type Arrival, type ConnectionOptions, type RealtimeObserver } from './connection';
import { DatabaseCheck } from './database-check';
import { Hub } from './hub';
import { SocketLimits, type SocketLimit } from './limits';
import { CloseCode, parseClientFrame } from './protocol';
import { answer } from './requests';
import { SharedSnapshots } from './snapshot';

export type { RealtimeObserver } from './connection';

/** A frame over 64 KiB closes the socket with 1009 (ws does it, given this as maxPayload). */
export { MAX_FRAME_BYTES } from './protocol';

export interface RealtimeOptions {
  /** How long a socket without an Authorization header has to send its auth frame (SPEC: 10 s). */
  authTimeoutMs: number;
  /** Bytes queued for a client past which it is closed with 4408 (SPEC: 1 MiB). */
  maxQueuedBytes: number;
  /** How long a snapshot page or replayed change waits for the client to read before it is closed with 4408. */
  readTimeoutMs: number;
  /** How long shutdown waits for clients to answer the 1001 close before cutting them off. */
  shutdownGraceMs: number;
}

export const DEFAULT_REALTIME_OPTIONS: RealtimeOptions = { authTimeoutMs: 10_000, maxQueuedBytes: 1024 * 1024, readTimeoutMs: 30_000, shutdownGraceMs: 3_000 };

/**
 * `GET /ws`: authenticates sockets, hands their frames to the domain one at a time, and pushes what the
 * bus announces. Register `preClose` and `onSocketError` with @fastify/websocket and `routes` as a plugin.
 */
export class RealtimeGateway {
  private readonly options: RealtimeOptions;
  /** This server's sockets; it tells the bus which directories and users they watch. */
  private readonly hub: Hub;
  private readonly limits: SocketLimits;
  /** The snapshots being sent to this server's sockets, shared by those subscribing to one directory at once. */
  private readonly snapshots = new SharedSnapshots();
  private heartbeat: NodeJS.Timeout | null = null;
  /** What the bus may have lost, read from the database: periodically, and on `resync` (coalesced). */
  readonly check: DatabaseCheck;
  /** Revisions being read for changes ahead of the log, one read per directory however many watchers ask. */
  private readonly revisionReads = new Map<number, Promise<number | null>>();
  /** Changes from the bus at a revision the database does not have, ignored (per subscription): read by the metrics. */
  unfoundedChanges = 0;
  private readonly unfoundedLogged = new Set<string>();
  private shuttingDown = false;
  /** Set by the metrics plugin before the server listens; every socket reports to it. */
  observer: RealtimeObserver | undefined = undefined;

  constructor(
    private readonly services: Services,
    options: Partial<RealtimeOptions> = {},
    /** Each refusal by a limit (frames, sockets, subscriptions, refused tokens), for metrics. */
    private readonly refused: (limit: SocketLimit) => void = () => undefined,
  ) {
    this.options = { ...DEFAULT_REALTIME_OPTIONS, ...options };
    this.hub = new Hub(services.bus);
    this.limits = new SocketLimits(services.config.limits, refused);
    this.check = new DatabaseCheck(services, this.hub, (connection, message) => this.refuse(connection, message));
  }

  /** Sockets open now, authenticated or not. */
  get openSockets(): number {
    return this.hub.sockets.size;
  }

  readonly routes: FastifyPluginAsync = async (app) => {
    const unsubscribe = this.services.bus.subscribe(this.hub.receive);
    // The bus came back after a drop (this instance's or another's): what was published meanwhile may
    // be lost, changes and logouts alike, so the periodic check runs now rather than at its next tick.
    // However many arrive (a flapping instance, a flood), one check runs and one waits behind it.
    const unsubscribeResync = this.services.bus.subscribe((message) => {
      if (message.type === 'resync') this.check.request();
    });
    this.heartbeat = setInterval(() => this.beat(), this.services.config.heartbeatMs).unref();
    const revisionCheck = setInterval(() => this.check.request(), this.services.config.revisionCheckMs).unref();
    app.addHook('onClose', async () => {
      this.stopHeartbeat();
      clearInterval(revisionCheck);
      unsubscribe();
      unsubscribeResync();
    });
    app.route({
      method: 'GET',
      url: '/ws',
      // Described by AsyncAPI (/asyncapi.json); as an HTTP operation it is only a refusal.
      schema: { hide: true },
      // A plain GET without the upgrade: SPEC's error rather than an empty 404.
      handler: async (_request, reply) => reply.code(400).send({ error: { code: 'bad_request', message: 'GET /ws takes a WebSocket upgrade' } }),
      wsHandler: (socket, request) => this.accept(socket, request),
    });
    // The protocol's AsyncAPI document, pointing at the host and scheme the client reached (behind a proxy too).
    app.get('/asyncapi.json', { schema: { hide: true } }, async (request) => asyncApiDocument({ serverUrl: `${request.protocol === 'https' ? 'wss' : 'ws'}://${request.host}` }));
  };

  /**
   * Shutdown (app.close): every socket is closed with 1001 so that clients reconnect, to another
   * instance if there is one, and resume with `since`. A client that does not answer the close within
   * the grace period is cut off, so that app.close() cannot hang on it.
   */
  readonly preClose = async (): Promise<void> => {
    this.shuttingDown = true;
    this.stopHeartbeat();
    const sockets = [...this.hub.sockets];
    for (const connection of sockets) connection.close(CloseCode.goingAway, 'server shutting down');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(sockets.map((connection) => Promise.all([connection.closed, connection.idle()]))),
      new Promise((resolve) => (timer = setTimeout(resolve, this.options.shutdownGraceMs))),
    ]);
    clearTimeout(timer);
    for (const connection of sockets) connection.terminate();
  };

  /** Errors on an open socket (an oversized frame, a reset): ws has already closed it with the right code. */
  readonly onSocketError = (error: Error, _socket: WebSocket, request: FastifyRequest): void => {
    request.log.info({ err: error }, 'websocket error');
  };

  /** What every socket's Connection shares: its callbacks made once, not once per socket (made at the first socket, once the metrics observer is set). */
  private connectionOptions: ConnectionOptions | null = null;

  private accept(socket: WebSocket, request: FastifyRequest): void {
    this.connectionOptions ??= {
      observer: this.observer,
      maxQueuedBytes: this.options.maxQueuedBytes,
      readTimeoutMs: this.options.readTimeoutMs,
      readLog: (directoryId, after, upTo) => logChanges(this.services.em(), directoryId, after, upTo),
      readRevision: (directoryId) => this.readRevision(directoryId),
      unfounded: (directoryId, revision) => this.unfounded(directoryId, revision),
      gone: (gone) => {
        this.hub.remove(gone);
        this.limits.left(gone);
      },
      watching: this.hub.watching,
    };
    const connection = new Connection(socket, this.services.log, this.connectionOptions, request.ip, request.id);
    keepNothingOfTheUpgrade(socket, connection);
    // The frame handler is the socket's one listener of its own (pongs, close and errors share theirs).
    // Attached before any await (fastify-websocket's README): a frame that arrives while the token is
    // being checked is queued behind the check, not lost.
    socket.on('message', (data) => {
      const text = Connection.text(data);
      const arrivedAt = performance.now();
      connection.enqueue(() => this.receive(connection, text, arrivedAt));
    });
    if (this.shuttingDown) return connection.close(CloseCode.goingAway, 'server shutting down');
    const crowded = this.limits.arrive(connection);
    if (crowded) return this.turnAway(connection, crowded, 'too many sockets waiting for authentication; retry later');
    this.hub.add(connection);

    const token = bearerToken(request.headers.authorization);
    if (token !== null) connection.enqueue(() => this.authenticate(connection, token));
    else
      connection.after(this.options.authTimeoutMs, () => {
        if (connection.principal === null) this.refuse(connection, 'no auth frame in time');
      });
  }

  private async receive(connection: Connection, text: string, arrivedAt: number): Promise<void> {
    const parsed = parseClientFrame(text);
    const arrival: Arrival = { type: parsed.ok ? parsed.frame.type : 'invalid', at: arrivedAt };
    connection.counted(arrival.type);
    const principal = connection.principal;
    if (principal === null) {
      // Before authentication only the auth frame means anything; anything else is "log in first".
      if (parsed.ok && parsed.frame.type === 'auth') return this.authenticate(connection, parsed.frame.token);
      return this.refuse(connection, 'the first frame must be {type:"auth", token}');
    }
    // Over the session's frame rate nothing of the frame is applied; its refusal still waits its turn,
    // so that acks keep the order of the requests.
    const overRate = this.limits.frame(principal.sessionId);
    if (overRate) {
      await connection.answeredSoFar();
      return connection.reply(parsed.ok ? ('id' in parsed.frame ? parsed.frame.id : null) : parsed.id, arrival).fail(overRate);
    }
    if (!parsed.ok || parsed.frame.type !== 'scan') await connection.answeredSoFar();
    if (!parsed.ok) return connection.reply(parsed.id, arrival).fail(parsed.error);
    const frame = parsed.frame;
    if (frame.type === 'auth') return connection.reply(null).fail({ code: 'bad_request', message: 'this socket is already authenticated' });
    const reply = connection.reply(frame.id, arrival);
    if (frame.type === 'subscribe') {
      const overCap = this.limits.subscription(connection, frame.directoryId);
      if (overCap) return reply.fail(overCap);
    }
    if (frame.type === 'scan') {
      // Started now (queued for its directory in arrival order), answered in order: scans pipeline.
      const started = answer(this.services, this.snapshots, connection, principal, frame, reply).then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error: toErrorBody(error, connection.log).body }),
      );
      return connection.answerInOrder(started, reply);
    }
    try {
      const result = await answer(this.services, this.snapshots, connection, principal, frame, reply);
      if (result !== undefined) reply.ok(result);
    } catch (error) {
      reply.fail(toErrorBody(error, connection.log).body);
    }
  }

  private async authenticate(connection: Connection, token: string): Promise<void> {
    // An address that sent too many refused tokens: a token of no live session is refused before it costs a lookup.
    const badTokens = await this.services.refusedTokens.refusal(connection.ip, token, this.services.orm.em);
    if (badTokens) {
      this.refused('bad_token');
      return this.turnAway(connection, badTokens, 'too many refused tokens; retry later');
    }
    this.hub.startAuthenticating(connection);
    try {
      const principal = await authenticate(this.services.orm.em, token, this.services.now());
      // Read before the socket hears anything, so that no frame comes before hello.
      const baseline = await this.check.readBaseline(principal.userId);
      if (!connection.isOpen) return;
      if (connection.wasRevoked(principal.sessionId)) return this.refuse(connection, 'session revoked');
      const overCap = this.limits.admit(connection, principal);
      if (overCap) {
        // Not "log in again" (4401): the token is fine, this server holds enough of the user's sockets.
        connection.log.info({ userId: principal.userId, deviceId: principal.deviceId, ip: connection.ip }, 'websocket refused: too many sockets of this user');
        return this.turnAway(connection, overCap, 'too many sockets; retry later');
      }
      connection.principal = principal;
      this.limits.settled(connection);
      this.hub.authenticated(connection);
      this.check.baselined(baseline);
      connection.log.info({ userId: principal.userId, deviceId: principal.deviceId, ip: connection.ip }, 'websocket authenticated');
      this.watchExpiry(connection, this.services.now().getTime());
      connection.sendFrame({ type: 'hello', userId: principal.userId, heartbeatMs: this.services.config.heartbeatMs, serverTime: this.services.now().toISOString() });
    } catch (error) {
      if (error instanceof AppError && error.code === 'unauthorized') {
        this.services.refusedTokens.refused(connection.ip);
        return this.refuse(connection, error.message);
      }
      // The database could not say: not "log in again" but "try again".
      connection.sendFrame({ type: 'error', error: toErrorBody(error, connection.log).body });
      connection.close(CloseCode.internalError, 'try again');
    }
  }

  /** 4401, after an error frame saying why: the client must log in again (SPEC: a socket is never refused with HTTP 401). */
  private refuse(connection: Connection, message: string): void {
    connection.sendFrame({ type: 'error', error: { code: 'unauthorized', message } });
    connection.close(CloseCode.unauthorized, 'unauthorized');
  }

  /** 4429, after an error frame saying why (`rate_limited`, `retryAfter`): not "log in again", but "later". */
  private turnAway(connection: Connection, error: ErrorBody, reason: string): void {
    connection.sendFrame({ type: 'error', error });
    connection.close(CloseCode.tooManySockets, reason);
  }

  /** Protocol pings every heartbeatMs; a socket silent for two intervals is gone (a phone that slept, a dead NAT). */
  private beat(): void {
    this.limits.sweep();
    const now = Date.now();
    const clock = this.services.now().getTime();
    for (const connection of this.hub.sockets) {
      if (now - connection.lastHeardAt > 2 * this.services.config.heartbeatMs) connection.terminate();
      else if (connection.isOpen) {
        connection.socket.ping();
        this.watchExpiry(connection, clock);
      }
    }
  }

  /**
   * Closes the socket with 4401 when its session expires. A session lives for days, so a socket gets a
   * timer of its own only once its expiry is nearer than the next heartbeat, which walks every socket
   * anyway: ten thousand sockets hold no ten thousand timers.
   */
  private watchExpiry(connection: Connection, now: number): void {
    const left = (connection.principal?.expiresAt.getTime() ?? Infinity) - now;
    if (left <= this.services.config.heartbeatMs)
      connection.after(left, () => {
        if (connection.isOpen) this.refuse(connection, 'session expired');
      });
  }

  /** The directory's revision now, read once for however many subscriptions ask at the same time. */
  private readRevision(directoryId: number): Promise<number | null> {
    let read = this.revisionReads.get(directoryId);
    if (!read) {
      read = directoryRevisions(this.services.em(), [directoryId])
        .then((revisions) => revisions.get(directoryId) ?? null)
        .finally(() => this.revisionReads.delete(directoryId));
      this.revisionReads.set(directoryId, read);
    }
    return read;
  }

  /** Counted for each subscription; logged once per message (a thousand watchers ignore it a thousand times). */
  private unfounded(directoryId: number, revision: number): void {
    this.unfoundedChanges += 1;
    const key = `${directoryId}:${revision}`;
    if (this.unfoundedLogged.has(key)) return;
    if (this.unfoundedLogged.size >= 1000) this.unfoundedLogged.clear();
    this.unfoundedLogged.add(key);
    this.services.log.warn({ directoryId, revision }, 'ignored a change from the bus at a revision the database does not have (a bug, or a forged message)');
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

/**
 * Lets go of what only the opening needed. @fastify/websocket's 'error' listener holds the fastify
 * request and reply (and through them the upgrade's IncomingMessage, its headers and a pino child),
 * and the TCP socket holds the ServerResponse the plugin assigned it for the upgrade: together about
 * half of an idle socket's heap. The socket's errors are logged by the connection instead.
 */
function keepNothingOfTheUpgrade(socket: WebSocket, connection: Connection): void {
  connection.logErrors();
  const tcp = (socket as unknown as { _socket?: Socket & { _httpMessage?: ServerResponse | null } })._socket;
  const response = tcp?._httpMessage;
  if (tcp && response) response.detachSocket(tcp);
}
