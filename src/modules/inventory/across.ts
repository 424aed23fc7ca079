import { groupBy } from '../../collections';
import { randomUUID } from 'node:crypto';
import { AppError, badRequest } from '../../errors';
import { decide as decideAccess, directoryNotFound, type Role } from './access';
import { codeHash } from './codes';
import { goodsView } from './context';
import { outcomeRow, previousOutcome, type MutationResult, type Outcome } from './mutate';
import { scanRule, undoConflict } from './rules';
import type { InventoryStore } from './store';
import { checkUndoRole, compensate } from './undo';
import type { Actor, Change, GoodsView } from './views';
import { flush, keep, openWorkings, record, type BatchLimits, type Working } from './working';

/**
 * Mutations of several directories in one transaction: a transfer (the `out` of one directory and the
 * `in` of another) and the undo of one (both sides). Every directory is locked in directory-id order,
 * whichever is `from`, so two transfers in opposite directions never wait for each other in a cycle;
 * a transaction of the queue locks its directories in the same order, so none waits in a cycle with them either. Each directory
 * gets its own revision and Change; the caller commits, then announces each directory's changes.
 */

export type AcrossRequest =
  | { kind: 'transfer'; actor: Actor; eventId?: string; required: Role; from: number; to: number; code: string; qty: number }
  | { kind: 'undoTransfer'; actor: Actor; eventId?: string; required: Role; directoryId: number; revision: number; transferId: string };

/** What one directory of a transaction across several made: published after commit, in its own revision order. */
export interface DirectoryDone {
  directoryId: number;
  changes: Change[];
  alerts: GoodsView[];
}

export interface AcrossDone {
  outcome: Outcome;
  directories: DirectoryDone[];
}

/** A request across directories was refused: its transaction is rolled back, its refusal remembered apart. */
export class RefusedAcross extends Error {
  constructor(readonly error: AppError) {
    super(error.message);
  }
}

/** Remembers a refusal of a request across directories under its event id (in a transaction of its own). */
export async function storeRefusal(store: InventoryStore, request: AcrossRequest, error: AppError, at: Date): Promise<Outcome> {
  const kind = request.kind === 'transfer' ? 'transfer' : 'undo';
  const earlier = await previousOutcome(store, request.actor, request.eventId, kind);
  if (earlier) return earlier;
  const outcome: Outcome = { ok: false, error };
  if (request.eventId !== undefined) await store.storeOutcomes([outcomeRow(request.actor, request.eventId, kind, outcome, at)]);
  return outcome;
}

/** Locks the directories in id order, each with the actor's membership, and opens their working states. */
async function lockAll(store: InventoryStore, actor: Actor, directoryIds: number[], hashes: string[], limits: BatchLimits): Promise<Map<number, Working>> {
  const ids = [...new Set(directoryIds)].sort((a, b) => a - b);
  const locked = await store.lockDirectories(ids, [actor.userId]);
  const states = await openWorkings(
    store,
    ids.map((id) => ({ directory: locked.get(id) ?? null, hashes })),
    limits,
  );
  return new Map(ids.map((id, index) => [id, states[index]]));
}

/** The access seam on each directory, with the role its lock read. */
function allow(state: Working | undefined, actor: Actor, required: Role, what: string): Working {
  const directory = state?.directory;
  if (!state || !directory) throw directoryNotFound();
  decideAccess({ deleted: directory.deleted, role: directory.members.get(actor.userId)?.role ?? null }, required, what);
  return state;
}

/** Applies one request across its directories in the caller's transaction: exactly once by its event id. */
export async function applyAcross(store: InventoryStore, request: AcrossRequest, at: Date, limits: BatchLimits): Promise<AcrossDone> {
  const kind = request.kind === 'transfer' ? 'transfer' : 'undo';
  const earlier = await previousOutcome(store, request.actor, request.eventId, kind);
  if (earlier) return { outcome: earlier, directories: [] };
  let outcome: Outcome;
  let states: Map<number, Working>;
  try {
    if (request.kind === 'transfer') {
      if (request.from === request.to) throw badRequest('from and to must be two different directories');
      states = await lockAll(store, request.actor, [request.from, request.to], [codeHash(request.code)], limits);
      outcome = { ok: true, value: await transfer(store, states, request, at), duplicate: false };
    } else {
      const sides = await store.transferSides(request.transferId);
      states = await lockAll(
        store,
        request.actor,
        sides.map((side) => side.directoryId),
        [],
        limits,
      );
      outcome = { ok: true, value: await undoTransfer(store, states, request, at), duplicate: false };
    }
  } catch (error) {
    // A refusal may come after one side has written (an undo's goods put back): the caller rolls the
    // whole transaction back, then remembers the refusal (storeRefusal).
    if (error instanceof AppError) throw new RefusedAcross(error);
    throw error;
  }
  await flush(store, [...states.values()], at);
  if (request.eventId !== undefined) await store.storeOutcomes([outcomeRow(request.actor, request.eventId, kind, outcome, at)]);
  const directories = [...states.values()]
    .filter((state) => state.changes.length > 0)
    .map((state) => ({ directoryId: (state.directory as { id: number }).id, changes: state.changes, alerts: state.alerts }));
  return { outcome, directories };
}

