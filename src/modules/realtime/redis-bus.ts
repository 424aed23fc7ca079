import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { StartupError, errorCode } from '../../startup-error';
import { createAjv, validator } from '../../validation';
import { BusMessageSchema, InProcessBus, type BusMessage, type BusScope } from './bus';
import { BusSigner } from './bus-auth';
import { BusChannels, type ChannelScope } from './bus-channels';
import { COMMAND_TIMEOUT_MS, type BusTransport, type TransportEvents } from './bus-transport';
import { ClusterTransport } from './cluster-bus';
import { parseRedisUrl, type RedisLocation } from './redis-url';
import { SingleRedisTransport } from './single-redis';

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
  /** REDIS_URL: one server, or the seed nodes of a Redis Cluster (redis-url.ts). */
  url: string;
  /** The prefix of the deployment's channels, and its global channel (REDIS_CHANNEL). */
  channel?: string;
  /** BUS_SECRET's keys: the first signs every message, any of them verifies one. */
  secrets: readonly string[];
  onError?: (error: unknown) => void;
}

/** Why a message on a channel was dropped unread: its MAC failed, or it was signed but is no bus message. */
export type DropReason = 'unauthenticated' | 'malformed';

/** At most one log line per reason in this long: a flood of forgeries is counted, not written line by line. */
const DROP_LOG_INTERVAL_MS = 10_000;
/** Channels per SUBSCRIBE when the subscriptions are made again. */
const RESUBSCRIBE_BATCH = 1000;

/**
 * Fan-out across server instances through Redis, in the way of Socket.IO's Redis adapter: a message
 * is delivered to this process's listeners at once and published for the others, and each instance
 * drops its own echo by its server id. Each message goes on the channel of its directory or of its
 * users (bus-channels.ts), and an instance subscribes only to the directories and users its sockets
 * watch (`watch`, called by the hub), so that what an instance receives grows with what its sockets
 * watch, not with the whole deployment. If Redis is unreachable the local delivery still happens;
 * other instances catch up from the log (the gateway fills any revision gap, and the periodic check).
 */
export class RedisBus extends InProcessBus {
  readonly serverId = randomUUID();
  private readonly channels: BusChannels;
  private readonly transport: BusTransport;
  /** Where Redis errors go (the app points it at its logger); they never reach a publisher. */
  onError: (error: unknown) => void;
  /** Publishes that did not reach Redis (other instances' watchers catch up from the log): read by the metrics. */
  publishFailures = 0;
  /** Messages that arrived from Redis, by the scope of their channel, whatever became of them: read by the metrics. */
  readonly received: Record<ChannelScope, number> = { directory: 0, user: 0, global: 0 };
  /** Messages on a channel dropped unread, by reason: read by the metrics. */
  readonly dropped: Record<DropReason, number> = { unauthenticated: 0, malformed: 0 };
  private readonly signer: BusSigner;
  /** When each reason was last logged, and how many were dropped for it since. */
  private readonly dropLog = new Map<DropReason, { at: number; since: number }>();
  /** When each distinct Redis error was last logged, and how many times it came since. */
  private readonly errorLog = new Map<string, { at: number; since: number }>();
  /** The channels this instance's sockets watch, each with its subscription (settled once confirmed or failed). */
  private readonly watched = new Map<string, Promise<void>>();
  /** Watched channels whose subscription Redis did not confirm: asked again whenever a connection recovers. */
  private readonly unconfirmed = new Set<string>();

  private constructor(options: RedisBusOptions, location: RedisLocation) {
    super();
    this.channels = new BusChannels(options.channel ?? 'scancode:bus');
    this.signer = new BusSigner(options.secrets, this.channels.global);
    this.onError = options.onError ?? (() => undefined);
    const events: TransportEvents = {
      message: (channel, text) => this.receive(channel, text),
      error: (error) => this.reportError(error),
      recovered: (resubscribe) => void this.recovered(resubscribe),
    };
    this.transport = location.kind === 'cluster' ? new ClusterTransport(location, events) : new SingleRedisTransport(location.url, events);
  }

