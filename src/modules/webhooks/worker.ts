import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { groupBy } from '../../collections';
import type { WebhookConfig } from '../../config';
import type { RawDatabase, Statements } from '../../db/raw';
import { changeFromLog, type LogRow } from '../inventory/context';
import { LOG_PAGE } from '../inventory/history';
import type { Change } from '../inventory/views';
import { asDate } from './service';
import { postDelivery, type Attempt } from './send';

export type WebhookOptions = WebhookConfig;

/** Changes read from the log at a time. */
const BATCH = 50;
/**
 * While a receiver keeps answering 2xx, progress (the cursor and the delivered rows) is written in one
 * transaction per this many deliveries or this long, whichever comes first, rather than one per change:
 * each commit is a log flush on MariaDB and a turn of the one writer on the embedded database, taken
 * from the scans. A crash loses at most that much progress, and those changes are sent again (at least
 * once; receivers dedupe by X-Scancode-Delivery). Under a stream of scans a loop that reached the head
 * reads its next page this long after the last, in the transaction that writes the progress: a
 * webhook costs the scans a transaction and a read per FLUSH_MS, not per change, and a change waits at
 * most that long before it is sent.
 */
const FLUSH_EVERY = 50;
const FLUSH_MS = 200;

interface WebhookRow {
  id: number;
  directory_id: number;
  url: string;
  secret: string;
  delivered_revision: number;
  next_attempt_at: Date | string | number | null;
}

/** A change the receiver took (2xx), not yet written to the database. */
interface Delivered {
  revision: number;
  attempts: number;
  first: Date;
  at: Date;
  status: number;
  /** Whether the delivery log already has a row for it (earlier failed attempts). */
  logged: boolean;
}

/** What one webhook's loop has delivered since its last write: the cursor it may advance to and the log rows. */
interface Progress {
  cursor: number;
  delivered: Delivered[];
  since: number | null;
}

/** A change's earlier attempts, from the delivery log. */
interface Earlier {
  revision: number;
  attempts: number;
  first_attempt_at: Date | string | number;
}

/** What one step of a webhook's loop reads: the webhook, where it is, the next revisions to send and their earlier attempts. */
interface Page {
  webhook: WebhookRow & { head: number };
  cursor: number;
  upTo: number;
  earlier: Map<number, Earlier>;
  /** The log's Changes in (cursor, upTo], in order. */
  changes: Change[];
}

