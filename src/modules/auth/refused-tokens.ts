import type { Em } from '../../db/orm';
import type { ErrorBody } from '../../errors';
import { LiveSessions } from './live-sessions';
import { hashToken } from './service';

/** Addresses remembered at most; past it the oldest window is forgotten first. */
const REMEMBERED_ADDRESSES = 100_000;
const WINDOW_MS = 60_000;

/**
 * Tokens refused per client address, in windows of one minute (BAD_TOKEN_RATE_LIMIT). The per-token
 * limits give every token a count of its own, so a client that sends a fresh made-up token each time
 * never meets them, while each one costs a database lookup. Past this many refusals in a window, a
 * token from that address is looked up only if it may belong to a live session (LiveSessions, which
 * knows without a lookup per token); any other is refused until the window ends. A valid token is
 * never refused by this limit: one broken phone behind a shop's NAT must not lock its neighbours out.
 */
export class RefusedTokens {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();
  private readonly live: LiveSessions;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.live = new LiveSessions(now);
  }

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
   * The refusal for this token from this address (`rate_limited`, with the seconds until the address
   * may send unknown tokens again), or null when it is to be looked up.
   */
  async refusal(address: string, token: string, em: Em): Promise<(ErrorBody & { retryAfter: number }) | null> {
    const window = this.windows.get(address);
    if (!window || window.count < this.perMinute) return null;
    const left = window.endsAt - this.now();
    if (left <= 0) {
      this.windows.delete(address);
      return null;
    }
    if (await this.live.mayBeLive(hashToken(token), em)) return null;
    return { code: 'rate_limited', message: `more than ${this.perMinute} refused tokens a minute from this address`, retryAfter: Math.max(1, Math.ceil(left / 1000)) };
  }
}
