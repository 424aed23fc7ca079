/**
 * What the Redis bus needs of Redis, whether one server (single-redis.ts: PUBLISH/SUBSCRIBE) or a
 * Cluster (cluster-bus.ts: SPUBLISH/SSUBSCRIBE for the directories' and users' channels). Signing,
 * envelopes, echoes and interest are the bus's (redis-bus.ts), the same on both.
 */
export interface BusTransport {
  /** Where Redis is, for messages (no credentials). */
  readonly location: string;
  /** Connects, and subscribes to the global channel; rejects when Redis cannot be reached. */
  connect(global: string): Promise<void>;
  /** Hands a message to Redis; rejects when it did not get there (within about a second). */
  publish(channel: string, text: string): Promise<unknown>;
  /** Resolves once Redis confirmed every one of these subscriptions; rejects when it cannot. */
  subscribe(channels: string[]): Promise<unknown>;
  unsubscribe(channels: string[]): Promise<unknown>;
  /** Whether messages can go both ways right now (the subscriber is connected and Redis answers a PING). */
  healthy(): Promise<boolean>;
  /** Resolves once every connection is closed. */
  close(): Promise<void>;
}

/** What a transport reports to its bus. */
export interface TransportEvents {
  message(channel: string, text: string): void;
  error(error: unknown): void;
  /**
   * A connection came back after a drop, or a Cluster shard's subscriber was made anew (a failover, a
   * slot move): messages may have been lost meanwhile. `resubscribe`: the subscriptions must be made
   * again (the subscriber's connection is a new one).
   */
  recovered(resubscribe: boolean): void;
}

/** How long a command to Redis may take before it counts as failed. */
export const COMMAND_TIMEOUT_MS = 1000;
