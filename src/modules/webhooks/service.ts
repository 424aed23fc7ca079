import { AppError, badRequest } from '../../errors';
import type { RawDatabase, Statements } from '../../db/raw';
import { checkWebhookUrl, type Resolve } from './addresses';

/** A directory has at most this many webhooks: each one is a worker's loop and a request per change. */
export const MAX_WEBHOOKS_PER_DIRECTORY = 20;

export interface WebhookContext {
  raw: RawDatabase;
  now: () => Date;
  allowPrivate: boolean;
  resolve?: Resolve;
}

export interface WebhookView {
  id: number;
  url: string;
}

export interface DeliveryView {
  delivery: string;
  revision: number;
  attempts: number;
  status: 'pending' | 'delivered' | 'failed';
  lastStatus?: number;
  lastError?: string;
  nextAttemptAt?: string;
}

export interface DeliveryRow {
  revision: number;
  attempts: number;
  status: 'pending' | 'delivered' | 'failed';
  first_attempt_at: Date | string | number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: Date | string | number | null;
}

const webhookNotFound = (webhookId: number) => new AppError('not_found', `no webhook ${webhookId} in this directory`);

/** A moment as the driver returns it (a Date from MySQL, epoch milliseconds from SQLite). */
export const asDate = (value: Date | string | number): Date => (value instanceof Date ? value : new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value));

/**
 * Registers a webhook. Its cursor starts at the directory's revision now: it is sent the changes made
 * after it exists, not the directory's whole history. The role was checked by the caller.
 */
export async function createWebhook(ctx: WebhookContext, userId: number, directoryId: number, url: string, secret: string): Promise<WebhookView> {
  if (secret.trim().length < 16) throw badRequest('secret must be 16 to 256 characters, not mostly spaces');
  // Resolved outside the transaction: a slow DNS answer holds no connection.
  const checked = await checkWebhookUrl(url, ctx.allowPrivate, ctx.resolve);
  const href = checked.toString();
  return ctx.raw.transaction(async (sql) => {
    const [{ n }] = await sql.all<{ n: number | string }>('select count(*) as n from webhooks where directory_id = ?', [directoryId]);
    if (Number(n) >= MAX_WEBHOOKS_PER_DIRECTORY) throw new AppError('quota_exceeded', `a directory has at most ${MAX_WEBHOOKS_PER_DIRECTORY} webhooks`, { limit: MAX_WEBHOOKS_PER_DIRECTORY });
    const [directory] = await sql.all<{ revision: number }>('select revision from directories where id = ?', [directoryId]);
    const inserted = await sql.run('insert into webhooks (directory_id, url, secret, created_by, created_at, delivered_revision) values (?, ?, ?, ?, ?, ?)', [
      directoryId,
      href,
      secret,
      userId,
      ctx.now(),
      directory?.revision ?? 0,
    ]);
    return { id: inserted.insertId, url: href };
  });
}

export async function listWebhooks(raw: RawDatabase, directoryId: number): Promise<WebhookView[]> {
  return raw.transaction((sql) => sql.all<WebhookView>('select id, url from webhooks where directory_id = ? order by id', [directoryId]));
}

async function findWebhook(sql: Statements, directoryId: number, webhookId: number): Promise<WebhookView & { delivered_revision: number }> {
  const [row] = await sql.all<WebhookView & { delivered_revision: number }>('select id, url, delivered_revision from webhooks where id = ? and directory_id = ?', [webhookId, directoryId]);
  if (!row) throw webhookNotFound(webhookId);
  return row;
}

export async function getWebhook(raw: RawDatabase, directoryId: number, webhookId: number): Promise<WebhookView> {
  const { id, url } = await raw.transaction((sql) => findWebhook(sql, directoryId, webhookId));
  return { id, url };
}

/** Deletes a webhook and its delivery log; a worker delivering to it stops at its next step (its lease is gone). */
export async function deleteWebhook(raw: RawDatabase, directoryId: number, webhookId: number): Promise<void> {
  await raw.transaction(async (sql) => {
    await findWebhook(sql, directoryId, webhookId);
    await sql.run('delete from webhook_deliveries where webhook_id = ?', [webhookId]);
    await sql.run('delete from webhooks where id = ?', [webhookId]);
  });
}

/**
 * The newest `limit` deliveries. Those attempted are rows of the delivery log (written by the worker);
 * the changes after the webhook's cursor that were never attempted are pending with no attempts, read
 * from the directory's log: the scan path writes nothing for webhooks.
 */
export async function listDeliveries(raw: RawDatabase, directoryId: number, webhookId: number, pageSize: number): Promise<DeliveryView[]> {
  // A whole number written into the statement: MySQL refuses a bound LIMIT in some versions.
  const limit = Math.max(1, Math.min(200, Math.trunc(pageSize)));
  return raw.transaction(async (sql) => {
    const webhook = await findWebhook(sql, directoryId, webhookId);
    const rows = await sql.all<DeliveryRow>(
      `select revision, attempts, status, first_attempt_at, last_status, last_error, next_attempt_at from webhook_deliveries where webhook_id = ? order by revision desc limit ${limit}`,
      [webhookId],
    );
    const waiting = await sql.all<{ revision: number }>(`select revision from logs where directory_id = ? and revision > ? order by revision desc limit ${limit}`, [
      directoryId,
      webhook.delivered_revision,
    ]);
    const byRevision = new Map<number, DeliveryView>();
    for (const { revision } of waiting) byRevision.set(revision, { delivery: `${directoryId}:${revision}`, revision, attempts: 0, status: 'pending' });
    for (const row of rows) byRevision.set(row.revision, deliveryView(directoryId, row));
    return [...byRevision.values()].sort((a, b) => b.revision - a.revision).slice(0, limit);
  });
}

function deliveryView(directoryId: number, row: DeliveryRow): DeliveryView {
  return {
    delivery: `${directoryId}:${row.revision}`,
    revision: row.revision,
    attempts: row.attempts,
    status: row.status,
    ...(row.last_status !== null ? { lastStatus: row.last_status } : {}),
    ...(row.last_error !== null ? { lastError: row.last_error } : {}),
    ...(row.status === 'pending' && row.next_attempt_at !== null ? { nextAttemptAt: asDate(row.next_attempt_at).toISOString() } : {}),
  };
}
