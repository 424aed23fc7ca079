import { performance } from 'node:perf_hooks';
import { isDatabaseStall, retryingLostRaces, type RawDatabase, type Statements } from '../../db/raw';
import type { DomainEvents } from './events';
import { applyGroup, UNLIMITED, type BatchDone, type BatchLimits, type MutationRequest, type Outcome } from './mutate';
import { applyAcross, RefusedAcross, storeRefusal, type AcrossDone, type AcrossRequest } from './across';
import { sqlStore, type InventoryStore } from './store';

/**
 * Mutations taken into one transaction at most, of one directory or many (one lock statement, one
 * multi-row insert per table). On MariaDB a whole /api/sync fits, and a bigger batch is fewer log
 * flushes. The embedded database runs its statements on the event loop, so a batch there is a stretch
 * during which nothing else is served: 50 scans take 3–8 ms.
 */
const MAX_BATCH = { mysql: 500, sqlite: 50 } as const;
/**
 * Directories locked by one transaction at most: every one of them waits for its commit, and so does
 * every transfer, share or count line that needs one of those rows meanwhile.
 */
const MAX_DIRECTORIES = { mysql: 100, sqlite: 50 } as const;
/**
 * Transactions of the queue running at once (over disjoint directories). On MySQL one can run its
 * statements while another waits for its log flush; SQLite has one writer, and its transactions hold
 * the event loop anyway.
 */
const MAX_RUNNING = { mysql: 2, sqlite: 1 } as const;
/**
 * On the embedded database, the longest the queue runs transactions back to back before it lets the
 * event loop serve I/O: one client's 500-event sync or 10,000 pipelined scans cannot hold every other
 * request up for longer than about this plus one batch.
 */
const SQLITE_SLICE_MS = 10;
/** A batch that lost a race on a unique key (an event id, a directory name) runs again from the start. */
const MAX_ATTEMPTS = 3;

interface Waiting {
  request: MutationRequest;
  settle(outcome: Outcome | { failed: unknown }): void;
}

/** The mutations of one directory taken into a transaction. */
interface Taken {
  directoryId: number;
  batch: Waiting[];
}

export interface QueueOptions {
  raw: RawDatabase;
  now: () => Date;
  /** Where each batch's changes and directory events are announced after its commit (and how it went, for metrics). */
  events: DomainEvents;
  /** The store over a transaction's statements: sqlStore by default (the unit tier hands an in-memory one). */
  store?: (statements: Statements) => InventoryStore;
  /** The stored-size caps each batch enforces (none when absent). */
  limits?: BatchLimits;
}

/**
 * Group commit, across directories: the mutations that arrive while the queue's transactions run (from
 * any socket, HTTP or sync, for any directory) wait, then run together in the next one, so the commits
 * per second do not grow with the number of directories. Each keeps its own result, refusal and
 * revision; a caller is answered only after the commit that holds its mutation. A directory is in one
 * running transaction at most, so its batches commit, and are announced, in revision order. With
 * nothing running, a lone scan waits only for the end of the current turn of the event loop.
 */
export class MutationQueue {
  /** Mutations not taken yet, by directory, the directories in the order they got their turn. */
  private readonly waiting = new Map<number, Waiting[]>();
  /** Directories in a running transaction: what arrives for them waits for its commit. */
  private readonly running = new Set<number>();
  private transactionsRunning = 0;
  private scheduled = false;
  /** When the queue last let the event loop serve I/O (SQLite only; see shareTheEventLoop). */
  private sliceStartedAt = 0;
  private transactionsCommitted = 0;

  constructor(private readonly options: QueueOptions) {}

  /** Transactions the queue has committed: with the mutations counted, how many shared each. */
  get commits(): number {
    return this.transactionsCommitted;
  }