/** The gap before attempt `attempts + 1`: base, 2·base, 4·base… at most `maxDelayMs`. */
export function retryDelay(attempts: number, options: Pick<WebhookOptions, 'retryBaseMs' | 'maxDelayMs'>): number {
  return Math.min(options.maxDelayMs, options.retryBaseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
}

/**
 * An AbortController whose signal takes a listener per delivery in flight, as many as there are webhooks
 * delivering at once (Node warns of a leak past 10 listeners; these are removed as each delivery ends).
 */
function abortForDeliveries(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * Delivers every webhook's changes, in revision order, from the database alone: a webhook's cursor
 * (`delivered_revision`) says how far it got, and the changes after it are read from the directory's
 * log. The scan path writes nothing for webhooks (its hook only wakes this worker), and nothing is held
 * in memory that a restart could lose. One instance at a time delivers a webhook: it holds the
 * webhook's lease (a row claimed by an UPDATE that matches only when the lease is free or expired,
 * renewed before each attempt); every write of the worker is guarded by the lease, so an instance that
 * lost it (paused past its expiry) writes nothing.
 */
export class WebhookWorker {
  readonly instanceId = randomUUID();
  private readonly running = new Map<number, Promise<void>>();
  private readonly sleeping = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  /** Ends every delivery in flight at stop. */
  private readonly abort = abortForDeliveries();
  /** Directories with webhooks and their webhooks' ids (refreshed by each poll): a change elsewhere wakes nothing. */
  private watched = new Map<number, number[]>();
  /** Directories that changed while every one of their webhooks had a loop running here: polled for when a loop ends. */
  private readonly changedWhileRunning = new Set<number>();
  private pollTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  private stopped = false;

  constructor(
    private readonly raw: RawDatabase,
    private readonly now: () => Date,
    private readonly log: FastifyBaseLogger,
    readonly options: WebhookOptions,
  ) {}

  start(): void {
    if (this.stopped || this.pollTimer) return;
    this.pollTimer = setInterval(() => this.wake(), this.options.pollMs);
    this.wake();
  }

  /** A directory got changes (the post-commit hook): deliver them now rather than at the next poll. */
  changed(directoryId: number): void {
    const webhookIds = this.watched.get(directoryId);
    if (!webhookIds) return;
    // Loops running for all its webhooks read the change themselves: a poll per scan would be a
    // transaction per scan, competing with the scans. Noted, in case a loop is just ending.
    if (webhookIds.length > 0 && webhookIds.every((id) => this.running.has(id))) {
      this.changedWhileRunning.add(directoryId);
      return;
    }
    this.wake();
  }

  /** A webhook was registered for this directory on this instance. */
  watch(directoryId: number): void {
    // Its webhooks' ids are known at the next poll; until then every change of the directory wakes one.
    this.watched.set(directoryId, []);
  }

  wake(): void {
    if (this.stopped || !this.pollTimer) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = this.poll()
      .catch((error: unknown) => this.log.error({ err: error }, 'could not look for due webhook deliveries'))
      .finally(() => {
        this.polling = null;
        if (this.pollAgain) {
          this.pollAgain = false;
          this.wake();
        }
      });
  }

  /** Stops delivering: in-flight requests are aborted (not counted as attempts) and the leases are released for the next instance. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.abort.abort();
    for (const sleep of this.sleeping) this.endSleep(sleep);
    await this.polling;
    await Promise.allSettled([...this.running.values()]);
    await this.raw
      .transaction((sql) => sql.run('update webhooks set lease_owner = null, lease_until = null where lease_owner = ?', [this.instanceId]))
      .catch((error: unknown) => this.log.warn({ err: error }, 'could not release the webhook leases; they expire'));
  }

  private async poll(): Promise<void> {
    const now = this.now();
    const { due, webhooks } = await this.raw.transaction(async (sql) => ({
      due: await sql.all<{ id: number }>(
        `select w.id from webhooks w join directories d on d.id = w.directory_id
         where w.delivered_revision < d.revision and (w.next_attempt_at is null or w.next_attempt_at <= ?)
         and (w.lease_owner is null or w.lease_until < ? or w.lease_owner = ?)`,
        [now, now, this.instanceId],
      ),
      webhooks: await sql.all<{ id: number; directory_id: number }>('select id, directory_id from webhooks'),
    }));
    this.watched = groupBy(
      webhooks,
      (row) => row.directory_id,
      (row) => row.id,
    );
    for (const { id } of due) {
      if (this.stopped || this.running.has(id) || !(await this.claim(id))) continue;
      const run = this.deliver(id)
        .catch((error: unknown) => this.log.error({ err: error, webhookId: id }, 'webhook delivery stopped; the next poll resumes it'))
        .finally(() => {
          this.running.delete(id);
          const directoryId = [...this.watched].find(([, ids]) => ids.includes(id))?.[0];
          // A change that came as this loop was leaving is delivered now, not at the next poll.
          if (directoryId !== undefined && this.changedWhileRunning.delete(directoryId)) this.wake();
        });
      this.running.set(id, run);
    }
  }

  /** Takes the webhook's lease if it is free, expired or already this instance's. */
  private async claim(webhookId: number): Promise<boolean> {
    const now = this.now();
    const until = new Date(now.getTime() + this.options.leaseMs);
    const claimed = await this.raw.transaction((sql) =>
      sql.run('update webhooks set lease_owner = ?, lease_until = ? where id = ? and (lease_owner is null or lease_until < ? or lease_owner = ?)', [
        this.instanceId,
        until,
        webhookId,
        now,
        this.instanceId,
      ]),
    );
    return claimed.affectedRows === 1;
  }

  /**
   * One transaction per page: writes the deliveries not yet written (renewing the lease with them), or
   * renews the lease alone when a third of it is spent; then reads the webhook, its directory's head,
   * the delivery log's rows of the next page (those tried before, for their attempt count) and the page
   * of the log itself. Null when the lease was lost or the webhook deleted.
   */
  private async renew(webhookId: number, lease: { renewedAt: number }, progress?: Progress): Promise<Page | null> {
    const now = this.now().getTime();
    // Deliveries not yet written go in the same transaction, which renews the lease with them.
    const writing = progress !== undefined && progress.since !== null;
    const stale = !writing && now - lease.renewedAt > this.options.leaseMs / 3;
    const page = await this.raw.transaction(async (sql): Promise<Page | null> => {
      if (writing && !(await this.writeProgress(sql, webhookId, progress, new Date(now + this.options.leaseMs)))) return null;
      if (stale) {
        const renewed = await sql.run('update webhooks set lease_until = ? where id = ? and lease_owner = ?', [new Date(now + this.options.leaseMs), webhookId, this.instanceId]);
        if (renewed.affectedRows !== 1) return null;
      }
      const [webhook] = await sql.all<WebhookRow & { head: number; lease_owner: string | null }>(
        'select w.id, w.directory_id, w.url, w.secret, w.delivered_revision, w.next_attempt_at, w.lease_owner, d.revision as head from webhooks w join directories d on d.id = w.directory_id where w.id = ?',
        [webhookId],
      );
      if (!webhook || webhook.lease_owner !== this.instanceId) return null;
      const cursor = Math.max(webhook.delivered_revision, progress?.cursor ?? -1);
      const upTo = Math.min(webhook.head, cursor + BATCH);
      if (!progress || upTo <= cursor) return { webhook, cursor, upTo, earlier: new Map(), changes: [] };
      const earlier = await sql.all<Earlier>('select revision, attempts, first_attempt_at from webhook_deliveries where webhook_id = ? and revision > ? and revision <= ?', [webhookId, cursor, upTo]);
      const log = await sql.all<LogRow>(LOG_PAGE, [webhook.directory_id, cursor, upTo]);
      return {
        webhook,
        cursor,
        upTo,
        earlier: new Map(earlier.map((row) => [row.revision, row])),
        changes: log.map(changeFromLog),
      };
    });
    if (page && (stale || writing)) lease.renewedAt = now;
    return page;
  }

  private release(webhookId: number): Promise<unknown> {
    return this.raw.transaction((sql) => sql.run('update webhooks set lease_owner = null, lease_until = null where id = ? and lease_owner = ?', [webhookId, this.instanceId]));
  }

  /** One webhook's loop: its changes one at a time, in order, until it has none due; progress written in batches. */
  private async deliver(webhookId: number): Promise<void> {
    // The claim just took the lease.
    const lease = { renewedAt: this.now().getTime() };
    const progress: Progress = { cursor: -1, delivered: [], since: null };
    /** When this loop last found changes to send. */
    let busyAt = lease.renewedAt;
    let lost = false;
    try {
      while (!this.stopped) {
        const pageAt = this.now().getTime();
        const page = await this.renew(webhookId, lease, progress);
        if (!page) return void (lost = true);
        const { webhook, cursor, upTo } = page;
        if (webhook.next_attempt_at !== null) {
          const wait = asDate(webhook.next_attempt_at).getTime() - this.now().getTime();
          if (wait > this.options.leaseMs / 2) return void (await this.release(webhookId));
          if (wait > 0) {
            // A retry due soon is waited for here, holding the lease; a later one is left to the poll.
            await this.sleep(wait);
            continue;
          }
        }
        if (cursor >= webhook.head) {
          const now = this.now().getTime();
          // Kept a moment after the last change (holding the lease), so that a steady stream of scans is
          // read and written in batches rather than a claim, a read and a write per change.
          if (now - busyAt < FLUSH_MS && !this.stopped) {
            await this.sleep(busyAt + FLUSH_MS - now);
            continue;
          }
          return void (await this.release(webhookId));
        }
        busyAt = this.now().getTime();
        const changes = page.changes;
        if (changes.length === 0) {
          // Revisions with no Change in the log: nothing to send for them.
          progress.cursor = upTo;
          progress.since ??= this.now().getTime();
          continue;
        }
        let sent = true;
        for (const change of changes) {
          const outcome = await this.attempt(webhook, change, page.earlier.get(change.revision), progress, lease);
          if (outcome === 'lost') return void (lost = true);
          if (outcome !== 'done') {
            sent = false;
            break;
          }
          // Scans waiting on the event loop go first between two deliveries.
          await new Promise((resolve) => setImmediate(resolve));
          if (this.stopped) break;
        }
        // A page that reached the head: under a stream of scans the next changes are read, sent and
        // written together a moment later, not a page (a transaction and a read) per change or two.
        const left = pageAt + FLUSH_MS - this.now().getTime();
        if (sent && upTo >= webhook.head && left > 0 && !this.stopped) await this.sleep(left);
      }
    } finally {
      // At stop, or leaving for any reason: what was delivered is written (the lease still guards it).
      if (!lost && (progress.delivered.length > 0 || progress.since !== null)) {
        await this.raw.transaction((sql) => this.writeProgress(sql, webhookId, progress, null));
      }
    }
  }

  /** Writes the batch when it is full or old enough; false when the lease was lost. */
  private async maybeFlush(webhook: WebhookRow, progress: Progress, lease: { renewedAt: number }): Promise<boolean> {
    const full = progress.delivered.length >= FLUSH_EVERY;
    const old = progress.since !== null && this.now().getTime() - progress.since >= FLUSH_MS;
    return full || old ? this.flush(webhook, progress, lease) : true;
  }

  private async flush(webhook: WebhookRow, progress: Progress, lease: { renewedAt: number }): Promise<boolean> {
    if (progress.since === null) return true;
    const now = this.now().getTime();
    const written = await this.raw.transaction((sql) => this.writeProgress(sql, webhook.id, progress, new Date(now + this.options.leaseMs)));
    if (written) lease.renewedAt = now;
    return written;
  }

  /**
   * The cursor advance and the delivered rows in one transaction (one multi-row insert for the new rows),
   * guarded by the lease, which it renews when `leaseUntil` is given. The batch is emptied once written.
   */
  private async writeProgress(sql: Statements, webhookId: number, progress: Progress, leaseUntil: Date | null): Promise<boolean> {
    const guarded = await sql.run(
      `update webhooks set delivered_revision = ?, next_attempt_at = null${leaseUntil ? ', lease_until = ?' : ''} where id = ? and lease_owner = ? and delivered_revision <= ?`,
      [progress.cursor, ...(leaseUntil ? [leaseUntil] : []), webhookId, this.instanceId, progress.cursor],
    );
    if (guarded.affectedRows !== 1) return false;
    const fresh = progress.delivered.filter((row) => !row.logged);
    for (const row of progress.delivered.filter((row) => row.logged)) {
      await sql.run(
        "update webhook_deliveries set attempts = ?, status = 'delivered', last_attempt_at = ?, last_status = ?, last_error = null, next_attempt_at = null where webhook_id = ? and revision = ?",
        [row.attempts, row.at, row.status, webhookId, row.revision],
      );
    }
    if (fresh.length > 0) {
      await sql.run(
        `insert into webhook_deliveries (attempts, status, last_attempt_at, last_status, last_error, next_attempt_at, webhook_id, revision, first_attempt_at) values ${fresh.map(() => "(?, 'delivered', ?, ?, null, null, ?, ?, ?)").join(', ')}`,
        fresh.flatMap((row) => [row.attempts, row.at, row.status, webhookId, row.revision, row.first]),
      );
    }
    progress.delivered = [];
    progress.since = null;
    return true;
  }

  /**
   * One POST of the change. A 2xx joins the batch ('done'); a failure is written at once, after the
   * batch before it ('retry', or 'done' when given up, which moves the cursor past it).
   */
  private async attempt(webhook: WebhookRow, change: Change, previous: Earlier | undefined, progress: Progress, lease: { renewedAt: number }): Promise<'done' | 'retry' | 'lost' | 'stopped'> {
    const revision = change.revision;
    const startedAt = this.now();
    // A slow receiver must not outlive the lease: renewed (with the batch) once a third of it is spent.
    if (startedAt.getTime() - lease.renewedAt > this.options.leaseMs / 3) {
      if (progress.since !== null) {
        if (!(await this.flush(webhook, progress, lease))) return 'lost';
      } else if (!(await this.renew(webhook.id, lease))) return 'lost';
    }
    const result: Attempt = await postDelivery(
      { url: webhook.url, secret: webhook.secret, directoryId: webhook.directory_id, revision, change },
      { timeoutMs: this.options.timeoutMs, allowPrivate: this.options.allowPrivate, abort: this.abort.signal },
    );
    // Aborted by shutdown: not the receiver's failure, and the next instance sends it again.
    if (this.stopped && !result.ok) return 'stopped';
    const now = this.now();
    const attempts = (previous?.attempts ?? 0) + 1;
    const first = previous ? asDate(previous.first_attempt_at) : startedAt;
    if (result.ok) {
      progress.delivered.push({ revision, attempts, first, at: now, status: result.status, logged: previous !== undefined });
      progress.cursor = revision;
      progress.since ??= now.getTime();
      return (await this.maybeFlush(webhook, progress, lease)) ? 'done' : 'lost';
    }
    let nextAttemptAt: Date | null = new Date(now.getTime() + retryDelay(attempts, this.options));
    const status = nextAttemptAt.getTime() - first.getTime() > this.options.giveUpAfterMs ? 'failed' : 'pending';
    if (status === 'failed') nextAttemptAt = null;
    const moved = status === 'failed';
    const written = await this.raw.transaction(async (sql) => {
      // The deliveries before this one first: the failure's row and cursor come after them.
      if (progress.since !== null && !(await this.writeProgress(sql, webhook.id, progress, null))) return false;
      const guarded = moved
        ? await sql.run('update webhooks set delivered_revision = ?, next_attempt_at = null where id = ? and lease_owner = ? and delivered_revision < ?', [
            revision,
            webhook.id,
            this.instanceId,
            revision,
          ])
        : await sql.run('update webhooks set next_attempt_at = ? where id = ? and lease_owner = ?', [nextAttemptAt, webhook.id, this.instanceId]);
      if (guarded.affectedRows !== 1) return false;
      const values = [attempts, status, now, result.status ?? null, result.error.slice(0, 500), nextAttemptAt];
      if (previous) {
        await sql.run('update webhook_deliveries set attempts = ?, status = ?, last_attempt_at = ?, last_status = ?, last_error = ?, next_attempt_at = ? where webhook_id = ? and revision = ?', [
          ...values,
          webhook.id,
          revision,
        ]);
      } else {
        await sql.run(
          'insert into webhook_deliveries (attempts, status, last_attempt_at, last_status, last_error, next_attempt_at, webhook_id, revision, first_attempt_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [...values, webhook.id, revision, first],
        );
      }
      return true;
    });
    if (!written) return 'lost';
    if (moved) progress.cursor = Math.max(progress.cursor, revision);
    if (status === 'failed') this.log.warn({ webhookId: webhook.id, directoryId: webhook.directory_id, revision, attempts }, 'webhook delivery given up after retrying for the whole window');
    return moved ? 'done' : 'retry';
  }

  /** Waits `ms`, or less when stopped. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleep = {
        timer: setTimeout(() => {
          this.sleeping.delete(sleep);
          resolve();
        }, ms),
        resolve,
      };
      this.sleeping.add(sleep);
    });
  }

  private endSleep(sleep: { timer: NodeJS.Timeout; resolve: () => void }): void {
    clearTimeout(sleep.timer);
    this.sleeping.delete(sleep);
    sleep.resolve();
  }
}
