import { performance } from 'node:perf_hooks';
import type { LimitsConfig } from '../../config';
import type { ErrorBody } from '../../errors';
import type { Principal } from '../auth/service';
import type { Connection } from './connection';

/** The socket limits, as the metrics label them. */
export type SocketLimit = 'ws_frames' | 'ws_sockets' | 'ws_subscriptions' | 'ws_unauthenticated' | 'bad_token';

/**
 * What a client is told to wait after a cap (sockets per user, subscriptions per socket): a cap frees
 * when something else closes, not with time, so this is a pause before trying again, not a promise.
 */
export const CAP_RETRY_AFTER_S = 30;

const rateLimited = (message: string, retryAfter: number): ErrorBody => ({ code: 'rate_limited', message, retryAfter });

/**
 * `rate` tokens a second up to `burst`, one per frame. Refilled lazily from the clock, so an idle
 * bucket costs nothing; a full bucket is the same as a new one, so it may be dropped.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes a token: 0 when there was one, else the whole seconds until there is (at least 1). */
  take(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.rate));
  }

  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
  }
}

/**
 * Sockets counted against a key (a user, an address) under a cap: each socket holds at most one place,
 * given back once. 0 is no cap.
 */
class Places<K> {
  private readonly taken = new Map<K, number>();
  private readonly holders = new Map<Connection, K>();

  constructor(private readonly cap: number) {}

  /** Takes a place for the socket under `key`; false when the key has all it may. */
  take(connection: Connection, key: K): boolean {
    const count = this.taken.get(key) ?? 0;
    if (this.cap > 0 && count >= this.cap) return false;
    this.taken.set(key, count + 1);
    this.holders.set(connection, key);
    return true;
  }

  /** Gives the socket's place back, if it holds one. */
  free(connection: Connection): void {
    const key = this.holders.get(connection);
    if (key === undefined) return;
    this.holders.delete(connection);
    const count = (this.taken.get(key) ?? 1) - 1;
    if (count > 0) this.taken.set(key, count);
    else this.taken.delete(key);
  }
}

/**
 * The gateway's limits: frames per session (a token bucket shared by the session's sockets), sockets
 * per user, sockets waiting for authentication per address and subscriptions per socket. Counted in
 * this process: each instance protects itself. Each refusal is a `rate_limited` error body with `retryAfter`, reported to `refused` for metrics.
 */
export class SocketLimits {
  private readonly frames = new Map<number, TokenBucket>();
  /** Authenticated sockets by user (MAX_SOCKETS_PER_USER). */
  private readonly byUser: Places<number>;
  /** Sockets not authenticated yet, by client address (MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS). */
  private readonly waitingByAddress: Places<string>;

  constructor(
    private readonly limits: LimitsConfig,
    private readonly refused: (limit: SocketLimit) => void = () => undefined,
  ) {
    this.byUser = new Places(limits.maxSocketsPerUser);
    this.waitingByAddress = new Places(limits.maxUnauthenticatedSocketsPerAddress);
  }

  /**
   * A socket just opened: counted against its address until it authenticates or closes, or refused
   * past MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS.
   */
  arrive(connection: Connection): ErrorBody | null {
    if (this.waitingByAddress.take(connection, connection.ip)) return null;
    this.refused('ws_unauthenticated');
    const cap = this.limits.maxUnauthenticatedSocketsPerAddress;
    return rateLimited(`at most ${cap} sockets from this address may wait for authentication at once; try again later`, CAP_RETRY_AFTER_S);
  }

  /** The socket authenticated: it no longer counts against its address. */
  settled(connection: Connection): void {
    this.waitingByAddress.free(connection);
  }

  /**
   * A socket that has just authenticated: counted against its user, or refused past
   * MAX_SOCKETS_PER_USER. Synchronous with the hub's registration, so two sockets authenticating at
   * once cannot both take the last place.
   */
  admit(connection: Connection, principal: Principal): ErrorBody | null {
    if (this.byUser.take(connection, principal.userId)) return null;
    this.refused('ws_sockets');
    return rateLimited(`at most ${this.limits.maxSocketsPerUser} sockets per user are open on this server; try again later`, CAP_RETRY_AFTER_S);
  }

  /** A socket closed (the connection's `gone`): its places are free. */
  left(connection: Connection): void {
    this.waitingByAddress.free(connection);
    this.byUser.free(connection);
  }

  /** One frame of an authenticated socket: taken from its session's bucket, or refused. */
  frame(sessionId: number): ErrorBody | null {
    const rate = this.limits.wsFramesPerSecond;
    if (rate === 0) return null;
    const now = performance.now();
    let bucket = this.frames.get(sessionId);
    if (!bucket) this.frames.set(sessionId, (bucket = new TokenBucket(rate, this.limits.wsFrameBurst, now)));
    const wait = bucket.take(now);
    if (wait === 0) return null;
    this.refused('ws_frames');
    return rateLimited(`more than ${rate} frames a second on this session; nothing of this frame was applied`, wait);
  }

  /** A subscribe: refused past MAX_SUBSCRIPTIONS_PER_SOCKET, unless it renews a directory already watched. */
  subscription(connection: Connection, directoryId: number): ErrorBody | null {
    const cap = this.limits.maxSubscriptionsPerSocket;
    if (cap === 0 || connection.subscriptions.has(directoryId) || connection.subscriptions.size < cap) return null;
    this.refused('ws_subscriptions');
    return rateLimited(`at most ${cap} directories per socket; unsubscribe one first`, CAP_RETRY_AFTER_S);
  }

  /** Drops the buckets that have refilled (the same as new ones), so that ended sessions leave nothing behind. */
  sweep(): void {
    const now = performance.now();
    for (const [sessionId, bucket] of this.frames) if (bucket.isFull(now)) this.frames.delete(sessionId);
  }
}
