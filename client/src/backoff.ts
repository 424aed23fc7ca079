/**
 * Reconnection delays: exponential, with jitter so that the phones a server restart disconnected do not
 * all come back in the same instant. Each delay is between half and all of base·2ⁿ (capped).
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt after a failure; each failure doubles the next one. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 30);
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /**
   * A short random delay that does not grow: after a deploy's 1001 (another instance answers) or a
   * 4408, where the server is fine and only this socket had to go.
   */
  brief(): number {
    return Math.round(this.random() * this.baseMs * 2);
  }

  /** A socket came online: the next failure starts from the base again. */
  reset(): void {
    this.failures = 0;
  }
}
