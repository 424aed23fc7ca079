import type { Role } from '../../src/contract/constants';
import { applyBatch, type Mutation, type MutationRequest, type Outcome } from '../../src/modules/inventory/mutate';
import { MemoryInventory } from '../helpers/memory-store';

/**
 * The one mutation path (applyBatch) through the InventoryStore interface, over the in-memory store:
 * roles decided inside the batch, event ids answered once, revisions consecutive, who made each change.
 */

const at = new Date('2024-05-01T08:00:00Z');

interface Team {
  store: MemoryInventory;
  directoryId: number;
  users: Record<Role | 'stranger', number>;
}

/** A directory with one member of each role, and a stranger; nicknames are the role's name. */
function team(): Team {
  const store = new MemoryInventory();
  const users = { owner: store.user('owner'), manager: store.user('manager'), editor: store.user('editor'), viewer: store.user('viewer'), stranger: store.user('stranger') };
  const directoryId = store.directory(users.owner, '仓库');
  for (const role of ['manager', 'editor', 'viewer'] as const) store.setMember(directoryId, users[role], role);
  return { store, directoryId, users };
}

let eventCounter = 0;
const request = (t: Team, who: keyof Team['users'], mutation: Mutation, options: { eventId?: string; required?: Role } = {}): MutationRequest => ({
  actor: { userId: t.users[who], deviceId: `${who}-phone` },
  directoryId: t.directoryId,
  eventId: 'eventId' in options ? options.eventId : `e${++eventCounter}`,
  mutation,
  required: options.required ?? (mutation.kind === 'rename' || mutation.kind === 'delete' ? 'owner' : 'editor'),
});
const scanIn = (t: Team, code: string, qty = 1): Mutation => ({ kind: 'scan', scan: { directoryId: t.directoryId, op: 'in', code, qty } });
const scanOut = (t: Team, code: string, qty = 1): Mutation => ({ kind: 'scan', scan: { directoryId: t.directoryId, op: 'out', code, qty } });

/** An outcome as a short, comparable shape. */
const brief = (outcome: Outcome) =>
  outcome.ok
    ? { ok: true, duplicate: outcome.duplicate, revision: outcome.value.kind === 'scan' ? outcome.value.result.revision : undefined }
    : { ok: false, code: outcome.error.code, ...outcome.error.details };

