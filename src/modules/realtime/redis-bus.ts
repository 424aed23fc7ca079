import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { InProcessBus, type BusMessage } from './bus';

interface Envelope {
  from: string;
  message: BusMessage;
}

export interface RedisBusOptions {
  url: string;
  /** The pub/sub channel every instance of one deployment shares. */
  channel?: string;
  onError?: (error: unknown) => void;
}

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

  private constructor(options: RedisBusOptions) {
    super();
    this.channel = options.channel ?? 'scancode:bus';
    this.onError = options.onError ?? (() => undefined);
    // Commands wait for a reconnect instead of piling up forever: a publish is dropped after 1 s.
    this.publisher = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true, commandTimeout: 1000 });
    this.subscriber = this.publisher.duplicate();
    for (const client of [this.publisher, this.subscriber]) client.on('error', (error) => this.onError(error));
    this.subscriber.on('message', (channel: string, text: string) => this.receive(channel, text));
  }

  /** Connects both clients and subscribes; fails (so the server does not start) if Redis is unreachable. */
  static async connect(options: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(options);
    try {
      await bus.publisher.connect();
      await bus.subscriber.connect();
      await bus.subscriber.subscribe(bus.channel);
    } catch (error) {
      bus.publisher.disconnect();
      bus.subscriber.disconnect();
      throw error;
    }
    return bus;
  }

  override async publish(message: BusMessage): Promise<void> {
    this.deliver(message);
    const envelope: Envelope = { from: this.serverId, message };
    try {
      await this.publisher.publish(this.channel, JSON.stringify(envelope));
    } catch (error) {
      this.onError(error);
    }
  }

  private receive(channel: string, text: string): void {
    if (channel !== this.channel) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch (error) {
      this.onError(error);
      return;
    }
    if (envelope.from === this.serverId) return; // already delivered locally
    this.deliver(envelope.message);
  }

  override async close(): Promise<void> {
    await super.close();
    await Promise.allSettled([this.subscriber.quit(), this.publisher.quit()]);
  }
}