  /** Resolves with the outcome once committed; rejects only when the transaction itself failed. */
  submit(request: MutationRequest): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const settle = (outcome: Outcome | { failed: unknown }) => ('failed' in outcome ? reject(outcome.failed) : resolve(outcome));
      const queue = this.waiting.get(request.directoryId);
      if (queue) queue.push({ request, settle });
      else this.waiting.set(request.directoryId, [{ request, settle }]);
      if (this.scheduled) return;
      // At the end of this turn of the event loop, so that every mutation received in it (frames of
      // many sockets read together, a sync's events) shares the first transaction. On SQLite a
      // transaction runs without yielding to I/O, so this is what lets its batches grow at all.
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    });
  }

  /** Starts transactions while there is room and something to take; each that ends calls this again. */
  private pump(): void {
    const { dialect } = this.options.raw;
    while (this.transactionsRunning < MAX_RUNNING[dialect] && this.hasWork()) {
      this.transactionsRunning += 1;
      void this.runNext().finally(() => {
        this.transactionsRunning -= 1;
        this.pump();
      });
    }
  }

  private hasWork(): boolean {
    for (const directoryId of this.waiting.keys()) if (!this.running.has(directoryId)) return true;
    return false;
  }

  private async runNext(): Promise<void> {
    if (this.options.raw.dialect === 'sqlite') await this.shareTheEventLoop();
    const group = this.take();
    if (group.length === 0) return;
    try {
      await this.run(group);
    } finally {
      for (const { directoryId } of group) this.running.delete(directoryId);
    }
  }

  /**
   * The next transaction's mutations: those of the directories not running, in the order they got
   * their turn, up to MAX_BATCH mutations and MAX_DIRECTORIES directories. A directory with more
   * waiting than fits goes to the back, so that a flood into one does not starve the others.
   */
  private take(): Taken[] {
    const { dialect } = this.options.raw;
    const group: Taken[] = [];
    let room: number = MAX_BATCH[dialect];
    for (const [directoryId, queue] of this.waiting) {
      if (room === 0 || group.length === MAX_DIRECTORIES[dialect]) break;
      if (this.running.has(directoryId)) continue;
      const batch = queue.splice(0, room);
      this.waiting.delete(directoryId);
      if (queue.length > 0) this.waiting.set(directoryId, queue);
      this.running.add(directoryId);
      group.push({ directoryId, batch });
      room -= batch.length;
    }
    // The order the transaction locks them in (store.lockDirectories), and announces them in.
    return group.sort((a, b) => a.directoryId - b.directoryId);
  }

  /**
   * On SQLite nothing else runs until a transaction ends (its statements are synchronous, its awaits
   * microtasks), so past a slice the queue waits one turn of the event loop: other requests' I/O is
   * served, and what arrived meanwhile joins the next batch.
   */
  private async shareTheEventLoop(): Promise<void> {
    if (performance.now() - this.sliceStartedAt < SQLITE_SLICE_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.sliceStartedAt = performance.now();
  }

  /**
   * Commits one transaction and answers its callers. When it fails, and held several directories, each
   * runs again alone: whatever failed it (a row one directory's mutation could not write) fails only
   * that directory's callers. A database that stalled is not asked again: those waiting behind the
   * group would wait as long again for the same answer, so they get it now (503 unavailable; clients
   * resend under the same event ids).
   */
  private async run(group: Taken[]): Promise<void> {
    let done: BatchDone[];
    try {
      done = await this.commit(group);
    } catch (failed) {
      if (isDatabaseStall(failed)) {
        for (const taken of group) this.fail(taken.directoryId, [...taken.batch, ...this.stopWaiting(taken.directoryId)], failed);
      } else if (group.length === 1) this.fail(group[0].directoryId, group[0].batch, failed);
      else for (const taken of group) await this.run([taken]);
      return;
    }
    this.transactionsCommitted += 1;
    const { events } = this.options;
    // Announced before the callers are answered, delivered after (the bus hands over asynchronously),
    // so no ack waits for a fan-out and every watcher still gets the revisions in order.
    group.forEach(({ directoryId, batch }, index) => {
      const { changes, directoryEvents, alerts, counts } = done[index];
      if (changes.length > 0) events.emit('changes', { directoryId, changes });
      for (const event of directoryEvents) events.emit('directory', { directoryId, event });
      for (const goods of alerts) events.emit('alert', { directoryId, goods });
      for (const count of counts) events.emit('count', { directoryId, countId: count.id, count });
      events.emit('batchCommitted', { directoryId, requests: batch.map((w) => w.request), done: done[index] });
    });
    group.forEach(({ batch }, index) => batch.forEach((waiting, at) => waiting.settle(done[index].outcomes[at])));
  }

  private stopWaiting(directoryId: number): Waiting[] {
    const queue = this.waiting.get(directoryId) ?? [];
    this.waiting.delete(directoryId);
    return queue;
  }

  private fail(directoryId: number, batch: Waiting[], failed: unknown): void {
    if (batch.length === 0) return;
    this.options.events.emit('batchFailed', { directoryId, requests: batch.map((w) => w.request), error: failed });
    for (const waiting of batch) waiting.settle({ failed });
  }

  private commit(group: Taken[]): Promise<BatchDone[]> {
    const { raw, now, events, limits } = this.options;
    const store = this.options.store ?? ((statements: Statements) => sqlStore(statements, raw.dialect));
    const batches = group.map(({ directoryId, batch }) => ({ directoryId, requests: batch.map((w) => w.request) }));
    return retryingLostRaces(
      () => raw.transaction((statements) => applyGroup(store(statements), batches, now(), limits)),
      MAX_ATTEMPTS,
      () => group.forEach(({ directoryId }) => events.emit('batchRetried', { directoryId })),
    );
  }

  /**
   * A mutation of several directories (a transfer, the undo of one): its own transaction, the
   * directories locked in id order, beside the queue's transactions (which lock theirs in id order too,
   * so no lock waits in a cycle). Its changes are announced per directory after commit, before it is answered.
   */
  async across(request: AcrossRequest): Promise<Outcome> {
    const { raw, now, events } = this.options;
    const store = this.options.store ?? ((statements: Statements) => sqlStore(statements, raw.dialect));
    const limits = this.options.limits ?? UNLIMITED;
    const directoryId = request.kind === 'transfer' ? Math.min(request.from, request.to) : request.directoryId;
    const run = (): Promise<AcrossDone> =>
      raw
        .transaction((statements) => applyAcross(store(statements), request, now(), limits))
        .catch(async (error: unknown) => {
          if (!(error instanceof RefusedAcross)) throw error;
          const outcome = await raw.transaction((statements) => storeRefusal(store(statements), request, error.error, now()));
          return { outcome, directories: [] };
        });
    const done = await retryingLostRaces(run, MAX_ATTEMPTS, () => events.emit('batchRetried', { directoryId }));
    for (const { directoryId: id, changes, alerts } of done.directories) {
      events.emit('changes', { directoryId: id, changes });
      for (const goods of alerts) events.emit('alert', { directoryId: id, goods });
    }
    return done.outcome;
  }
}
