import { AppError, badRequest, type ErrorBody } from '../../errors';
import { decide as decideAccess, directoryNotFound, type Role } from './access';
import { codeHash } from './codes';
import { goodsView } from './context';
import { editRule, removeRule, scanRule, undoConflict, type Ruled } from './rules';
import type { GoodsReservation, InventoryStore, OutcomeInsert, StoredGoods, StoredOutcome } from './store';
import type { Actor, Change, GoodsView, ScanInput, ScanResult } from './views';
import { checkUndoRole, compensate } from './undo';
import { checkCountRole, countView, finishCount, openCount } from '../counts/finish';
import type { CountReportLine, CountSession } from '../../contract';
import { drop, flush, keep, readGoodsOf, record, UNLIMITED, workingsOf, type BatchLimits, type Working } from './working';

export { UNLIMITED, type BatchLimits } from './working';

/**
 * The one path of every change to a directory: the event id claimed, access checked, the directory
 * locked (before any goods: one lock order), the rule applied, the log appended (its only writer), the
 * outcome stored. `applyBatch` runs a batch of mutations of one directory in the caller's transaction,
 * each with its own result or refusal and its own revision; `applyGroup` runs the batches of several
 * directories in one transaction the same way. The caller commits, then publishes.
 */

export type Mutation =
  | { kind: 'scan'; scan: ScanInput }
  | { kind: 'edit'; code: string; name?: string; remarks?: string; minCount?: number }
  | { kind: 'remove'; code: string }
  | { kind: 'rename'; name: string }
  | { kind: 'delete' }
  | { kind: 'undo'; revision: number }
  | { kind: 'finishCount'; countId: number; zeroMissing: boolean }
  | { kind: 'cancelCount'; countId: number };

export interface MutationRequest {
  actor: Actor;
  directoryId: number;
  eventId?: string;
  mutation: Mutation;
  /** The lowest role that may make it (the operation table's), checked in the transaction that applies it. */
  required: Role;
}

/** What a mutation answers: its result, or the refusal (an AppError) it was given. */
export type MutationResult =
  | { kind: 'create'; directoryId: number }
  | { kind: 'scan'; result: ScanResult }
  | { kind: 'edit'; goods: GoodsView }
  | { kind: 'remove' }
  | { kind: 'rename' }
  | { kind: 'delete' }
  | { kind: 'undo'; undone: number; change: Change }
  | { kind: 'finishCount'; count: CountSession; lines: CountReportLine[] }
  | { kind: 'cancelCount'; count: CountSession }
  | { kind: 'transfer'; transferId: string; out: ScanResult; in: ScanResult }
  | { kind: 'startCount'; count: CountSession }
  | { kind: 'countLine'; line: { code: string; counted: number; expected: number } };

export type Outcome = { ok: true; value: MutationResult; duplicate: boolean } | { ok: false; error: AppError };

/**
 * Stored outcomes carry a version, so that the shape can evolve; rows without one are version 0, the
 * scan results stored before every mutation had an event id.
 */
const OUTCOME_VERSION = 1;
type MutationKind = MutationResult['kind'];
interface StoredOutcomeV1 {
  v: 1;
  kind: MutationKind;
  result?: MutationResult;
  error?: ErrorBody;
}

export interface BatchDone {
  outcomes: Outcome[];
  /** Every change, in revision order, to publish after commit. */
  changes: Change[];
  /** Directory events to announce after commit (a rename or a delete). */
  directoryEvents: ('renamed' | 'deleted')[];
  /** Goods this batch took below their minCount: a low-stock alert each, after commit. */
  alerts: GoodsView[];
  /** Count sessions this batch finished or cancelled, to announce after commit. */
  counts: CountSession[];
}

/** One directory's mutations in a transaction. */
export interface DirectoryBatch {
  directoryId: number;
  requests: MutationRequest[];
}

function codeOf(mutation: Mutation): string | null {
  if (mutation.kind === 'scan') return mutation.scan.code;
  return mutation.kind === 'edit' || mutation.kind === 'remove' ? mutation.code : null;
}

/** Applies every request of one directory, in order, in the caller's transaction. */
export async function applyBatch(store: InventoryStore, directoryId: number, requests: MutationRequest[], at: Date, limits: BatchLimits = UNLIMITED): Promise<BatchDone> {
  const [done] = await applyGroup(store, [{ directoryId, requests }], at, limits);
  return done;
}