/**
 * Both sides or neither: the `out` is decided first (insufficient_stock, goods_not_found from `from`),
 * then the `in`; a goods new in `to` takes its name and remarks from `from`.
 */
async function transfer(store: InventoryStore, states: Map<number, Working>, request: Extract<AcrossRequest, { kind: 'transfer' }>, at: Date): Promise<MutationResult> {
  const { actor, eventId, from, to, code, qty } = request;
  const source = allow(states.get(from), actor, request.required, 'a transfer out of this directory');
  const target = allow(states.get(to), actor, request.required, 'a transfer into this directory');
  const hash = codeHash(code);
  const id = randomUUID();
  const side = { transfer: { id, from, to } };

  const had = source.goods.get(hash);
  const out = scanRule(had, { directoryId: from, op: 'out', code, qty });
  if (!out.ok) throw out.error;
  const existing = target.goods.get(hash);
  const into = scanRule(existing, { directoryId: to, op: 'in', code, qty, ...(existing ? {} : { name: had?.name ?? '', remarks: had?.remarks ?? '' }) });
  if (!into.ok) throw into.error;

  const outBefore = had?.count ?? 0;
  const outGoods = await keep(store, source, hash, out.value.goods, at);
  const outRevision = record(source, actor, eventId, 'out', outGoods, out.value.delta, at, { ...side, before: outBefore });
  const inBefore = existing?.count ?? 0;
  const inGoods = await keep(store, target, hash, into.value.goods, at);
  const inRevision = record(target, actor, eventId, 'in', inGoods, into.value.delta, at, { ...side, before: inBefore });
  return {
    kind: 'transfer',
    transferId: id,
    out: { goods: goodsView(outGoods), delta: out.value.delta, revision: outRevision, created: false, duplicate: false },
    in: { goods: goodsView(inGoods), delta: into.value.delta, revision: inRevision, created: into.value.created, duplicate: false },
  };
}

/**
 * The sides made together with the change at `revision` of `directoryId`: the transfer's own two, or
 * the two undos of one undo of it. Every step of a transfer's history adds one row in each of its
 * directories at once, so the n-th rows (by revision) of the two directories belong together.
 */
function sidesOf<T extends { directoryId: number; revision: number }>(rows: T[], directoryId: number, revision: number): T[] {
  const byDirectory = groupBy(rows, (row) => row.directoryId);
  for (const own of byDirectory.values()) own.sort((x, y) => x.revision - y.revision);
  const step = (byDirectory.get(directoryId) ?? []).findIndex((row) => row.revision === revision);
  return step < 0 ? [] : [...byDirectory.values()].map((own) => own[step]).filter((row) => row !== undefined);
}

/** Undoes both sides of a transfer at once, each with an `undo` of its own directory. */
async function undoTransfer(store: InventoryStore, states: Map<number, Working>, request: Extract<AcrossRequest, { kind: 'undoTransfer' }>, at: Date): Promise<MutationResult> {
  const { actor, eventId } = request;
  let answered: Change | undefined;
  // Read again under the locks: a concurrent undo of the same transfer has either committed (and is
  // seen as undone) or waits for these locks.
  for (const side of sidesOf(await store.transferSides(request.transferId), request.directoryId, request.revision)) {
    const state = allow(states.get(side.directoryId), actor, 'viewer', 'undoing a transfer');
    checkUndoRole(state, actor, side, request.required);
    const done = await compensate(store, state, actor, eventId, side, at, { id: request.transferId, from: side.transferFrom ?? 0, to: side.transferTo ?? 0 });
    if (side.directoryId === request.directoryId) answered = done.change;
  }
  if (!answered) throw undoConflict('no such transfer in this directory');
  return { kind: 'undo', undone: request.revision, change: answered };
}
