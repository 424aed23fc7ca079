import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { StartupError, errorCode } from '../../startup-error';
import { Type } from '@sinclair/typebox';
import { createAjv, validator } from '../../validation';
import { BusMessageSchema, InProcessBus, type BusMessage } from './bus';
import { BusSigner } from './bus-auth';

interface Envelope {
  from: string;
  message: BusMessage;
}

const checkEnvelope = validator<Envelope>(
  createAjv({ coerce: false }),
  Type.Object({ from: Type.String({ minLength: 1, maxLength: 64 }), message: BusMessageSchema }, { additionalProperties: false }),
  'envelope',
);

export interface RedisBusOptions {
  url: string;
  /** The pub/sub channel every instance of one deployment shares. */
  channel?: string;
  /** BUS_SECRET's keys: the first signs every message, any of them verifies one. */
  secrets: readonly string[];
  onError?: (error: unknown) => void;
}

/** Why a message on the channel was dropped unread: its MAC failed, or it was signed but is no bus message. */
export type DropReason = 'unauthenticated' | 'malformed';

/** At most one log line per reason in this long: a flood of forgeries is counted, not written line by line. */
const DROP_LOG_INTERVAL_MS = 10_000;

/** How long a command to Redis may take before it counts as failed. */
const PUBLISH_TIMEOUT_MS = 1000;
/**
 * Fan-out across server instances through Redis pub/sub, in the way of Socket.IO's Redis adapter: a
 * message is delivered to this process's listeners at once and published for the others, and each
 * instance drops its own echo by its server id. If Redis is unreachable the local delivery still
 * happens; other instances catch up, since the gateway fills any revision gap from the log.
 */
export class RedisBus extends InProcessBus {
  readonly serverId = randomUUID();
  private readonly channel: string;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  /** Where Redis errors go (the app points it at its logger); they never reach a publisher. */
  onError: (error: unknown) => void;
  /** Publishes that did not reach Redis (other instances' watchers catch up from the log): read by the metrics. */
  publishFailures = 0;
  /** Messages on the channel dropped unread, by reason: read by the metrics. */
  readonly dropped: Record<DropReason, number> = { unauthenticated: 0, malformed: 0 };
  private readonly signer: BusSigner;
  /** When each reason was last logged, and how many were dropped for it since. */
  private readonly dropLog = new Map<DropReason, { at: number; since: number }>();

