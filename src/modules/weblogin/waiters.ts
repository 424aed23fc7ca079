import type { Bus } from '../realtime/bus';

/**
 * The polls waiting on this instance, by web login: an approval heard on the bus (made on this
 * instance or another) wakes the polls of that login at once. A wake-up is only a hint to look at the
 * database again; a lost one delays the answer until the poll's next look (its re-check interval).
 */
export class WebLoginWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(bus: Bus) {
    this.unsubscribe = bus.subscribe((message) => {
      if (message.type === 'web-login-approved') this.wake(message.id);
    });
  }

  /**
   * Starts listening for the login before the caller looks at the database (so an approval between the
   * look and the wait is not missed); `wait` then resolves on a wake-up, after `ms`, on `signal`, or at
   * shutdown, whichever comes first. `stop` must be called once done.
   */
  arm(id: string, signal: AbortSignal): { wait(ms: number): Promise<void>; stop(): void } {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    let listeners = this.waiting.get(id);
    if (!listeners) this.waiting.set(id, (listeners = new Set()));
    listeners.add(wake);
    if (this.closed || signal.aborted) wake();
    const onAbort = () => wake();
    signal.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    return {
      wait: (ms) => Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]).finally(() => clearTimeout(timer)),
      stop: () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        listeners.delete(wake);
        if (listeners.size === 0 && this.waiting.get(id) === listeners) this.waiting.delete(id);
      },
    };
  }

  /** Whether the server is shutting down: polls answer at once rather than hold the close up. */
  get closing(): boolean {
    return this.closed;
  }

  private wake(id: string): void {
    for (const wake of this.waiting.get(id) ?? []) wake();
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const listeners of this.waiting.values()) for (const wake of listeners) wake();
  }
}
