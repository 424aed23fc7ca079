import type { Role } from '../../contract/constants';
import type { BatchDone, MutationRequest } from './mutate';
import type { CountLine, CountSession } from '../../contract';
import type { Change, GoodsView } from './views';

/**
 * What the domain announces after a commit, typed, to whoever registers (hocuspocus' extension hooks):
 * the bus bridge turns them into bus messages, the metrics count them, and later webhooks and alerts
 * take theirs. The domain imports none of them. Every event is emitted after the transaction that
 * made it committed, never before and never for a rollback.
 */
export interface DomainEventMap {
  /** A directory's changes, in revision order (one batch of the mutation queue). */
  changes: { directoryId: number; changes: Change[] };
  /** A directory was created, renamed or deleted. */
  directory: { directoryId: number; event: 'created' | 'renamed' | 'deleted' };
  /**
   * A user's membership of a directory began (`shared`), changed role (`role`) or ended (`unshared`;
   * `role` is then the one they had). Takes no revision: memberships are not changes of the directory.
   */
  membership: { directoryId: number; userId: number; event: 'shared' | 'role' | 'unshared'; role: Role };
  /** A change took a goods below its minCount: a low-stock alert to every member. */
  alert: { directoryId: number; goods: GoodsView };
  /** A count session of the directory moved: a line was added (`line`), or it started, finished or was cancelled (`count`). */
  count: { directoryId: number; countId: number; line?: CountLine; count?: CountSession };
  /** A batch of the mutation queue committed (its callers are answered next). */
  batchCommitted: { directoryId: number; requests: readonly MutationRequest[]; done: BatchDone };
  /** A batch runs again from the start: it lost a race on a unique key. */
  batchRetried: { directoryId: number };
  /** A batch's transaction failed; each of its callers is answered with the error. */
  batchFailed: { directoryId: number; requests: readonly MutationRequest[]; error: unknown };
}

export type DomainEventType = keyof DomainEventMap;
type Listener<K extends DomainEventType> = (event: DomainEventMap[K]) => void;

/**
 * The hooks. Listeners run synchronously, in registration order, so that a batch's changes reach the
 * bus in revision order before its callers are answered; a listener that throws is reported and
 * skipped, never a reason to fail or hang the write that emitted the event.
 */
export class DomainEvents {
  private readonly listeners = new Map<DomainEventType, Set<(event: never) => void>>();

  constructor(private readonly onListenerError: (error: unknown, type: DomainEventType) => void = () => undefined) {}

  /** Registers a listener; returns what unregisters it. */
  on<K extends DomainEventType>(type: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    const listeners = set as Set<Listener<K>>;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  emit<K extends DomainEventType>(type: K, event: DomainEventMap[K]): void {
    const set = this.listeners.get(type) as Set<Listener<K>> | undefined;
    if (!set) return;
    for (const listener of set) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error, type);
      }
    }
  }
}
