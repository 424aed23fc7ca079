import type { CountReportLine, CountSession } from '../../contract';
import { AppError } from '../../errors';
import { atLeast, directoryNotFound, forbidden, type Role } from '../inventory/access';
import type { CountRow, InventoryStore } from '../inventory/store';
import type { Actor } from '../inventory/views';
import { keep, readGoods, record, type Working } from '../inventory/working';

export const countClosed = (status: string) => new AppError('count_closed', `the count session is ${status}`);

export function countView(row: CountRow): CountSession {
  return {
    id: row.id,
    directoryId: row.directoryId,
    name: row.name,
    status: row.status,
    startedBy: row.startedBy,
    startedAt: row.startedAt.toISOString(),
    ...(row.closedAt ? { closedAt: row.closedAt.toISOString() } : {}),
  };
}

/** Finishing or cancelling a count: the managers, and whoever started it (with the operation's role). */
export function checkCountRole(state: Working, actor: Actor, count: CountRow, required: Role): void {
  const role = state.directory?.members.get(actor.userId)?.role;
  if (role === undefined) throw directoryNotFound();
  const needed: Role = count.startedBy === actor.userId ? required : 'manager';
  if (!atLeast(role, needed)) throw forbidden(role, needed, 'closing a count someone else started');
}

/** The open count of this locked directory, locked in turn (directory first, then count: one lock order). */
export async function openCount(store: InventoryStore, state: Working, countId: number): Promise<CountRow> {
  const count = await store.lockCount(countId);
  if (!count || count.directoryId !== state.directory?.id) throw directoryNotFound();
  if (count.status !== 'open') throw countClosed(count.status);
  return count;
}

/**
 * Finishes a count in the caller's transaction: every counted code's count becomes its counted total
 * (a code that is not a goods yet becomes one), and with `zeroMissing` every goods nobody counted
 * goes to 0. One revision per goods whose count changes, each a `set` with `countId`. Answers the
 * variance report as of the finish.
 */
export async function finishCount(
  store: InventoryStore,
  state: Working,
  actor: Actor,
  eventId: string | undefined,
  count: CountRow,
  zeroMissing: boolean,
  at: Date,
): Promise<{ count: CountSession; lines: CountReportLine[] }> {
  const lines = await store.countLines(count.id);
  await readGoods(
    store,
    state,
    lines.map((line) => line.codeHash),
  );
  const report: CountReportLine[] = [];
  for (const line of lines) {
    const goods = state.goods.get(line.codeHash);
    const expected = goods?.count ?? 0;
    report.push({ code: line.code, name: goods?.name ?? '', counted: line.counted, expected, variance: line.counted - expected });
    if (goods ? goods.count === line.counted : line.counted === 0) continue;
    const next = goods ? { ...goods, count: line.counted } : { id: null, code: line.code, name: '', remarks: '', count: line.counted };
    const kept = await keep(store, state, line.codeHash, next, at);
    record(state, actor, eventId, 'set', kept, line.counted - expected, at, { countId: count.id, before: expected });
  }
  if (zeroMissing) {
    const counted = new Set(lines.map((line) => line.codeHash));
    for (const stored of await store.allGoods(count.directoryId)) {
      if (counted.has(stored.codeHash)) continue;
      const goods = state.goods.get(stored.codeHash) ?? stored;
      if (goods.count === 0) continue;
      state.goods.set(stored.codeHash, goods);
      const before = goods.count;
      const kept = await keep(store, state, stored.codeHash, { ...goods, count: 0 }, at);
      record(state, actor, eventId, 'set', kept, -before, at, { countId: count.id, before });
    }
  }
  await store.closeCount(count.id, 'finished', at);
  return { count: countView({ ...count, status: 'finished', closedAt: at }), lines: report };
}
