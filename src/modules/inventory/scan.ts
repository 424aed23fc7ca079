import { raw } from '@mikro-orm/core';
import type { Em } from '../../db/orm';
import { AppError, badRequest, type ErrorBody } from '../../errors';
import { goodsNotFound, goodsView, lockGoods, lockLiveDirectory, publishChange, recordChange, type InventoryContext } from './context';
import { codeHash, goodsCode } from './codes';
import { EventOutcome, Goods } from './entities';
import { inTransaction, isUniqueViolation } from './transaction';
import type { SyncEvent, SyncResult } from '../../contract';
import type { Actor, Change, GoodsView, ScanInput, ScanResult } from './views';

const MAX_COUNT = 2_147_483_647;

interface Applied {
  result: ScanResult;
  change: Change;
  ownerId: number;
}

/**
 * The scan operation, one meaning for every transport. With an event id it is exactly-once: the id is
 * claimed (unique per user) in the same transaction as the change, so a replay — sequential or
 * concurrent — finds the claim and gets the stored outcome, marked `duplicate: true`.
 */
export async function applyScan(ctx: InventoryContext, actor: Actor, scanned: ScanInput): Promise<ScanResult> {
  const input = { ...scanned, code: goodsCode(scanned.code) };
  let applied: Applied;
  if (input.eventId === undefined) {
    applied = await inTransaction(ctx.em, (tx) => scanInTransaction(tx, actor, input, ctx.now()));
  } else {
    const claimed = await claimAndScan(ctx, actor, input, input.eventId);
    if (claimed.kind === 'duplicate') return replay(ctx.em, actor.userId, input.eventId);
    if (claimed.kind === 'refused') throw claimed.error;
    applied = claimed.applied;
  }
  await publishChange(ctx, applied.ownerId, input.directoryId, applied.change);
  return applied.result;
}

/**
 * A batch of offline scans, applied in order, each in its own transaction: a refused event does not
 * stop the others, and since every event carries an id, the whole batch is safe to send again.
 */
export async function applyScans(ctx: InventoryContext, actor: Actor, events: SyncEvent[]): Promise<SyncResult[]> {
  const results: SyncResult[] = [];
  for (const event of events) {
    try {
      results.push({ eventId: event.eventId, ok: true, result: await applyScan(ctx, actor, event) });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      results.push({ eventId: event.eventId, ok: false, error: error.toBody() });
    }
  }
  return results;
}

type Claimed = { kind: 'applied'; applied: Applied } | { kind: 'refused'; error: AppError } | { kind: 'duplicate' };

async function claimAndScan(ctx: InventoryContext, actor: Actor, input: ScanInput, eventId: string): Promise<Claimed> {
  return inTransaction(ctx.em, async (tx): Promise<Claimed> => {
    const at = ctx.now();
    let claimId: number;
    try {
      // Blocks while another transaction holds the same (user, eventId), then fails once it commits.
      const inserted = await tx
        .createQueryBuilder(EventOutcome)
        .insert({ user: actor.userId, eventId, ok: false, outcome: '', createdAt: at })
        .execute('run');
      claimId = inserted.insertId;
    } catch (error) {
      if (isUniqueViolation(tx, error)) return { kind: 'duplicate' };
      throw error;
    }
    try {
      const applied = await scanInTransaction(tx, actor, input, at);
      await storeOutcome(tx, claimId, true, JSON.stringify(applied.result));
      return { kind: 'applied', applied };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      // A refusal is remembered too: the replay must get the same refusal, even if stock arrived since.
      await storeOutcome(tx, claimId, false, JSON.stringify(error.toBody()));
      return { kind: 'refused', error };
    }
  });
}

async function storeOutcome(tx: Em, claimId: number, ok: boolean, outcome: string): Promise<void> {
  await tx.createQueryBuilder(EventOutcome).update({ ok, outcome }).where({ id: claimId }).execute('run');
}

/** The stored outcome of an event id, read outside the transaction that lost the race for it. */
async function replay(em: Em, userId: number, eventId: string): Promise<ScanResult> {
  const row = await em.fork().createQueryBuilder(EventOutcome).select(['ok', 'outcome']).where({ user: userId, eventId }).execute<EventOutcome | undefined>('get');
  if (!row) throw new AppError('internal', 'event outcome vanished');
  const stored: unknown = JSON.parse(row.outcome);
  if (row.ok) return { ...(stored as ScanResult), duplicate: true };
  const { code, message, ...details } = stored as ErrorBody;
  throw new AppError(code, message, { ...details, duplicate: true });
}

async function scanInTransaction(tx: Em, actor: Actor, input: ScanInput, at: Date): Promise<Applied> {
  const directory = await lockLiveDirectory(tx, actor.userId, input.directoryId);
  const existing = await lockGoods(tx, directory.id, input.code);
  const qty = input.qty ?? 1;
  let goods: GoodsView;
  let delta: number;
  let created = false;

  if (input.op === 'out') {
    if (!existing) throw goodsNotFound(input.code);
    if (existing.count < qty) throw insufficientStock(existing.count);
    // Conditional, so that even without the row lock a count can never go below zero.
    const updated = await tx
      .createQueryBuilder(Goods)
      .update({ count: raw('count - ?', [qty]), updatedAt: at })
      .where({ id: existing.id, count: { $gte: qty } })
      .execute('run');
    if (updated.affectedRows !== 1) throw insufficientStock(existing.count);
    goods = goodsView({ ...existing, count: existing.count - qty });
    delta = -qty;
  } else {
    const count = input.op === 'in' ? (existing?.count ?? 0) + qty : qty;
    if (count > MAX_COUNT) throw badRequest(`count would exceed ${MAX_COUNT}`);
    const name = input.name ?? existing?.name ?? '';
    const remarks = input.remarks ?? existing?.remarks ?? '';
    if (existing) {
      await tx.createQueryBuilder(Goods).update({ count, name, remarks, updatedAt: at }).where({ id: existing.id }).execute('run');
      goods = goodsView({ ...existing, count, name, remarks });
    } else {
      const inserted = await tx
        .createQueryBuilder(Goods)
        .insert({ directory: directory.id, code: input.code, codeHash: codeHash(input.code), name, remarks, count, createdAt: at, updatedAt: at })
        .execute('run');
      goods = { id: inserted.insertId, code: input.code, name, remarks, count };
      created = true;
    }
    delta = count - (existing?.count ?? 0);
  }

  const change = await recordChange(tx, actor, directory, { type: input.op, goods, delta, eventId: input.eventId, freq: true }, at);
  return { result: { goods, delta, revision: change.revision, created, duplicate: false }, change, ownerId: actor.userId };
}

function insufficientStock(count: number): AppError {
  return new AppError('insufficient_stock', `only ${count} in stock`, { count });
}