  /** Connects and subscribes to the global channel; fails (so the server does not start) if Redis is unreachable. */
  static async connect(options: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(options, parseRedisUrl(options.url));
    // ioredis rejects a failed connect with a bare "Connection is closed."; the socket's own error
    // (ECONNREFUSED, ENOTFOUND...) arrives just before it, as an 'error' event.
    let cause: unknown;
    const onError = bus.onError;
    bus.onError = (error) => (cause = error);
    try {
      await bus.transport.connect(bus.channels.global);
    } catch (error) {
      const code = errorCode(cause ?? error);
      const where = bus.transport.location;
      // A network error code (ECONNREFUSED, ENOTFOUND...) never got an answer; anything else is Redis's own (NOAUTH...).
      const what = /^E[A-Z_]+$/.test(code) ? `cannot reach redis at ${where}` : `redis at ${where} refused the connection`;
      throw new StartupError('REDIS_URL', `${what} (${code})`);
    } finally {
      if (bus.onError !== onError) bus.onError = onError;
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
    for (const { channel, message: carried } of this.channels.addressed(message)) {
      const envelope: Envelope = { from: this.serverId, message: carried };
      this.transport.publish(channel, this.signer.sign(JSON.stringify(envelope), channel)).catch((error: unknown) => {
        this.publishFailures += 1;
        this.reportError(error);
      });
    }
  }

  override watch(scope: BusScope, id: number): Promise<void> {
    const channel = this.channels.of(scope, id);
    let subscribed = this.watched.get(channel);
    if (!subscribed) this.watched.set(channel, (subscribed = this.subscribeTo([channel])));
    return subscribed;
  }

  override unwatch(scope: BusScope, id: number): void {
    const channel = this.channels.of(scope, id);
    if (!this.watched.delete(channel)) return;
    this.unconfirmed.delete(channel);
    // Sent on the connection the subscribe went on, after it: a watch again at once subscribes again after this.
    this.transport.unsubscribe([channel]).catch((error: unknown) => this.reportError(error));
  }

  override listening(scope: BusScope, id: number): Promise<void> {
    return this.watched.get(this.channels.of(scope, id)) ?? Promise.resolve();
  }

  /** Settles once Redis confirmed, failed or took longer than a command may; what it did not confirm is asked again at the next recovery. */
  private subscribeTo(channels: string[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const confirmed = this.transport.subscribe(channels).then(
      () => channels.forEach((channel) => this.unconfirmed.delete(channel)),
      (error: unknown) => {
        for (const channel of channels) if (this.watched.has(channel)) this.unconfirmed.add(channel);
        this.reportError(error);
      },
    );
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const channel of channels) if (this.watched.has(channel)) this.unconfirmed.add(channel);
        resolve();
      }, COMMAND_TIMEOUT_MS);
    });
    return Promise.race([confirmed, late]).finally(() => clearTimeout(timer));
  }

  override async healthy(): Promise<boolean> {
    return this.transport.healthy();
  }

  /**
   * Back after a drop: what was published meanwhile (by us or to us) may be lost, so every instance's
   * subscribers are told to read the log, once this instance listens again (so that nothing falls
   * between the read and the feed).
   */
  private async recovered(resubscribe: boolean): Promise<void> {
    const again = resubscribe ? [...this.watched.keys()] : [...this.unconfirmed];
    const batches: Promise<void>[] = [];
    for (let i = 0; i < again.length; i += RESUBSCRIBE_BATCH) batches.push(this.subscribeTo(again.slice(i, i + RESUBSCRIBE_BATCH)));
    await Promise.all(batches);
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
    const scope = this.channels.scopeOf(channel);
    if (scope === null) return;
    this.received[scope] += 1;
    const body = this.signer.open(text, channel);
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

  /**
   * Redis's errors, each distinct message logged at most once per DROP_LOG_INTERVAL_MS: while a Cluster
   * master is down, ioredis reports its refused reconnects many times a second.
   */
  private reportError(error: unknown): void {
    const key = error instanceof Error ? error.message.slice(0, 200) : String(error);
    const now = Date.now();
    const last = this.errorLog.get(key);
    if (last && now - last.at < DROP_LOG_INTERVAL_MS) {
      last.since += 1;
      return;
    }
    if (this.errorLog.size >= 100) this.errorLog.clear();
    this.errorLog.set(key, { at: now, since: 0 });
    this.onError(last && last.since > 0 ? new Error(`${key} (and ${last.since} more since the last such line)`, { cause: error }) : error);
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
    await this.transport.close();
  }
}