describe('applyBatch: roles decided inside the batch', () => {
  it("refuses a viewer's scan (forbidden, with role and required) while an editor's in the same batch applies", async () => {
    const t = team();
    const done = await applyBatch(t.store, t.directoryId, [request(t, 'editor', scanIn(t, 'A', 2)), request(t, 'viewer', scanIn(t, 'A', 5)), request(t, 'owner', scanIn(t, 'A'))], at);
    expect(done.outcomes.map(brief)).toEqual([
      { ok: true, duplicate: false, revision: 1 },
      { ok: false, code: 'forbidden', role: 'viewer', required: 'editor' },
      { ok: true, duplicate: false, revision: 2 },
    ]);
    expect(t.store.counts(t.directoryId)).toEqual({ A: 3 });
    expect(t.store.revisionOf(t.directoryId)).toBe(2);
  });

  it("answers a non-member's scan directory_not_found, as for a directory that does not exist", async () => {
    const t = team();
    const done = await applyBatch(t.store, t.directoryId, [request(t, 'stranger', scanIn(t, 'A')), request(t, 'editor', scanIn(t, 'A'))], at);
    expect(done.outcomes.map(brief)).toEqual([
      { ok: false, code: 'directory_not_found' },
      { ok: true, duplicate: false, revision: 1 },
    ]);
    const missing = await applyBatch(t.store, 9999, [{ ...request(t, 'owner', scanIn(t, 'A')), directoryId: 9999 }], at);
    expect(missing.outcomes.map(brief)).toEqual([{ ok: false, code: 'directory_not_found' }]);
    expect(t.store.log(t.directoryId).map((entry) => entry.userId)).toEqual([t.users.editor]);
  });

  it('reads the roles of the batch at its lock: a member removed before the batch is a stranger in it', async () => {
    const t = team();
    await applyBatch(t.store, t.directoryId, [request(t, 'editor', scanIn(t, 'A'))], at);
    t.store.setMember(t.directoryId, t.users.editor, null);
    const done = await applyBatch(t.store, t.directoryId, [request(t, 'editor', scanIn(t, 'A'))], at);
    expect(done.outcomes.map(brief)).toEqual([{ ok: false, code: 'directory_not_found' }]);
    expect(t.store.counts(t.directoryId)).toEqual({ A: 1 });
  });

  it('asks for the role the operation table names: a rename needs the owner here, a manager is forbidden', async () => {
    const t = team();
    const done = await applyBatch(t.store, t.directoryId, [request(t, 'manager', { kind: 'rename', name: 'x' }), request(t, 'owner', { kind: 'rename', name: '新仓库' })], at);
    expect(done.outcomes.map(brief)).toEqual([
      { ok: false, code: 'forbidden', role: 'manager', required: 'owner' },
      { ok: true, duplicate: false, revision: undefined },
    ]);
    expect(done.directoryEvents).toEqual(['renamed']);
    expect(t.store.nameOf(t.directoryId)).toBe('新仓库');
  });

  it('after a delete in the batch, the rest of the batch finds no directory', async () => {
    const t = team();
    const done = await applyBatch(t.store, t.directoryId, [request(t, 'owner', { kind: 'delete' }), request(t, 'owner', scanIn(t, 'A'))], at);
    expect(done.outcomes.map(brief)).toEqual([
      { ok: true, duplicate: false, revision: undefined },
      { ok: false, code: 'directory_not_found' },
    ]);
    expect(done.directoryEvents).toEqual(['deleted']);
    expect(t.store.isDeleted(t.directoryId)).toBe(true);
    const later = await applyBatch(t.store, t.directoryId, [request(t, 'owner', scanIn(t, 'A'))], at);
    expect(later.outcomes.map(brief)).toEqual([{ ok: false, code: 'directory_not_found' }]);
  });
});

