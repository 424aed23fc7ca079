import { AppError } from '../../errors';
import { changeFromLog, goodsView } from './context';
import { crossesLowStock, type GoodsState } from './rules';
import type { DirectoryAdvance, DirectoryRow, InventoryStore, LogInsert, StoredGoods } from './store';
import type { Actor, Change, GoodsView } from './views';

/**
 * One locked directory as a transaction changes it: its goods as the transaction leaves them so far,
 * the log entries and Changes it has made, each with the next revision. A batch of one directory has
 * one; a transfer or a group of batches has one per directory, all locked in directory-id order. Written
 * back together by `flush`.
 */
export interface Working {
  directory: DirectoryRow | null;
  limits: BatchLimits;
  revision: number;
  /** The directory's goods as the transaction leaves them so far (its row's count, plus inserts, minus removals). */
  goodsCount: number;
  name: string;
  deletedAt: Date | null;
  freqDelta: number;
  goods: Map<string, StoredGoods>;
  dirty: Set<StoredGoods>;
  log: LogInsert[];
  changes: Change[];
  directoryEvents: ('renamed' | 'deleted')[];
  /** Goods whose count this transaction took below their minCount (low-stock alerts, after commit). */
  alerts: GoodsView[];
  /** Log rows this transaction undid: marked with the revision of their undo. */
  undone: { revision: number; by: number }[];
  /** Goods rows reserved for new goods (store.reserveGoods), by code hash, not used yet: deleted by flush. */
  reserved: Map<string, number>;
}

/** The stored-size caps a batch enforces (config `storage`). */
export interface BatchLimits {
  /** MAX_GOODS_PER_DIRECTORY: a mutation that would add one goods more is refused with quota_exceeded. */
  maxGoodsPerDirectory: number;
}

export const UNLIMITED: BatchLimits = { maxGoodsPerDirectory: Number.POSITIVE_INFINITY };

/** The working state of a locked directory (null: it does not exist), with the goods of these code hashes read. */
export async function openWorking(store: InventoryStore, directory: DirectoryRow | null, hashes: string[], limits: BatchLimits): Promise<Working> {
  const [state] = await openWorkings(store, [{ directory, hashes }], limits);
  return state;
}

/** The working states of several locked directories, their goods read by one statement. */
export async function openWorkings(store: InventoryStore, wanted: readonly { directory: DirectoryRow | null; hashes: string[] }[], limits: BatchLimits): Promise<Working[]> {
  const hashes = new Map<number, string[]>();
  for (const { directory, hashes: own } of wanted) if (directory && own.length > 0) hashes.set(directory.id, own);
  return workingsOf(
    wanted.map(({ directory }) => directory),
    await readGoodsOf(store, hashes),
    limits,
  );
}

/** The goods of these codes (hashes) in these directories: one statement, none when there are none. */
export function readGoodsOf(store: InventoryStore, hashes: Map<number, string[]>): Promise<Map<number, Map<string, StoredGoods>>> {
  return hashes.size > 0 ? store.goodsOf(hashes) : Promise.resolve(new Map());
}

/** Working states over locked directories (null: not found) and their goods as read. */
export function workingsOf(directories: readonly (DirectoryRow | null)[], goods: Map<number, Map<string, StoredGoods>>, limits: BatchLimits): Working[] {
  return directories.map((directory) => workingOf(directory, (directory && goods.get(directory.id)) || new Map(), limits));
}

function workingOf(directory: DirectoryRow | null, goods: Map<string, StoredGoods>, limits: BatchLimits): Working {
  return {
    directory,
    limits,
    revision: directory?.revision ?? 0,
    goodsCount: directory?.goodsCount ?? 0,
    name: directory?.name ?? '',
    deletedAt: null,
    freqDelta: 0,
    goods,
    dirty: new Set(),
    log: [],
    changes: [],
    directoryEvents: [],
    alerts: [],
    undone: [],
    reserved: new Map(),
  };
}

/** Reads goods not read yet (an undo learns its code from the log). */
export async function readGoods(store: InventoryStore, state: Working, hashes: string[]): Promise<void> {
  const missing = hashes.filter((hash) => !state.goods.has(hash));
  if (!state.directory || missing.length === 0) return;
  const read = (await store.goodsOf(new Map([[state.directory.id, missing]]))).get(state.directory.id);
  for (const [hash, goods] of read ?? []) state.goods.set(hash, goods);
}

/** What a log entry records besides its type, goods and delta. */
export interface EntryExtra {
  dirName?: string | null;
  transfer?: LogInsert['transfer'];
  undoes?: number;
  countId?: number;
  /** The code of a change that leaves no goods (an undo taking one away again). */
  code?: string;
  /** The goods' count before the change: a change crossing its minCount downwards is a low-stock alert. */
  before?: number;
}