/**
 * Applies the batches of several directories in the caller's transaction (group commit across
 * directories): their rows locked in id order by one statement, the stored outcomes and goods read by
 * one statement each, every batch decided on its own directory as `applyBatch` decides it, and what they
 * wrote flushed together (one statement per table). A directory that is gone, or a caller without the
 * role, is a refusal of that directory's mutations only; one BatchDone per batch, in the given order.
 */
export async function applyGroup(store: InventoryStore, batches: readonly DirectoryBatch[], at: Date, limits: BatchLimits = UNLIMITED): Promise<BatchDone[]> {
  const requests = batches.flatMap((batch) => batch.requests);
  const hashes = new Map<number, string[]>();
  for (const batch of batches) {
    const own = hashesOf(batch.requests);
    if (own.length > 0) hashes.set(batch.directoryId, own);
  }
  // The lock first, then the reads, issued together (one connection runs them in that order, so the
  // reads come after the lock; the embedded database's writer thread gets them as one message). The
  // goods of a directory not found are read for nothing.
  const [locked, replies, goods] = await Promise.all([
    store.lockDirectories(
      batches.map((batch) => batch.directoryId),
      [...new Set(requests.map((r) => r.actor.userId))],
    ),
    EventReplies.read(store, requests),
    readGoodsOf(store, hashes),
  ]);
  const states = workingsOf(
    batches.map((batch) => locked.get(batch.directoryId) ?? null),
    goods,
    limits,
  );
  await reserveNewGoods(store, batches, states, at);
  const done: BatchDone[] = [];
  for (const [index, batch] of batches.entries()) done.push(await decideBatch(store, states[index], batch.requests, at, replies));
  await Promise.all([flush(store, states, at), store.storeOutcomes(replies.fresh)]);
  return done;
}

/**
 * Reserves, in one round trip, a row for each goods a scan of the group may create (an `in` or a `set` of
 * a code the directory does not have): a group over many directories, or a first stocktake, creates
 * many, each an insert (a round trip) of its own when made as it is created.
 */
async function reserveNewGoods(store: InventoryStore, batches: readonly DirectoryBatch[], states: readonly Working[], at: Date): Promise<void> {
  const rows: GoodsReservation[] = [];
  batches.forEach((batch, index) => {
    const state = states[index];
    if (!state.directory || state.directory.deleted) return;
    const seen = new Set<string>();
    for (const { mutation } of batch.requests) {
      if (mutation.kind !== 'scan' || mutation.scan.op === 'out') continue;
      const hash = codeHash(mutation.scan.code);
      if (state.goods.has(hash) || seen.has(hash)) continue;
      seen.add(hash);
      rows.push({ directoryId: batch.directoryId, code: mutation.scan.code, codeHash: hash });
    }
  });
  if (rows.length === 0) return;
  const reserved = await store.reserveGoods(rows, at);
  batches.forEach((batch, index) => {
    states[index].reserved = reserved.get(batch.directoryId) ?? new Map();
  });
}

const hashesOf = (requests: readonly MutationRequest[]): string[] => [
  ...new Set(
    requests
      .map((r) => codeOf(r.mutation))
      .filter((code): code is string => code !== null)
      .map(codeHash),
  ),
];

/**
 * The outcomes of event ids in one transaction: those stored before it, those decided in it so far (an
 * id sent twice, to one directory or to two, is applied once and answered twice), and the rows to store.
 */
class EventReplies {
  readonly fresh: OutcomeInsert[] = [];
  private readonly decided = new Map<string, Outcome>();

  private constructor(private readonly stored: Map<number, Map<string, StoredOutcome>>) {}

  static async read(store: InventoryStore, requests: readonly MutationRequest[]): Promise<EventReplies> {
    const byUser = new Map<number, string[]>();
    for (const { actor, eventId } of requests) {
      if (eventId === undefined) continue;
      const ids = byUser.get(actor.userId);
      if (ids) ids.push(eventId);
      else byUser.set(actor.userId, [eventId]);
    }
    return new EventReplies(byUser.size > 0 ? await store.outcomes(byUser) : new Map());
  }

  /** The outcome of a request whose event id was decided before, marked duplicate; undefined for a new one. */
  earlier({ actor, eventId, mutation }: MutationRequest): Outcome | undefined {
    if (eventId === undefined) return undefined;
    const here = this.decided.get(`${actor.userId}:${eventId}`);
    return here ? asDuplicate(here) : replayStored(this.stored.get(actor.userId)?.get(eventId), mutation.kind);
  }

