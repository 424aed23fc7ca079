import type { ErrorBody } from '../../errors';

/** Addresses remembered at most; past it the oldest window is forgotten first. */
const REMEMBERED_ADDRESSES = 100_000;
const WINDOW_MS = 60_000;

/**
 * Tokens refused per client address, in windows of one minute (BAD_TOKEN_RATE_LIMIT). The per-token
 * limits give every token a count of its own, so a client that sends a fresh made-up token each time
 * never meets them, while each one costs a database lookup. Past this many refusals in a window, the
 * address's requests and sockets that carry a token are refused before any lookup until the window
 * ends: valid tokens from that address too, since nothing tells them apart without the lookup.
 */
export class RefusedTokens {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A token from this address was unknown, expired or revoked. */
  refused(address: string): void {
    if (this.perMinute === 0) return;
    const now = this.now();
    const window = this.windows.get(address);
    if (window && window.endsAt > now) {
      window.count += 1;
      return;
    }
    this.windows.delete(address);
    this.windows.set(address, { count: 1, endsAt: now + WINDOW_MS });
    if (this.windows.size > REMEMBERED_ADDRESSES) this.windows.delete(this.windows.keys().next().value as string);
  }

  /**
   * The refusal for a token from this address (`rate_limited`, with the seconds until it may send
   * tokens again), or null when it may now.
   */
  refusal(address: string): ErrorBody | null {
    const window = this.windows.get(address);
    if (!window || window.count < this.perMinute) return null;
    const left = window.endsAt - this.now();
    if (left <= 0) {
      this.windows.delete(address);
      return null;
    }
    return { code: 'rate_limited', message: `more than ${this.perMinute} refused tokens a minute from this address`, retryAfter: Math.max(1, Math.ceil(left / 1000)) };
  }
}
