import { performance } from 'node:perf_hooks';
import { isDatabaseStall, retryingLostRaces, type RawDatabase, type Statements } from '../../db/raw';
import type { DomainEvents } from './events';
import { applyBatch, UNLIMITED, type BatchDone, type BatchLimits, type MutationRequest, type Outcome } from './mutate';
import { applyAcross, RefusedAcross, storeRefusal, type AcrossDone, type AcrossRequest } from './across';
import { sqlStore, type InventoryStore } from './store';

/**
 * Mutations of one directory taken into one transaction at most (one lock, one multi-row insert). On
 * MariaDB a whole /api/sync fits, and a bigger batch is fewer log flushes. The embedded database runs
 * its statements on the event loop, so a batch there is a stretch during which nothing else is served:
 * 50 scans take 3–8 ms.
 */
const MAX_BATCH = { mysql: 500, sqlite: 50 } as const;
/**
 * On the embedded database, the longest the queue runs transactions back to back (of one directory or
 * many) before it lets the event loop serve I/O: one client's 500-event sync or 10,000 pipelined scans
 * cannot hold every other request up for longer than about this plus one batch.
 */
const SQLITE_SLICE_MS = 10;
/** A batch that lost a race on a unique key (an event id, a directory name) runs again from the start. */
const MAX_ATTEMPTS = 3;

interface Waiting {
  request: MutationRequest;
  settle(outcome: Outcome | { failed: unknown }): void;
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
 * Group commit: mutations of one directory that arrive while its transaction is running (from any
 * socket, HTTP or sync) wait, then run together in the next one. Each keeps its own result, refusal and
 * revision; a caller is answered only after the commit that holds its mutation. A directory with no
 * transaction running starts one at once, so a lone scan waits for nothing.
 */
export class MutationQueue {
  private readonly waiting = new Map<number, Waiting[]>();
  /** When the queue last let the event loop serve I/O (SQLite only; see shareTheEventLoop). */
  private sliceStartedAt = 0;

  constructor(private readonly options: QueueOptions) {}

  /** Resolves with the outcome once committed; rejects only when the transaction itself failed. */
  submit(request: MutationRequest): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const settle = (outcome: Outcome | { failed: unknown }) => ('failed' in outcome ? reject(outcome.failed) : resolve(outcome));
      const queue = this.waiting.get(request.directoryId);
      if (queue) return void queue.push({ request, settle });
      this.waiting.set(request.directoryId, [{ request, settle }]);
      // At the end of this turn of the event loop, so that every mutation received in it (frames of
      // many sockets read together, a sync's events) shares the first batch. On SQLite a transaction
      // runs without yielding to I/O, so this is what lets its batches grow at all.
      setImmediate(() => void this.drain(request.directoryId));
    });
  }

  /** Runs batches of this directory until nobody waits; the queue's presence marks it as running. */
  private async drain(directoryId: number): Promise<void> {
    const queue = this.waiting.get(directoryId) as Waiting[];
    const size = MAX_BATCH[this.options.raw.dialect];
    while (queue.length > 0) {
      if (this.options.raw.dialect === 'sqlite') await this.shareTheEventLoop();
      const stalled = await this.run(directoryId, queue.splice(0, size));
      // Those waiting behind a batch that the database left unanswered would wait as long again for
      // the same answer: they get it now (503 unavailable; clients resend under the same event ids).
      if (stalled !== null) this.fail(directoryId, queue.splice(0), stalled);
    }
    this.waiting.delete(directoryId);
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

  /** Commits one batch and answers its callers; returns the error when the database stalled, else null. */
  private async run(directoryId: number, batch: Waiting[]): Promise<unknown> {
    const { raw, now, events } = this.options;
    const requests = batch.map((w) => w.request);
    let done: BatchDone;
    try {
      done = await this.commit(directoryId, requests, raw, now);
    } catch (failed) {
      this.fail(directoryId, batch, failed);
      return isDatabaseStall(failed) ? failed : null;
    }
    // Announced before the callers are answered, delivered after (the bus hands over asynchronously),
    // so no ack waits for a fan-out and every watcher still gets the revisions in order.
    if (done.changes.length > 0) events.emit('changes', { directoryId, changes: done.changes });
    for (const event of done.directoryEvents) events.emit('directory', { directoryId, event });
    for (const goods of done.alerts) events.emit('alert', { directoryId, goods });
    for (const count of done.counts) events.emit('count', { directoryId, countId: count.id, count });
    events.emit('batchCommitted', { directoryId, requests, done });
    batch.forEach((waiting, index) => waiting.settle(done.outcomes[index]));
    return null;
  }

  private fail(directoryId: number, batch: Waiting[], failed: unknown): void {
    if (batch.length === 0) return;
    this.options.events.emit('batchFailed', { directoryId, requests: batch.map((w) => w.request), error: failed });
    for (const waiting of batch) waiting.settle({ failed });
  }

  private commit(directoryId: number, requests: MutationRequest[], raw: RawDatabase, now: () => Date): Promise<BatchDone> {
    const store = this.options.store ?? ((statements: Statements) => sqlStore(statements, raw.dialect));
    return retryingLostRaces(
      () => raw.transaction((statements) => applyBatch(store(statements), directoryId, requests, now(), this.options.limits)),
      MAX_ATTEMPTS,
      () => this.options.events.emit('batchRetried', { directoryId }),
    );
  }

  /**
   * A mutation of several directories (a transfer, the undo of one): its own transaction, the
   * directories locked in id order, beside the batches of each (which lock one directory each, so no
   * lock waits in a cycle). Its changes are announced per directory after commit, before it is answered.
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
