import Redis from 'ioredis';
import { COMMAND_TIMEOUT_MS, type BusTransport, type TransportEvents } from './bus-transport';

/**
 * One Redis server: a publisher and a subscriber connection, PUBLISH and SUBSCRIBE on named channels
 * (one per watched directory and user, and the global one).
 */
export class SingleRedisTransport implements BusTransport {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;

  constructor(url: string, events: TransportEvents) {
    // No offline queue: while Redis is away a publish (or a subscribe) fails at once rather than piling
    // up behind the reconnect; subscribers catch up from the log. A short disconnectTimeout: on close
    // nothing is owed to Redis. A command timeout: a stalled Redis (SIGSTOP, a full network buffer)
    // fails a publish in a second rather than holding it forever; no caller waits for it either way.
    this.publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, disconnectTimeout: 200, commandTimeout: COMMAND_TIMEOUT_MS });
    this.subscriber = this.publisher.duplicate();
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', (error) => events.error(error));
      let wasReady = false;
      client.on('ready', () => {
        if (wasReady) events.recovered(client === this.subscriber);
        wasReady = true;
      });
    }
    this.subscriber.on('message', (channel: string, text: string) => events.message(channel, text));
  }

  get location(): string {
    const { host, port } = this.publisher.options;
    return `${host}:${port}`;
  }

  async connect(global: string): Promise<void> {
    try {
      await this.publisher.connect();
      await this.subscriber.connect();
      await this.subscriber.subscribe(global);
    } catch (error) {
      this.publisher.disconnect();
      this.subscriber.disconnect();
      throw error;
    }
  }

  publish(channel: string, text: string): Promise<unknown> {
    return this.publisher.publish(channel, text);
  }

  subscribe(channels: string[]): Promise<unknown> {
    return this.subscriber.subscribe(...channels);
  }

  unsubscribe(channels: string[]): Promise<unknown> {
    return this.subscriber.unsubscribe(...channels);
  }

  async healthy(): Promise<boolean> {
    try {
      return this.subscriber.status === 'ready' && (await this.publisher.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
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
