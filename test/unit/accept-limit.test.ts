import { AcceptLimit } from '../../src/modules/teams/accept-limit';
import { AppError } from '../../src/errors';

/** Invite accepts per user per minute, on an injected clock. */

function refusal(take: () => void): Record<string, unknown> | null {
  try {
    take();
    return null;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { code: error.code, ...error.details };
  }
}

describe('AcceptLimit', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 1_000_000));

  it('lets perMinute accepts through, then refuses rate_limited with the seconds left in the window', () => {
    const limit = new AcceptLimit(3, clock);
    for (let i = 0; i < 3; i++) expect(refusal(() => limit.take(7))).toBeNull();
    now += 20_000;
    expect(refusal(() => limit.take(7))).toEqual({ code: 'rate_limited', retryAfter: 40 });
    now += 39_500;
    expect(refusal(() => limit.take(7))).toEqual({ code: 'rate_limited', retryAfter: 1 });
  });

  it('a new window starts a minute after the last one started', () => {
    const limit = new AcceptLimit(1, clock);
    limit.take(7);
    expect(refusal(() => limit.take(7))?.code).toBe('rate_limited');
    now += 60_000;
    expect(refusal(() => limit.take(7))).toBeNull();
    expect(refusal(() => limit.take(7))?.code).toBe('rate_limited');
  });

  it('counts each user on their own', () => {
    const limit = new AcceptLimit(1, clock);
    limit.take(1);
    expect(refusal(() => limit.take(2))).toBeNull();
    expect(refusal(() => limit.take(1))?.code).toBe('rate_limited');
  });

  it('0 means no limit', () => {
    const limit = new AcceptLimit(0, clock);
    for (let i = 0; i < 100; i++) limit.take(1);
  });

  it('forgets old windows once many users have one, without forgetting a live one', () => {
    const limit = new AcceptLimit(1, clock);
    limit.take(0);
    now += 60_000;
    for (let user = 1; user <= 10_002; user++) limit.take(user);
    // user 1's window is live (this minute): still refused; user 0's was swept and starts afresh.
    expect(refusal(() => limit.take(1))?.code).toBe('rate_limited');
    expect(refusal(() => limit.take(0))).toBeNull();
  });
});
