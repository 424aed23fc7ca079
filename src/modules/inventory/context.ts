import type { Em } from '../../db/orm';
import type { RawDatabase } from '../../db/raw';
import type { Goods, LogType } from './entities';
import type { DomainEvents } from './events';
import type { MutationQueue } from './queue';
import type { Change, GoodsView } from './views';

/** What every inventory operation needs. Built per unit of work (one HTTP request, one WS message). */
export interface InventoryContext {
  em: Em;
  /** Post-commit hooks: what the domain announces after its transactions (the bus, metrics... listen). */
  events: DomainEvents;
  now: () => Date;
  /** Past this many changes, `changes?since=` answers `reset` with a snapshot. */
  changesReplayLimit: number;
  /** MAX_DIRECTORIES_PER_USER: a create past it is refused with quota_exceeded. */
  maxDirectoriesPerUser: number;
  /** The one path of every change (group commit per directory); shared by the whole app. */
  mutations: MutationQueue;
  /** Transactions on the driver's connection, for the few writes outside the queue (a new directory). */
  raw: RawDatabase;
}

/** A goods as clients see it; `minCount` only when a threshold is set. */
export function goodsView(goods: Pick<Goods, 'id' | 'code' | 'name' | 'remarks' | 'count'> & { minCount?: number | null }): GoodsView {
  const view: GoodsView = { id: goods.id, code: goods.code, name: goods.name, remarks: goods.remarks, count: goods.count };
  if (goods.minCount) view.minCount = goods.minCount;
  return view;
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
  /** The user's nickname (read with the log row; the live path knows it from its lock). */
  nickname: string | null;
  deviceId: string | null;
  /** As the driver answers it: a Date, or milliseconds (SQLite). */
  at: Date | number;
  directory: number;
  transferId?: string | null;
  transferFrom?: number | null;
  transferTo?: number | null;
  undoes?: number | null;
  countId?: number | null;
  lowStock?: boolean | number | null;
  /** The goods' minCount as of the change (0: none). */
  minCount?: number | null;
}

/** One log row as the Change that clients see (HTTP `changes`, WebSocket `change` frames). */
export function changeFromLog(row: LogRow): Change {
  const change: Change = { revision: row.revision, type: row.type as Change['type'], userId: row.user, nickname: row.nickname ?? '', at: new Date(row.at).toISOString() };
  if (row.code !== null) change.code = row.code;
  if (row.goodsId !== null && row.code !== null) {
    change.goods = goodsView({ id: row.goodsId, code: row.code, name: row.name ?? '', remarks: row.remarks ?? '', count: row.countAfter ?? 0, minCount: row.minCount });
  }
  if (row.delta !== null) change.delta = row.delta;
  if (row.dirName !== null) change.directory = { id: row.directory, name: row.dirName };
  if (row.eventId !== null) change.eventId = row.eventId;
  if (row.deviceId !== null) change.deviceId = row.deviceId;
  if (row.transferId) change.transfer = { id: row.transferId, from: row.transferFrom ?? 0, to: row.transferTo ?? 0 };
  if (row.undoes) change.undoes = row.undoes;
  if (row.countId) change.countId = row.countId;
  if (row.lowStock) change.lowStock = true;
  return change;
}
