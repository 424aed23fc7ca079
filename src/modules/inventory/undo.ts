import { atLeast, forbidden, type Role } from './access';
import { codeHash } from './codes';
import { undoConflict, undoCountRule } from './rules';
import type { InventoryStore, LoggedChange } from './store';
import type { Actor, Change } from './views';
import { drop, keep, readGoods, record, type Working } from './working';

/** The changes an undo can compensate: those of goods (renames, deletes and creates cannot be undone). */
const UNDOABLE = new Set<LoggedChange['type']>(['in', 'out', 'set', 'edit', 'remove', 'undo']);

/** A change that took the goods away: a `remove`, or an undo of a comeback (it logs no goods). */
const removes = (change: LoggedChange): boolean => change.type === 'remove' || (change.type === 'undo' && change.goodsId === null);

/**
 * Who may undo it: its author with the operation's role (editor), anyone else only as a manager. The
 * role is the one read by the lock of this transaction.
 */
export function checkUndoRole(state: Working, actor: Actor, change: LoggedChange, required: Role): void {
  const role = state.directory?.members.get(actor.userId)?.role;
  if (role === undefined) return; // the access seam has refused a stranger already
  const needed: Role = change.userId === actor.userId ? required : 'manager';
  if (!atLeast(role, needed)) throw forbidden(role, needed, "undoing another member's change");
}

/**
 * Compensates one logged change of a locked directory with a change of type `undo` at the next
 * revision: never a deletion of history. Counts are taken back by the change's delta (refused when
 * that would be negative), names and remarks go back to what they were before it, a removed goods
 * comes back with its count, name and remarks, and an undo of such a comeback removes it again. The
 * undone change is marked, so that it cannot be undone twice.
 */
export async function compensate(
  store: InventoryStore,
  state: Working,
  actor: Actor,
  eventId: string | undefined,
  change: LoggedChange,
  at: Date,
  transfer?: { id: string; from: number; to: number },
): Promise<{ revision: number; change: Change }> {
  const directory = state.directory;
  if (!directory) throw undoConflict('no such change');
  if (change.undoneBy !== null) throw undoConflict(`revision ${change.revision} was already undone (by revision ${change.undoneBy})`);
  if (!UNDOABLE.has(change.type) || change.code === null) throw undoConflict(`a ${change.type} cannot be undone`);
  const code = change.code;
  const hash = codeHash(code);
  await readGoods(store, state, [hash]);
  const current = state.goods.get(hash);
  // What the undone change itself undid, if it is an undo: its reverse is the reverse of that.
  const undid = change.type === 'undo' && change.undoes !== null ? (await store.loggedChanges(directory.id, [change.undoes])).get(change.undoes) : undefined;
  const extra = { undoes: change.revision, ...(transfer ? { transfer } : {}) };
  let revision: number;

  if (removes(change)) {
    // The goods comes back as it was when removed (a removal by an undo logs no goods: its name and
    // remarks are those the change before it left).
    if (current) throw undoConflict(`a goods with code "${code}" exists again: remove it first`);
    const count = change.countAfter ?? -(change.delta ?? 0);
    const was = change.type === 'remove' ? { name: change.name ?? '', remarks: change.remarks ?? '' } : ((await store.goodsBefore(directory.id, code, change.revision)) ?? { name: '', remarks: '' });
    const goods = await keep(store, state, hash, { id: null, code, ...was, count }, at);
    revision = record(state, actor, eventId, 'undo', goods, count, at, extra);
  } else if (undid !== undefined && removes(undid) && change.goodsId !== null) {
    // Undoing the comeback of a removed goods removes it again.
    if (!current) throw undoConflict(`the goods "${code}" is gone already`);
    await drop(store, state, hash, current);
    revision = record(state, actor, eventId, 'undo', null, -current.count, at, { ...extra, code });
  } else {
    const count = undoCountRule(current, change.delta ?? 0);
    if (!count.ok) throw count.error;
    const goods = current as NonNullable<typeof current>;
    const before = goods.count;
    const next = { ...goods, count: count.value };
    // Name and remarks go back to what the change found, unless someone has changed them since.
    if (goods.name === (change.name ?? goods.name) && goods.remarks === (change.remarks ?? goods.remarks)) {
      const earlier = await store.goodsBefore(directory.id, code, change.revision);
      if (earlier) Object.assign(next, earlier);
    }
    const kept = await keep(store, state, hash, next, at);
    revision = record(state, actor, eventId, 'undo', kept, -(change.delta ?? 0), at, { ...extra, before });
  }
  state.undone.push({ revision: change.revision, by: revision });
  return { revision, change: state.changes[state.changes.length - 1] };
}
