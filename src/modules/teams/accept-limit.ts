import { AppError } from '../../errors';

/**
 * Invite accepts per user per minute (INVITE_ACCEPT_RATE_LIMIT): an invite code has 192 random bits,
 * but nothing should be free to guess at, and a real user accepts a few at most. Counted per instance,
 * in fixed one-minute windows.
 */
export class AcceptLimit {
  private readonly windows = new Map<number, { startedAt: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one accept of this user; `rate_limited` (with `retryAfter`) past the limit. */
  take(userId: number): void {
    if (this.perMinute === 0) return;
    const now = this.now();
    let window = this.windows.get(userId);
    if (!window || now - window.startedAt >= 60_000) {
      if (this.windows.size > 10_000) this.sweep(now);
      window = { startedAt: now, count: 0 };
      this.windows.set(userId, window);
    }
    window.count += 1;
    if (window.count > this.perMinute) {
      const retryAfter = Math.max(1, Math.ceil((window.startedAt + 60_000 - now) / 1000));
      throw new AppError('rate_limited', `at most ${this.perMinute} invite accepts per minute; retry in ${retryAfter} s`, { retryAfter });
    }
  }

  private sweep(now: number): void {
    for (const [userId, window] of this.windows) if (now - window.startedAt >= 60_000) this.windows.delete(userId);
  }
}