/** Records one change of the directory at its next revision: a log entry and the Change clients see. */
export function record(state: Working, actor: Actor, eventId: string | undefined, type: LogInsert['type'], goods: GoodsState | null, delta: number | null, at: Date, extra: EntryExtra = {}): number {
  const directory = state.directory as DirectoryRow;
  state.revision += 1;
  // A copy: the working row changes again with the next mutation of the batch; the log keeps this one.
  const snapshot = goods && { id: goods.id, code: goods.code, name: goods.name, remarks: goods.remarks, count: goods.count, minCount: goods.minCount ?? 0 };
  const lowStock = goods !== null && extra.before !== undefined && crossesLowStock(extra.before, goods.count, goods.minCount);
  const entry: LogInsert = {
    directoryId: directory.id,
    userId: actor.userId,
    deviceId: actor.deviceId,
    type,
    goods: snapshot,
    delta,
    dirName: extra.dirName ?? null,
    revision: state.revision,
    eventId: eventId ?? null,
    at,
    ...(extra.transfer ? { transfer: extra.transfer } : {}),
    ...(extra.undoes ? { undoes: extra.undoes } : {}),
    ...(extra.countId ? { countId: extra.countId } : {}),
    ...(extra.code !== undefined ? { code: extra.code } : {}),
    ...(lowStock ? { lowStock } : {}),
  };
  state.log.push(entry);
  const change = changeOf(entry, directory.members.get(actor.userId)?.nickname ?? '');
  if (lowStock) state.alerts.push(goodsView({ ...(goods as StoredGoods) }));
  state.changes.push(change);
  return state.revision;
}

/**
 * The goods as the rule left it: inserted now when it is new (its id is in the result), else written at
 * the end. A new one past MAX_GOODS_PER_DIRECTORY is refused: the count is the directory row's, read
 * under its lock, so concurrent batches cannot both take the last place.
 */
export async function keep(store: InventoryStore, state: Working, hash: string, next: GoodsState, at: Date): Promise<StoredGoods> {
  const current = state.goods.get(hash);
  if (current) {
    Object.assign(current, { name: next.name, remarks: next.remarks, count: next.count, minCount: next.minCount ?? current.minCount });
    state.dirty.add(current);
    return current;
  }
  const limit = state.limits.maxGoodsPerDirectory;
  if (state.goodsCount >= limit) throw new AppError('quota_exceeded', `a directory holds at most ${limit} goods: remove some first`, { limit });
  state.goodsCount += 1;
  const reserved = state.reserved.get(hash);
  state.reserved.delete(hash);
  const id = reserved ?? (await store.insertGoods((state.directory as DirectoryRow).id, next, hash, at));
  const inserted: StoredGoods = { ...next, id, codeHash: hash, minCount: next.minCount ?? 0 };
  state.goods.set(hash, inserted);
  // A reserved row is empty until flush writes it with the rest.
  if (reserved !== undefined) state.dirty.add(inserted);
  return inserted;
}

/** Removes the goods (it is in the working state). */
export async function drop(store: InventoryStore, state: Working, hash: string, goods: StoredGoods): Promise<void> {
  await store.deleteGoods(goods.id);
  state.goods.delete(hash);
  state.dirty.delete(goods);
  state.goodsCount -= 1;
}

/**
 * Writes what the transaction did to its directories: goods, log, undone marks, revision, freq, goods
 * count, name. One statement per table for all of them (the undone marks of undos aside, which are rare).
 */
export async function flush(store: InventoryStore, states: readonly Working[], at: Date): Promise<void> {
  const advances: DirectoryAdvance[] = [];
  const undone: [number, number, number][] = [];
  for (const state of states) {
    const directory = state.directory;
    if (!directory) continue;
    for (const { revision, by } of state.undone) undone.push([directory.id, revision, by]);
    if (state.log.length === 0) continue;
    const renamed = state.name !== directory.name ? { name: state.name } : {};
    const goodsDelta = state.goodsCount - directory.goodsCount;
    advances.push({ id: directory.id, revision: state.revision, freqDelta: state.freqDelta, goodsDelta, at, ...renamed, ...(state.deletedAt ? { deletedAt: state.deletedAt } : {}) });
  }
  // Issued together, in this order (one connection runs them in it): none needs another's answer, and
  // on the embedded database they go to its writer thread as one message.
  await Promise.all([
    store.updateGoods(
      states.flatMap((state) => [...state.dirty]),
      at,
    ),
    store.appendLog(states.flatMap((state) => state.log)),
    ...undone.map(([directoryId, revision, by]) => store.markUndone(directoryId, revision, by)),
    store.advanceDirectories(advances),
    store.deleteGoodsRows(states.flatMap((state) => [...state.reserved.values()])),
  ]);
}

/** A change as clients see it, from the log entry that records it (a snapshot of the goods after it). */
function changeOf(entry: LogInsert, nickname: string): Change {
  return changeFromLog({
    revision: entry.revision,
    type: entry.type,
    goodsId: entry.goods?.id ?? null,
    code: entry.goods?.code ?? entry.code ?? null,
    name: entry.goods?.name ?? null,
    remarks: entry.goods?.remarks ?? null,
    countAfter: entry.goods?.count ?? null,
    delta: entry.delta,
    dirName: entry.dirName,
    eventId: entry.eventId,
    user: entry.userId,
    nickname,
    deviceId: entry.deviceId,
    at: entry.at,
    directory: entry.directoryId,
    transferId: entry.transfer?.id ?? null,
    transferFrom: entry.transfer?.from ?? null,
    transferTo: entry.transfer?.to ?? null,
    undoes: entry.undoes ?? null,
    countId: entry.countId ?? null,
    lowStock: entry.lowStock ?? false,
    minCount: entry.goods?.minCount ?? 0,
  });
}