  private constructor(options: RedisBusOptions) {
    super();
    this.channel = options.channel ?? 'scancode:bus';
    this.signer = new BusSigner(options.secrets, this.channel);
    this.onError = options.onError ?? (() => undefined);
    // No offline queue: while Redis is away a publish fails at once (and is logged) rather than piling up
    // behind the reconnect; subscribers catch up from the log at their next change.
    // A short disconnectTimeout: on close nothing is owed to Redis, so a socket that will not close is cut.
    // A command timeout: a stalled Redis (SIGSTOP, a full network buffer) fails a publish in a second
    // rather than holding it forever; no caller waits for it either way (see publish).
    this.publisher = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, disconnectTimeout: 200, commandTimeout: PUBLISH_TIMEOUT_MS });
    this.subscriber = this.publisher.duplicate();
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', (error) => this.onError(error));
      // Back after a drop: what was published meanwhile (by us or to us) may be lost, so every
      // instance's subscribers are told to read the log now.
      let wasReady = false;
      client.on('ready', () => {
        if (wasReady) void this.resync(client === this.subscriber);
        wasReady = true;
      });
    }
    this.subscriber.on('message', (channel: string, text: string) => this.receive(channel, text));
  }

  /** Connects both clients and subscribes; fails (so the server does not start) if Redis is unreachable. */
  static async connect(options: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(options);
    // ioredis rejects a failed connect with a bare "Connection is closed."; the socket's own error
    // (ECONNREFUSED, ENOTFOUND...) arrives just before it, as an 'error' event.
    let cause: unknown;
    const remember = (error: unknown) => (cause = error);
    bus.publisher.on('error', remember);
    bus.subscriber.on('error', remember);
    try {
      await bus.publisher.connect();
      await bus.subscriber.connect();
      await bus.subscriber.subscribe(bus.channel);
    } catch (error) {
      bus.publisher.disconnect();
      bus.subscriber.disconnect();
      const { host, port } = bus.publisher.options;
      const code = errorCode(cause ?? error);
      // A network error code (ECONNREFUSED, ENOTFOUND...) never got an answer; anything else is Redis's own (NOAUTH...).
      const what = /^E[A-Z_]+$/.test(code) ? `cannot reach redis at ${host}:${port}` : `redis at ${host}:${port} refused the connection`;
      throw new StartupError('REDIS_URL', `${what} (${code})`);
    } finally {
      bus.publisher.off('error', remember);
      bus.subscriber.off('error', remember);
    }
    return bus;
  }

  /**
   * Delivers here and hands the message to Redis without waiting for it: a write is answered after its
   * commit, never after Redis. A publish that fails or times out is counted and logged; the other
   * instances' subscribers catch up from the log (the periodic revision check, or the resync when the
   * connection comes back).
   */
  override async publish(message: BusMessage): Promise<void> {
    this.deliver(message);
    const envelope: Envelope = { from: this.serverId, message };
    this.publisher.publish(this.channel, this.signer.sign(JSON.stringify(envelope))).catch((error: unknown) => {
      this.publishFailures += 1;
      this.onError(error);
    });
  }

  /** Redis answers a PING within the command timeout, on both connections' server. */
  override async healthy(): Promise<boolean> {
    try {
      return this.subscriber.status === 'ready' && (await this.publisher.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  private async resync(resubscribe: boolean): Promise<void> {
    try {
      // Listening again before anyone reads the log, so that nothing falls between the read and the feed.
      if (resubscribe) await this.subscriber.subscribe(this.channel);
    } catch (error) {
      this.onError(error);
    }
    await this.publish({ type: 'resync' });
  }

  /** Messages on the channel dropped unread, whatever the reason. */
  get droppedMessages(): number {
    return this.dropped.unauthenticated + this.dropped.malformed;
  }

  /**
   * Every message's MAC is checked first (BUS_SECRET): a message nobody holding the secret signed
   * (a forgery, another deployment's, a PUBLISH by hand) is counted and dropped without its body being
   * read. A signed one is then checked against the bus's schema (two versions of the server during a
   * rolling upgrade), so that nothing malformed is ever delivered and nothing on the channel is a crash.
   */
  private receive(channel: string, text: string): void {
    if (channel !== this.channel) return;
    const body = this.signer.open(text);
    if (body === null) return this.drop('unauthenticated', 'dropped a bus message whose MAC does not match BUS_SECRET (forged, or signed with another secret)');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    const checked = checkEnvelope(parsed);
    if (!checked.ok) return this.drop('malformed', `dropped a signed bus message that is not one: ${checked.message}`);
    if (checked.value.from === this.serverId) return; // already delivered locally
    this.deliver(checked.value.message);
  }

  /** Counts every drop; logs the first of a burst, then one line per interval with how many followed. */
  private drop(reason: DropReason, message: string): void {
    this.dropped[reason] += 1;
    const now = Date.now();
    const last = this.dropLog.get(reason);
    if (last && now - last.at < DROP_LOG_INTERVAL_MS) {
      last.since += 1;
      return;
    }
    this.dropLog.set(reason, { at: now, since: 0 });
    this.onError(new Error(last && last.since > 0 ? `${message} (and ${last.since} more since the last such line)` : message));
  }

  override async close(): Promise<void> {
    await super.close();
    // Resolves once both connections are really closed, so that nothing of the bus outlives close(). A
    // client waiting to reconnect (Redis away) has no connection left: disconnect() only cancels its
    // retry, and no 'end' ever follows, so waiting for one would hang the server's shutdown.
    const ended = (client: Redis) => (client.status === 'end' || client.status === 'reconnecting' ? Promise.resolve() : new Promise<void>((resolve) => client.once('end', () => resolve())));
    const closed = Promise.all([ended(this.subscriber), ended(this.publisher)]);
    this.subscriber.disconnect();
    this.publisher.disconnect();
    await closed;
  }
}
