import type { Bus, BusScope } from './bus';

/** What interest needs of the bus. */
export type Watchable = Pick<Bus, 'watch' | 'unwatch' | 'listening'>;

/** For a hub without a bus (unit tests): everything is local, nothing to subscribe to. */
export const NOTHING_TO_WATCH: Watchable = { watch: async () => undefined, unwatch: () => undefined, listening: async () => undefined };

/**
 * How many holders of this instance want each directory's and user's messages (the hub's index of
 * watchers and of users' sockets, a socket authenticating): the bus subscribes for the first and
 * unsubscribes after the last, so that an instance receives only what its sockets watch.
 */
export class Interest {
  private readonly holders = new Map<string, number>();

  constructor(private readonly bus: Watchable) {}

  /** Resolves once the bus listens (see Bus.watch); never rejects. */
  hold(scope: BusScope, id: number): Promise<void> {
    const key = `${scope}:${id}`;
    const count = this.holders.get(key) ?? 0;
    this.holders.set(key, count + 1);
    return count === 0 ? this.bus.watch(scope, id) : this.bus.listening(scope, id);
  }

  release(scope: BusScope, id: number): void {
    const key = `${scope}:${id}`;
    const count = this.holders.get(key) ?? 0;
    if (count > 1) return void this.holders.set(key, count - 1);
    if (count === 0) return;
    this.holders.delete(key);
    this.bus.unwatch(scope, id);
  }

  /** Directories and users held (for tests and metrics). */
  get size(): number {
    return this.holders.size;
  }
}
