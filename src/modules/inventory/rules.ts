import { AppError, badRequest } from '../../errors';
import type { ScanInput } from './views';

/**
 * The inventory's rules as pure functions: the stored row and a request in, the new row (and what it
 * changed) or a refusal out. No database, no clock: the mutation path feeds them the locked rows and
 * writes what they return, so the same rule holds for one scan or a batch of them.
 */

export interface GoodsState {
  /** null until the goods is inserted. */
  id: number | null;
  code: string;
  name: string;
  remarks: string;
  count: number;
  /** The low-stock threshold (0 or absent: none). */
  minCount?: number;
}

/** The largest count a goods can hold (the column is a signed 32-bit integer). */
export const MAX_COUNT = 2_147_483_647;

export const goodsNotFound = (code: string) => new AppError('goods_not_found', `no goods with code "${code}" in this directory`);
export const insufficientStock = (count: number) => new AppError('insufficient_stock', `only ${count} in stock`, { count });

export type Ruled<T> = { ok: true; value: T } | { ok: false; error: AppError };
const refuse = <T>(error: AppError): Ruled<T> => ({ ok: false, error });
const accept = <T>(value: T): Ruled<T> => ({ ok: true, value });

export interface Scanned {
  goods: GoodsState;
  delta: number;
  created: boolean;
}

/** in: adds qty (creating the goods); out: takes qty, never below zero; set: count := qty. */
export function scanRule(existing: GoodsState | undefined, input: ScanInput): Ruled<Scanned> {
  const before = existing?.count ?? 0;
  if (input.op === 'out') {
    const qty = input.qty ?? 1;
    if (!existing) return refuse(goodsNotFound(input.code));
    if (existing.count < qty) return refuse(insufficientStock(existing.count));
    return accept({ goods: { ...existing, count: existing.count - qty }, delta: -qty, created: false });
  }
  const count = input.op === 'in' ? before + (input.qty ?? 1) : input.qty;
  if (count > MAX_COUNT) return refuse(badRequest(`count would exceed ${MAX_COUNT}`));
  const goods: GoodsState = {
    id: existing?.id ?? null,
    code: existing?.code ?? input.code,
    name: input.name ?? existing?.name ?? '',
    remarks: input.remarks ?? existing?.remarks ?? '',
    count,
    ...(existing?.minCount !== undefined ? { minCount: existing.minCount } : {}),
  };
  return accept({ goods, delta: count - before, created: existing === undefined });
}

/** name, remarks and/or the low-stock threshold; null when nothing would change (no revision is spent on it). */
export function editRule(existing: GoodsState | undefined, code: string, edit: { name?: string; remarks?: string; minCount?: number }): Ruled<GoodsState | null> {
  if (!existing) return refuse(goodsNotFound(code));
  const minCount = edit.minCount ?? existing.minCount;
  const next = { ...existing, name: edit.name ?? existing.name, remarks: edit.remarks ?? existing.remarks, ...(minCount !== undefined ? { minCount } : {}) };
  return accept(next.name === existing.name && next.remarks === existing.remarks && (next.minCount ?? 0) === (existing.minCount ?? 0) ? null : next);
}

/**
 * Whether a change of count crosses the low-stock threshold downwards: from at least `minCount` to
 * below it (once per crossing: a count already below stays quiet until it has come back up).
 */
export function crossesLowStock(before: number, after: number, minCount: number | undefined): boolean {
  return minCount !== undefined && minCount > 0 && before >= minCount && after < minCount;
}

export const undoConflict = (message: string, details: Record<string, unknown> = {}) => new AppError('undo_conflict', message, details);

/**
 * The compensating count of an undo: the change's delta taken back from the current count, refused
 * when that would be negative (or when the goods is gone).
 */
export function undoCountRule(current: GoodsState | undefined, delta: number): Ruled<number> {
  if (!current) return refuse(undoConflict('the goods of that change no longer exists'));
  const count = current.count - delta;
  if (count < 0) return refuse(undoConflict(`undoing it would leave ${count}: only ${current.count} in stock`, { count: current.count }));
  if (count > MAX_COUNT) return refuse(badRequest(`count would exceed ${MAX_COUNT}`));
  return accept(count);
}

/** The goods leaves the directory; the log keeps what it was (its last count, as a negative delta). */
export function removeRule(existing: GoodsState | undefined, code: string): Ruled<GoodsState> {
  return existing ? accept(existing) : refuse(goodsNotFound(code));
}