describe('applyBatch: exactly once, in order, by whom', () => {
  it('gives consecutive revisions and Changes carrying the nickname, user and device of whoever made them', async () => {
    const t = team();
    const done = await applyBatch(t.store, t.directoryId, [request(t, 'owner', scanIn(t, 'A', 3)), request(t, 'editor', scanOut(t, 'A')), request(t, 'manager', scanIn(t, 'B'))], at);
    expect(done.changes.map((change) => change.revision)).toEqual([1, 2, 3]);
    expect(done.changes.map((change) => [change.userId, change.nickname, change.deviceId, change.code, change.delta, change.goods?.count])).toEqual([
      [t.users.owner, 'owner', 'owner-phone', 'A', 3, 3],
      [t.users.editor, 'editor', 'editor-phone', 'A', -1, 2],
      [t.users.manager, 'manager', 'manager-phone', 'B', 1, 1],
    ]);
    expect(t.store.log(t.directoryId).map((entry) => entry.revision)).toEqual([1, 2, 3]);
    expect(t.store.freqOf(t.directoryId)).toBe(3);
  });

  it('refusals take no revision, and the next batch goes on from the last one', async () => {
    const t = team();
    const first = await applyBatch(t.store, t.directoryId, [request(t, 'editor', scanOut(t, 'A')), request(t, 'editor', scanIn(t, 'A'))], at);
    expect(first.outcomes.map(brief)).toEqual([
      { ok: false, code: 'goods_not_found' },
      { ok: true, duplicate: false, revision: 1 },
    ]);
    const second = await applyBatch(t.store, t.directoryId, [request(t, 'editor', scanOut(t, 'A', 5)), request(t, 'editor', scanIn(t, 'B'))], at);
    expect(second.outcomes.map(brief)).toEqual([
      { ok: false, code: 'insufficient_stock', count: 1 },
      { ok: true, duplicate: false, revision: 2 },
    ]);
    expect(second.changes.map((change) => change.revision)).toEqual([2]);
  });

  it('answers an event id sent again, in the same batch or a later one, with its first outcome marked duplicate, applying nothing twice', async () => {
    const t = team();
    const scan = request(t, 'editor', scanIn(t, 'A', 2), { eventId: 'phone-1' });
    const refused = request(t, 'viewer', scanIn(t, 'A'), { eventId: 'phone-2' });
    const first = await applyBatch(t.store, t.directoryId, [scan, scan, refused], at);
    expect(first.outcomes.map(brief)).toEqual([
      { ok: true, duplicate: false, revision: 1 },
      { ok: true, duplicate: true, revision: 1 },
      { ok: false, code: 'forbidden', role: 'viewer', required: 'editor' },
    ]);
    const again = await applyBatch(t.store, t.directoryId, [scan, refused], at);
    expect(again.outcomes.map(brief)).toEqual([
      { ok: true, duplicate: true, revision: 1 },
      { ok: false, code: 'forbidden', role: 'viewer', required: 'editor', duplicate: true },
    ]);
    expect(again.changes).toEqual([]);
    expect(t.store.counts(t.directoryId)).toEqual({ A: 2 });
    expect(t.store.revisionOf(t.directoryId)).toBe(1);
  });

  it('keeps event ids per user: the same id from two users is two scans', async () => {
    const t = team();
    const done = await applyBatch(t.store, t.directoryId, [request(t, 'editor', scanIn(t, 'A'), { eventId: 'same' }), request(t, 'owner', scanIn(t, 'A'), { eventId: 'same' })], at);
    expect(done.outcomes.map(brief)).toEqual([
      { ok: true, duplicate: false, revision: 1 },
      { ok: true, duplicate: false, revision: 2 },
    ]);
  });

  it('refuses an event id used before for another kind of mutation', async () => {
    const t = team();
    await applyBatch(t.store, t.directoryId, [request(t, 'editor', scanIn(t, 'A'), { eventId: 'x' })], at);
    const done = await applyBatch(t.store, t.directoryId, [request(t, 'editor', { kind: 'remove', code: 'A' }, { eventId: 'x' })], at);
    expect(done.outcomes.map(brief)).toEqual([{ ok: false, code: 'bad_request' }]);
    expect(t.store.counts(t.directoryId)).toEqual({ A: 1 });
  });
});

describe('applyBatch: MAX_GOODS_PER_DIRECTORY', () => {
  it('counts the goods a batch adds and removes in order: a removal frees a place for a later create of the batch, not an earlier one', async () => {
    const t = team();
    const limits = { maxGoodsPerDirectory: 2 };
    await applyBatch(t.store, t.directoryId, [request(t, 'editor', scanIn(t, 'A')), request(t, 'editor', scanIn(t, 'B'))], at, limits);
    const remove: Mutation = { kind: 'remove', code: 'A' };
    const done = await applyBatch(
      t.store,
      t.directoryId,
      [request(t, 'editor', scanIn(t, 'C')), request(t, 'editor', scanIn(t, 'B')), request(t, 'editor', remove), request(t, 'editor', scanIn(t, 'D')), request(t, 'editor', scanIn(t, 'E'))],
      at,
      limits,
    );
    expect(done.outcomes.map(brief)).toEqual([
      { ok: false, code: 'quota_exceeded', limit: 2 },
      { ok: true, duplicate: false, revision: 3 },
      { ok: true, duplicate: false, revision: undefined },
      { ok: true, duplicate: false, revision: 5 },
      { ok: false, code: 'quota_exceeded', limit: 2 },
    ]);
    expect(t.store.counts(t.directoryId)).toEqual({ B: 2, D: 1 });
    expect(t.store.goodsCountOf(t.directoryId)).toBe(2);
  });
});
