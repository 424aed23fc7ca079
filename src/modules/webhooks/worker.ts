import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { WebhookConfig } from '../../config';
import type { Em } from '../../db/orm';
import type { RawDatabase } from '../../db/raw';
import { logChanges } from '../inventory/history';
import type { Change } from '../inventory/views';
import { asDate } from './service';
import { postDelivery, type Attempt } from './send';

export type WebhookOptions = WebhookConfig;

/** Changes read from the log at a time. */
const BATCH = 50;

interface WebhookRow {
  id: number;
  directory_id: number;
  url: string;
  secret: string;
  delivered_revision: number;
  next_attempt_at: Date | string | number | null;
}

/** The gap before attempt `attempts + 1`: base, 2·base, 4·base… at most `maxDelayMs`. */
export function retryDelay(attempts: number, options: Pick<WebhookOptions, 'retryBaseMs' | 'maxDelayMs'>): number {
  return Math.min(options.maxDelayMs, options.retryBaseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
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
  private readonly abort = new AbortController();
  /** Directories with webhooks (refreshed by each poll): a change elsewhere wakes nothing. */
  private watched = new Set<number>();
  private pollTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  private stopped = false;

  constructor(
    private readonly raw: RawDatabase,
    private readonly em: () => Em,
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
    if (this.watched.has(directoryId)) this.wake();
  }

  /** A webhook was registered for this directory on this instance. */
  watch(directoryId: number): void {
    this.watched.add(directoryId);
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
    for (const sleep of this.sleeping) {
      clearTimeout(sleep.timer);
      sleep.resolve();
    }
    await this.polling;
    await Promise.allSettled([...this.running.values()]);
    await this.raw
      .transaction((sql) => sql.run('update webhooks set lease_owner = null, lease_until = null where lease_owner = ?', [this.instanceId]))
      .catch((error: unknown) => this.log.warn({ err: error }, 'could not release the webhook leases; they expire'));
  }

  private async poll(): Promise<void> {
    const now = this.now();
    const { due, directories } = await this.raw.transaction(async (sql) => ({
      due: await sql.all<{ id: number }>(
        `select w.id from webhooks w join directories d on d.id = w.directory_id
         where w.delivered_revision < d.revision and (w.next_attempt_at is null or w.next_attempt_at <= ?)
         and (w.lease_owner is null or w.lease_until < ? or w.lease_owner = ?)`,
        [now, now, this.instanceId],
      ),
      directories: await sql.all<{ directory_id: number }>('select distinct directory_id from webhooks'),
    }));
    this.watched = new Set(directories.map((row) => row.directory_id));
    for (const { id } of due) {
      if (this.stopped || this.running.has(id) || !(await this.claim(id))) continue;
      const run = this.deliver(id)
        .catch((error: unknown) => this.log.error({ err: error, webhookId: id }, 'webhook delivery stopped; the next poll resumes it'))
        .finally(() => this.running.delete(id));
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

  /** Renews the lease and reads the webhook; null when the lease was lost or the webhook deleted. */
  private async renew(webhookId: number): Promise<WebhookRow | null> {
    const until = new Date(this.now().getTime() + this.options.leaseMs);
    return this.raw.transaction(async (sql) => {
      const renewed = await sql.run('update webhooks set lease_until = ? where id = ? and lease_owner = ?', [until, webhookId, this.instanceId]);
      if (renewed.affectedRows !== 1) return null;
      const [row] = await sql.all<WebhookRow>('select id, directory_id, url, secret, delivered_revision, next_attempt_at from webhooks where id = ?', [webhookId]);
      return row ?? null;
    });
  }

  private release(webhookId: number): Promise<unknown> {
    return this.raw.transaction((sql) => sql.run('update webhooks set lease_owner = null, lease_until = null where id = ? and lease_owner = ?', [webhookId, this.instanceId]));
  }

  /** One webhook's loop: its changes one at a time, in order, until it has none due. */
  private async deliver(webhookId: number): Promise<void> {
    while (!this.stopped) {
      const webhook = await this.renew(webhookId);
      if (!webhook) return;
      if (webhook.next_attempt_at !== null) {
        const wait = asDate(webhook.next_attempt_at).getTime() - this.now().getTime();
        if (wait > this.options.leaseMs / 2) return void (await this.release(webhookId));
        if (wait > 0) {
          // A retry due soon is waited for here, holding the lease; a later one is left to the poll.
          await this.sleep(wait);
          continue;
        }
      }
      const [directory] = await this.raw.transaction((sql) => sql.all<{ revision: number }>('select revision from directories where id = ?', [webhook.directory_id]));
      const head = directory?.revision ?? 0;
      if (webhook.delivered_revision >= head) return void (await this.release(webhookId));
      const upTo = Math.min(head, webhook.delivered_revision + BATCH);
      const changes = await logChanges(this.em(), webhook.directory_id, webhook.delivered_revision, upTo);
      if (changes.length === 0) {
        // Revisions with no Change in the log: nothing to send for them.
        await this.raw.transaction((sql) => sql.run('update webhooks set delivered_revision = ? where id = ? and lease_owner = ?', [upTo, webhookId, this.instanceId]));
        continue;
      }
      for (const change of changes) {
        const outcome = await this.attempt(webhook, change);
        if (outcome !== 'done') break;
        // The next change's attempt renews the lease first.
        if (!(await this.renew(webhookId))) return;
      }
    }
  }

  /** One POST of the change, recorded in the delivery log; 'done' when the cursor moved past it. */
  private async attempt(webhook: WebhookRow, change: Change): Promise<'done' | 'retry' | 'lost' | 'stopped'> {
    const revision = change.revision;
    const [previous] = await this.raw.transaction((sql) =>
      sql.all<{ attempts: number; first_attempt_at: Date | string | number }>('select attempts, first_attempt_at from webhook_deliveries where webhook_id = ? and revision = ?', [
        webhook.id,
        revision,
      ]),
    );
    const startedAt = this.now();
    const result: Attempt = await postDelivery(
      { url: webhook.url, secret: webhook.secret, directoryId: webhook.directory_id, revision, change },
      { timeoutMs: this.options.timeoutMs, allowPrivate: this.options.allowPrivate, abort: this.abort.signal },
    );
    // Aborted by shutdown: not the receiver's failure, and the next instance sends it again.
    if (this.stopped && !result.ok) return 'stopped';
    const now = this.now();
    const attempts = (previous?.attempts ?? 0) + 1;
    const first = previous ? asDate(previous.first_attempt_at) : startedAt;
    let status: 'delivered' | 'pending' | 'failed' = 'delivered';
    let nextAttemptAt: Date | null = null;
    if (!result.ok) {
      nextAttemptAt = new Date(now.getTime() + retryDelay(attempts, this.options));
      status = nextAttemptAt.getTime() - first.getTime() > this.options.giveUpAfterMs ? 'failed' : 'pending';
      if (status === 'failed') nextAttemptAt = null;
    }
    const moved = status !== 'pending';
    const written = await this.raw.transaction(async (sql) => {
      const guarded = moved
        ? await sql.run('update webhooks set delivered_revision = ?, next_attempt_at = null where id = ? and lease_owner = ? and delivered_revision < ?', [
            revision,
            webhook.id,
            this.instanceId,
            revision,
          ])
        : await sql.run('update webhooks set next_attempt_at = ? where id = ? and lease_owner = ?', [nextAttemptAt, webhook.id, this.instanceId]);
      if (guarded.affectedRows !== 1) return false;
      const values = [attempts, status, now, result.status ?? null, result.ok ? null : result.error.slice(0, 500), nextAttemptAt];
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
    if (status === 'failed') this.log.warn({ webhookId: webhook.id, directoryId: webhook.directory_id, revision, attempts }, 'webhook delivery given up after retrying for the whole window');
    return moved ? 'done' : 'retry';
  }

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
}