  remember({ actor, eventId, mutation }: MutationRequest, outcome: Outcome, at: Date): void {
    if (eventId === undefined) return;
    this.decided.set(`${actor.userId}:${eventId}`, outcome);
    this.fresh.push(outcomeRow(actor, eventId, mutation.kind, outcome, at));
  }
}

/** Decides one directory's requests, in order, on its working state. */
async function decideBatch(store: InventoryStore, state: Working, requests: readonly MutationRequest[], at: Date, replies: EventReplies): Promise<BatchDone> {
  const outcomes: Outcome[] = [];
  const counts: CountSession[] = [];
  for (const request of requests) {
    const earlier = replies.earlier(request);
    if (earlier) {
      outcomes.push(earlier);
      continue;
    }
    const outcome = await decide(store, state, request, at);
    if (outcome.ok && (outcome.value.kind === 'finishCount' || outcome.value.kind === 'cancelCount')) counts.push(outcome.value.count);
    outcomes.push(outcome);
    replies.remember(request, outcome, at);
  }
  return { outcomes, changes: state.changes, directoryEvents: state.directoryEvents, alerts: state.alerts, counts };
}

async function decide(store: InventoryStore, state: Working, request: MutationRequest, at: Date): Promise<Outcome> {
  try {
    const { mutation, actor, eventId } = request;
    const directory = state.directory;
    if (!directory || state.deletedAt) throw directoryNotFound();
    // The access seam, with the role read by the lock of this very transaction.
    const member = directory.members.get(actor.userId);
    // Undoing a change and closing a count need a role that depends on whose it is (theirs: the
    // table's; anyone else's: manager): membership first, their own rule next names the right one.
    const own = mutation.kind === 'undo' || mutation.kind === 'finishCount' || mutation.kind === 'cancelCount';
    decideAccess({ deleted: directory.deleted, role: member?.role ?? null }, own ? 'viewer' : request.required, `a ${mutation.kind}`);
    switch (mutation.kind) {
      case 'scan': {
        const hash = codeHash(mutation.scan.code);
        const before = state.goods.get(hash)?.count ?? 0;
        const scanned = ruled(scanRule(state.goods.get(hash), mutation.scan));
        const goods = await keep(store, state, hash, scanned.goods, at);
        state.freqDelta += 1;
        const revision = record(state, actor, eventId, mutation.scan.op, goods, scanned.delta, at, { before });
        return accepted({ kind: 'scan', result: { goods: goodsView(goods), delta: scanned.delta, revision, created: scanned.created, duplicate: false } });
      }
      case 'edit': {
        const hash = codeHash(mutation.code);
        const edited = ruled(editRule(state.goods.get(hash), mutation.code, mutation));
        const current = state.goods.get(hash) as StoredGoods;
        if (edited === null) return accepted({ kind: 'edit', goods: goodsView(current) });
        const goods = await keep(store, state, hash, edited, at);
        record(state, actor, eventId, 'edit', goods, null, at);
        return accepted({ kind: 'edit', goods: goodsView(goods) });
      }
      case 'remove': {
        const hash = codeHash(mutation.code);
        const removed = ruled(removeRule(state.goods.get(hash), mutation.code)) as StoredGoods;
        await drop(store, state, hash, removed);
        record(state, actor, eventId, 'remove', removed, -removed.count, at);
        return accepted({ kind: 'remove' });
      }
      case 'rename': {
        // Nothing changes, so no revision is spent (a goods edit that changes nothing is the same).
        if (mutation.name === state.name) return accepted({ kind: 'rename' });
        const holder = await store.liveDirectoryNamed(directory.ownerId, mutation.name);
        if (holder !== null && holder !== directory.id) throw new AppError('name_taken', `a directory named "${mutation.name}" already exists`);
        state.name = mutation.name;
        record(state, actor, eventId, 'rename', null, null, at, { dirName: mutation.name });
        state.directoryEvents.push('renamed');
        return accepted({ kind: 'rename' });
      }
      case 'delete': {
        record(state, actor, eventId, 'delete', null, null, at, { dirName: state.name });
        state.deletedAt = at;
        state.directoryEvents.push('deleted');
        return accepted({ kind: 'delete' });
      }
      case 'undo': {
        const change = (await store.loggedChanges(directory.id, [mutation.revision])).get(mutation.revision);
        if (!change) throw undoConflict(`revision ${mutation.revision} is not a change of this directory`);
        checkUndoRole(state, actor, change, request.required);
        // A side of a transfer is undone with its other side, in a transaction that locks both (across.ts).
        if (change.transferId !== null) throw undoConflict('a transfer is undone with both its sides at once');
        const undone = await compensate(store, state, actor, eventId, change, at);
        return accepted({ kind: 'undo', undone: mutation.revision, change: undone.change });
      }
      case 'finishCount': {
        const count = await openCount(store, state, mutation.countId);
        checkCountRole(state, actor, count, request.required);
        const finished = await finishCount(store, state, actor, eventId, count, mutation.zeroMissing, at);
        return accepted({ kind: 'finishCount', ...finished });
      }
      case 'cancelCount': {
        const count = await openCount(store, state, mutation.countId);
        checkCountRole(state, actor, count, request.required);
        await store.closeCount(count.id, 'cancelled', at);
        return accepted({ kind: 'cancelCount', count: countView({ ...count, status: 'cancelled', closedAt: at }) });
      }
    }
  } catch (error) {
    if (error instanceof AppError) return { ok: false, error };
    throw error;
  }
}

