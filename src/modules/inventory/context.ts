import { LockMode, raw } from '@mikro-orm/core';
import type { Em } from '../../db/orm';
import { AppError } from '../../errors';
import type { Bus } from '../realtime/bus';
import { Directory, Goods, LogEntry, type LogType } from './entities';
import { codeHash } from './codes';
import { isSqlite } from './transaction';
import type { Actor, Change, GoodsView } from './views';

/** What every inventory operation needs. Built per unit of work (one HTTP request, one WS message). */
export interface InventoryContext {
  em: Em;
  bus: Bus;
  now: () => Date;
  /** Past this many changes, `changes?since=` answers `reset` with a snapshot. */
  changesReplayLimit: number;
}

export const directoryNotFound = () => new AppError('directory_not_found', 'no such directory');
export const goodsNotFound = (code: string) => new AppError('goods_not_found', `no goods with code "${code}" in this directory`);

export interface LockedDirectory {
  id: number;
  name: string;
  revision: number;
}

/**
 * Reads a live directory of the owner and, on MySQL, locks its row until commit. Every change to a
 * directory takes this lock first, so changes to one directory are serialized and their revisions
 * follow commit order. (SQLite has one writer at a time, so it needs no row lock.)
 */
export async function lockLiveDirectory(tx: Em, ownerId: number, directoryId: number): Promise<LockedDirectory> {
  const qb = tx
    .createQueryBuilder(Directory)
    .select(['id', 'name', 'revision'])
    .where({ id: directoryId, owner: ownerId, deletedAt: null });
  if (!isSqlite(tx)) qb.setLockMode(LockMode.PESSIMISTIC_WRITE);
  const row = await qb.execute<LockedDirectory | undefined>('get');
  if (!row) throw directoryNotFound();
  return row;
}

export async function lockGoods(tx: Em, directoryId: number, code: string): Promise<Goods | undefined> {
  // The directory row is already locked, so this read sees the latest committed goods row.
  const qb = tx.createQueryBuilder(Goods).select('*').where({ directory: directoryId, codeHash: codeHash(code) });
  if (!isSqlite(tx)) qb.setLockMode(LockMode.PESSIMISTIC_WRITE);
  return qb.execute<Goods | undefined>('get');
}

export function goodsView(goods: Pick<Goods, 'id' | 'code' | 'name' | 'remarks' | 'count'>): GoodsView {
  return { id: goods.id, code: goods.code, name: goods.name, remarks: goods.remarks, count: goods.count };
}

export interface ChangeRecord {
  type: Exclude<LogType, 'create'>;
  goods?: GoodsView;
  delta?: number;
  dirName?: string;
  eventId?: string;
  freq?: boolean;
}

/**
 * Gives the locked directory its next revision and appends the log entry for it, in the caller's
 * transaction. Returns the Change as clients will see it.
 */
export async function recordChange(tx: Em, actor: Actor, directory: LockedDirectory, record: ChangeRecord, at: Date): Promise<Change> {
  const revision = directory.revision + 1;
  await tx
    .createQueryBuilder(Directory)
    .update({ revision: raw('revision + 1'), ...(record.freq ? { freq: raw('freq + 1') } : {}), updatedAt: at })
    .where({ id: directory.id })
    .execute('run');
  await tx
    .createQueryBuilder(LogEntry)
    .insert({
      directory: directory.id,
      user: actor.userId,
      deviceId: actor.deviceId,
      type: record.type,
      goodsId: record.goods?.id ?? null,
      code: record.goods?.code ?? null,
      name: record.goods?.name ?? null,
      remarks: record.goods?.remarks ?? null,
      delta: record.delta ?? null,
      countAfter: record.goods?.count ?? null,
      dirName: record.dirName ?? null,
      revision,
      eventId: record.eventId ?? null,
      at,
    })
    .execute('run');
  directory.revision = revision;
  return changeFromLog({
    revision,
    type: record.type,
    goodsId: record.goods?.id ?? null,
    code: record.goods?.code ?? null,
    name: record.goods?.name ?? null,
    remarks: record.goods?.remarks ?? null,
    countAfter: record.goods?.count ?? null,
    delta: record.delta ?? null,
    dirName: record.dirName ?? null,
    eventId: record.eventId ?? null,
    user: actor.userId,
    deviceId: actor.deviceId,
    at,
    directory: directory.id,
  });
}

export interface LogRow {
  revision: number;
  type: LogType;
  goodsId: number | null;
  code: string | null;
  name: string | null;
  remarks: string | null;
  countAfter: number | null;
  delta: number | null;
  dirName: string | null;
  eventId: string | null;
  user: number;
  deviceId: string | null;
  at: Date;
  directory: number;
}

/** One log row as the Change that clients see (HTTP `changes`, WebSocket `change` frames). */
export function changeFromLog(row: LogRow): Change {
  const change: Change = { revision: row.revision, type: row.type as Change['type'], userId: row.user, at: row.at.toISOString() };
  if (row.code !== null) change.code = row.code;
  if (row.goodsId !== null && row.code !== null) {
    change.goods = { id: row.goodsId, code: row.code, name: row.name ?? '', remarks: row.remarks ?? '', count: row.countAfter ?? 0 };
  }
  if (row.delta !== null) change.delta = row.delta;
  if (row.dirName !== null) change.directory = { id: row.directory, name: row.dirName };
  if (row.eventId !== null) change.eventId = row.eventId;
  if (row.deviceId !== null) change.deviceId = row.deviceId;
  return change;
}

/** Hands a committed change to the bus; the bus never throws, so a publish cannot undo a commit. */
export async function publishChange(ctx: InventoryContext, ownerId: number, directoryId: number, change: Change): Promise<void> {
  await ctx.bus.publish({ type: 'change', ownerId, directoryId, revision: change.revision, change });
}
