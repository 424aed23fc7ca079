import { raw } from '@mikro-orm/core';
import { goodsView, type InventoryContext } from './context';
import { isReplay, resultOf } from './mutate';
import { goodsNotFound } from './rules';
import { findDirectory, type Access } from './directories';
import type { Role } from './access';
import { codeHash, goodsCode } from './codes';
import { Goods } from './entities';
import type { Em } from '../../db/orm';
import type { Actor, DirectoryView, GoodsView } from './views';

/**
 * `!` rather than a backslash as the LIKE escape: MySQL reads the literal '\\' as one backslash but
 * SQLite as two, and SQLite refuses an ESCAPE of more than one character.
 */
function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, (c) => '!' + c);
}

/** A directory with its goods in the order they were first scanned; `q` keeps those whose code or name contains it. */
export async function directoryWithGoods(em: Em, userId: number, access: Access, q?: string): Promise<{ directory: DirectoryView; goods: GoodsView[] }> {
  const directory = await findDirectory(em, userId, access);
  const directoryId = access.directoryId;
  const qb = em.createQueryBuilder(Goods).select(['id', 'code', 'name', 'remarks', 'count', 'minCount']).where({ directory: directoryId }).orderBy({ id: 'asc' });
  if (q !== undefined && q !== '') {
    // lower() on both sides: MySQL's utf8mb4_bin and SQLite's LIKE would otherwise disagree on case.
    const pattern = `%${escapeLike(q.toLowerCase())}%`;
    qb.andWhere("(lower(code) like ? escape '!' or lower(name) like ? escape '!')", [pattern, pattern]);
  }
  const goods = await qb.execute<GoodsView[]>('all');
  return { directory, goods: goods.map(goodsView) };
}

/**
 * Up to `limit` goods of a directory with ids above `afterId` (and at most `upToId`), by id: one step of
 * a keyset read (a snapshot reads a big directory this way a page at a time as the phone takes it, a
 * CSV export as it is sent, a few hundred rows in memory at a time).
 * The caller has checked access.
 */
export async function goodsAfter(em: Em, directoryId: number, afterId: number, limit: number, upToId?: number): Promise<GoodsView[]> {
  const rows = await em
    .createQueryBuilder(Goods)
    .select(['id', 'code', 'name', 'remarks', 'count', 'minCount'])
    .where({ directory: directoryId, id: upToId === undefined ? { $gt: afterId } : { $gt: afterId, $lte: upToId } })
    .orderBy({ id: 'asc' })
    .limit(limit)
    .execute<GoodsView[]>('all');
  return rows.map(goodsView);
}

/** The goods of every live directory the user owns, by directory id, each list in first-scanned order: one query (the legacy `/query/`). */
export async function goodsByDirectory(em: Em, ownerId: number): Promise<Map<number, GoodsView[]>> {
  const rows = await em
    .createQueryBuilder(Goods, 'g')
    .select(['g.id', 'g.code', 'g.name', 'g.remarks', 'g.count', raw('g.directory_id as directory_id')])
    .join('g.directory', 'd')
    .where({ 'd.owner': ownerId, 'd.deletedAt': null })
    .orderBy({ 'g.id': 'asc' })
    .execute<(GoodsView & { directory: number })[]>('all'); // directory_id comes back mapped to `directory`
  const byDirectory = new Map<number, GoodsView[]>();
  for (const row of rows) {
    const list = byDirectory.get(row.directory) ?? [];
    list.push(goodsView(row));
    byDirectory.set(row.directory, list);
  }
  return byDirectory;
}

/** The goods with that code, or null (the caller has authorized the read). */
export async function lookupGoods(em: Em, access: Access, scanned: string): Promise<GoodsView | null> {
  const where = { directory: access.directoryId, codeHash: codeHash(goodsCode(scanned)) };
  const row = await em.createQueryBuilder(Goods).select(['id', 'code', 'name', 'remarks', 'count', 'minCount']).where(where).execute<GoodsView | undefined>('get');
  return row ? goodsView(row) : null;
}

export async function getGoods(em: Em, access: Access, code: string): Promise<GoodsView> {
  const goods = await lookupGoods(em, access, code);
  if (!goods) throw goodsNotFound(code);
  return goods;
}

/** Changes name and/or remarks; a change like any other (a revision, a log entry, a push). */
export async function editGoods(
  ctx: InventoryContext,
  actor: Actor,
  directoryId: number,
  scanned: string,
  edit: { name?: string; remarks?: string; eventId?: string },
  required: Role,
): Promise<{ goods: GoodsView; duplicate: boolean }> {
  const { eventId, ...fields } = edit;
  const outcome = await ctx.mutations.submit({ actor, directoryId, eventId, mutation: { kind: 'edit', code: goodsCode(scanned), ...fields }, required });
  return { goods: resultOf(outcome, 'edit').goods, duplicate: isReplay(outcome) };
}

/** Removes the goods; the log keeps what it was (its last count, as a negative delta). */
export async function removeGoods(ctx: InventoryContext, actor: Actor, directoryId: number, scanned: string, eventId: string | undefined, required: Role): Promise<{ duplicate: boolean }> {
  const outcome = await ctx.mutations.submit({ actor, directoryId, eventId, mutation: { kind: 'remove', code: goodsCode(scanned) }, required });
  resultOf(outcome, 'remove');
  return { duplicate: isReplay(outcome) };
}

/** The transfer a change is a side of (null: none, or no such change); the undo's route to both sides. */
export async function transferOf(em: Em, directoryId: number, revision: number): Promise<string | null> {
  const [row] = await em.execute<{ transfer_id: string | null }[]>('select transfer_id from logs where directory_id = ? and revision = ?', [directoryId, revision]);
  return row?.transfer_id ?? null;
}

/** The goods below their minCount in every live directory the user is a member of. */
export async function lowStockAlerts(em: Em, userId: number): Promise<{ directoryId: number; goods: GoodsView }[]> {
  const rows = await em.execute<{ directory_id: number; id: number; code: string; name: string; remarks: string; count: number; min_count: number }[]>(
    `select g.directory_id, g.id, g.code, g.name, g.remarks, g.count, g.min_count from goods g
     join members m on m.directory_id = g.directory_id and m.user_id = ? join directories d on d.id = g.directory_id
     where d.deleted_at is null and g.min_count > 0 and g.count < g.min_count order by g.directory_id, g.id`,
    [userId],
  );
  return rows.map((row) => ({ directoryId: row.directory_id, goods: goodsView({ ...row, minCount: row.min_count }) }));
}