function ruled<T>(outcome: Ruled<T>): T {
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

const accepted = (value: MutationResult): Outcome => ({ ok: true, value, duplicate: false });

/** The row that remembers an event id's outcome. */
export function outcomeRow(actor: Actor, eventId: string, kind: MutationKind, outcome: Outcome, at: Date): OutcomeInsert {
  return { userId: actor.userId, eventId, ok: outcome.ok, outcome: storedText(kind, outcome), at };
}

/** The outcome of an event id sent before (marked duplicate), or undefined for a new one. */
export async function previousOutcome(store: InventoryStore, actor: Actor, eventId: string | undefined, kind: MutationKind): Promise<Outcome | undefined> {
  if (eventId === undefined) return undefined;
  return replayStored((await store.outcomes(new Map([[actor.userId, [eventId]]]))).get(actor.userId)?.get(eventId), kind);
}

/** True when the outcome is the stored one of an event id sent before. */
export const isReplay = (outcome: Outcome): boolean => outcome.ok && outcome.duplicate;

/** The result of an outcome, or its refusal thrown; a scan result says whether it is a replay. */
export function resultOf<K extends MutationKind>(outcome: Outcome, kind: K): Extract<MutationResult, { kind: K }> {
  if (!outcome.ok) throw outcome.error;
  if (outcome.value.kind !== kind) throw new AppError('internal', `a ${kind} answered as a ${outcome.value.kind}`);
  const value: MutationResult = outcome.value.kind === 'scan' ? { kind: 'scan', result: { ...outcome.value.result, duplicate: outcome.duplicate } } : outcome.value;
  return value as Extract<MutationResult, { kind: K }>;
}

function storedText(kind: MutationKind, outcome: Outcome): string {
  const stored: StoredOutcomeV1 = outcome.ok ? { v: OUTCOME_VERSION, kind, result: outcome.value } : { v: OUTCOME_VERSION, kind, error: outcome.error.toBody() };
  return JSON.stringify(stored);
}

/**
 * The outcome stored for an event id sent before, marked as a duplicate; an id stored for another kind
 * of mutation is refused (unmarked: nothing was replayed).
 */
function replayStored(row: StoredOutcome | undefined, kind: MutationKind): Outcome | undefined {
  if (!row) return undefined;
  const parsed = JSON.parse(row.outcome) as Partial<StoredOutcomeV1> & Record<string, unknown>;
  const stored: StoredOutcomeV1 = parsed.v === OUTCOME_VERSION ? (parsed as StoredOutcomeV1) : version0(row.ok, parsed);
  if (stored.kind !== kind) return { ok: false, error: badRequest(`event id was already used for a ${stored.kind}; choose a new one for this ${kind}`) };
  if (stored.error) {
    const { code, message, ...details } = stored.error;
    return asDuplicate({ ok: false, error: new AppError(code, message, details) });
  }
  return asDuplicate({ ok: true, value: stored.result as MutationResult, duplicate: false });
}

/** Before outcomes had a version, only scans had event ids: the row is a ScanResult or an ErrorBody. */
function version0(ok: boolean, parsed: Record<string, unknown>): StoredOutcomeV1 {
  return ok ? { v: 1, kind: 'scan', result: { kind: 'scan', result: parsed as unknown as ScanResult } } : { v: 1, kind: 'scan', error: parsed as unknown as ErrorBody };
}

/** The same outcome, answered again: a result marked `duplicate`, a refusal with `duplicate: true`. */
function asDuplicate(outcome: Outcome): Outcome {
  if (outcome.ok) return { ...outcome, duplicate: true };
  return { ok: false, error: new AppError(outcome.error.code, outcome.error.message, { ...outcome.error.details, duplicate: true }) };
}
