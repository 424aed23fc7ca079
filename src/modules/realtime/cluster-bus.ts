import { Cluster } from 'ioredis';
import { COMMAND_TIMEOUT_MS, type BusTransport, type TransportEvents } from './bus-transport';
import type { RedisLocation } from './redis-url';

/** How long the start waits for a subscriber on every shard before it goes on (the missing ones are made as the Cluster allows). */
const SHARDS_READY_MS = 5000;
/** How long the start may take to reach the Cluster and subscribe to the global channel. */
const CONNECT_TIMEOUT_MS = 10_000;
/** At most one recovery (a resync of every instance) in this long. */
const RECOVERY_INTERVAL_MS = 1000;

/**
 * A Redis Cluster: each directory's and user's channel is a sharded channel (SPUBLISH/SSUBSCRIBE), so
 * a message is handled by the one shard that owns its channel's slot and reaches only the instances
 * subscribed to it there; the global channel is plain pub/sub, which the Cluster broadcasts to every
 * node (its few messages are for every instance anyway).
 *
 * ioredis keeps one subscriber connection per master (`shardedSubscribers`) and, when the slots move
 * or a master fails over, makes the missing ones anew and subscribes them again to the channels of
 * their slots; it then says `subscribersReady`, and the bus asks every instance to read the log
 * (messages of those shards published meanwhile are lost). A master that is down with no replica to
 * take over leaves its channels without a bus until it comes back: their watchers catch up through
 * the periodic check (REVISION_CHECK_MS).
 */
export class ClusterTransport implements BusTransport {
  private readonly cluster: Cluster;
  private started = false;
  /** The global channel: plain pub/sub (SPUBLISH reaches only SSUBSCRIBE, and PUBLISH only SUBSCRIBE). */
  private global = '';
  /** The recoveries held back while one was reported less than RECOVERY_INTERVAL_MS ago. */
  private recovery: { again: boolean; timer: NodeJS.Timeout } | null = null;

  constructor(
    private readonly where: Extract<RedisLocation, { kind: 'cluster' }>,
    private readonly events: TransportEvents,
  ) {
    const { nodes, username, password, tls } = where;
    this.cluster = new Cluster(nodes, {
      lazyConnect: true,
      shardedSubscribers: true,
      // As on one server: while the Cluster is unreachable a publish fails at once rather than queueing.
      enableOfflineQueue: false,
      redisOptions: { username, password, ...(tls ? { tls: {} } : {}), commandTimeout: COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1, disconnectTimeout: 200 },
    });
    this.cluster.on('error', (error) => events.error(error));
    this.cluster.on('node error', (error) => events.error(error));
    this.cluster.on('smessage', (channel: string, text: string) => events.message(channel, text));
    this.cluster.on('message', (channel: string, text: string) => events.message(channel, text));
    // Every shard's subscriber made anew (a failover, a slot moved, a node back): what those shards
    // carried meanwhile may be lost. The first one is the start's. While a master is down ioredis makes
    // its subscriber anew many times a second (each attempt says `subscribersReady`): one recovery per
    // RECOVERY_INTERVAL_MS at most, the last of a burst included.
    this.cluster.on('subscribersReady', () => {
      if (this.started) this.recover();
    });
    let wasReady = false;
    this.cluster.on('ready', () => {
      if (wasReady) this.recover();
      wasReady = true;
    });
  }

  /** Reports a recovery now, or once RECOVERY_INTERVAL_MS after the last one (once, however many came meanwhile). */
  private recover(): void {
    if (this.recovery) return void (this.recovery.again = true);
    this.events.recovered(false);
    const recovery = {
      again: false,
      timer: setTimeout(() => {
        this.recovery = null;
        if (recovery.again && this.cluster.status !== 'end') this.recover();
      }, RECOVERY_INTERVAL_MS),
    };
    recovery.timer.unref();
    this.recovery = recovery;
  }

  get location(): string {
    return this.where.nodes.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',');
  }

  async connect(global: string): Promise<void> {
    this.global = global;
    const shardsReady = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SHARDS_READY_MS);
      this.cluster.once('subscribersReady', () => (clearTimeout(timer), resolve()));
    });
    try {
      // ioredis's connect can wait forever (a ready check that fails just after a master died): the
      // start fails instead, saying so, and whatever runs the server starts it again.
      await withinTime(this.cluster.connect(), CONNECT_TIMEOUT_MS);
      // A sharded subscription asked before its shard's subscriber exists is refused: the start waits for them.
      await shardsReady;
      await withinTime(this.cluster.subscribe(global), CONNECT_TIMEOUT_MS);
      this.started = true;
    } catch (error) {
      this.cluster.disconnect();
      throw error;
    }
  }

  publish(channel: string, text: string): Promise<unknown> {
    return channel === this.global ? this.cluster.publish(channel, text) : this.cluster.spublish(channel, text);
  }

  /** One command per channel: the channels of one SSUBSCRIBE must share a slot. */
  subscribe(channels: string[]): Promise<unknown> {
    return Promise.all(channels.map((channel) => this.cluster.ssubscribe(channel)));
  }

  unsubscribe(channels: string[]): Promise<unknown> {
    return Promise.all(channels.map((channel) => this.cluster.sunsubscribe(channel)));
  }

  async healthy(): Promise<boolean> {
    try {
      return this.cluster.status === 'ready' && (await this.cluster.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.recovery) clearTimeout(this.recovery.timer);
    if (this.cluster.status === 'end') return;
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      this.cluster.once('end', () => (clearTimeout(timer), resolve()));
    });
    this.cluster.disconnect();
    await ended;
  }
}

/** `promise`, or a rejection with code ETIMEDOUT after `ms`. */
function withinTime<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
