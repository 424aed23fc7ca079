import type { Statements } from '../../src/db/raw';
import { DomainEvents, type DomainEventMap } from '../../src/modules/inventory/events';
import type { MutationRequest, Outcome } from '../../src/modules/inventory/mutate';
import { MutationQueue } from '../../src/modules/inventory/queue';
import type { InventoryStore } from '../../src/modules/inventory/store';
import { DuplicateKeyError, memoryDatabase, MemoryInventory } from '../helpers/memory-store';

/**
 * Group commit across directories, through the store interface: what waits for many directories shares
 * one transaction (within the caps), each directory's batch decided on its own, announced per directory
 * after the commit; a failure that belongs to one directory stays that directory's.
 */

const clock = new Date('2024-05-01T08:00:00Z');

function setUp(directories: number, options: { store?: (inventory: MemoryInventory) => InventoryStore } = {}) {
  const inventory = new MemoryInventory();
  const owner = inventory.user('老板');
  const ids = Array.from({ length: directories }, (_, i) => inventory.directory(owner, `仓库${i}`));
  const db = memoryDatabase(inventory);
  const events = new DomainEvents((error) => {
    throw error;
  });
  const heard: { type: keyof DomainEventMap; event: DomainEventMap[keyof DomainEventMap] }[] = [];
  for (const type of ['changes', 'directory', 'batchCommitted', 'batchFailed', 'batchRetried'] as const) events.on(type, (event) => heard.push({ type, event }));
  const wrap = options.store;
  const store = wrap ? (statements: Statements) => (db.storeOf(statements), wrap(inventory)) : db.storeOf;
  const queue = new MutationQueue({ raw: db, now: () => clock, events, store });
  return { inventory, owner, ids, db, queue, heard };
}

let counter = 0;
function scan(owner: number, directoryId: number, code = 'X', op: 'in' | 'out' = 'in', eventId = `g${++counter}`): MutationRequest {
  return { actor: { userId: owner, deviceId: 'phone' }, directoryId, eventId, mutation: { kind: 'scan', scan: { directoryId, op, code, qty: 1 } }, required: 'editor' };
}

const revisionOf = (outcome: Outcome) => (outcome.ok && outcome.value.kind === 'scan' ? outcome.value.result.revision : outcome.ok ? null : outcome.error.code);
const committed = (heard: ReturnType<typeof setUp>['heard']) => heard.filter((h) => h.type === 'batchCommitted').map((h) => h.event as DomainEventMap['batchCommitted']);

describe('MutationQueue: group commit across directories', () => {
  it('takes what waits for 50 directories into one transaction; each caller gets its own revision, each directory its own changes in order', async () => {
    const s = setUp(50);
    const requests = [0, 1, 2].flatMap(() => [...s.ids].reverse().map((id) => scan(s.owner, id)));
    const outcomes = await Promise.all(requests.map((request) => s.queue.submit(request)));
    expect(s.db.transactions).toBe(1);
    expect(s.queue.commits).toBe(1);
    // Submitted directory by directory, three rounds: each directory's three scans are its revisions 1, 2, 3.
    expect(outcomes.map(revisionOf)).toEqual([...Array(50).fill(1), ...Array(50).fill(2), ...Array(50).fill(3)]);
    for (const id of s.ids) expect(s.inventory.counts(id)).toEqual({ X: 3 });
    // Announced per directory, in id order (the lock order), each with its changes in revision order.
    const changes = s.heard.filter((h) => h.type === 'changes').map((h) => h.event as DomainEventMap['changes']);
    expect(changes.map((c) => c.directoryId)).toEqual(s.ids);
    for (const c of changes) expect(c.changes.map((change) => change.revision)).toEqual([1, 2, 3]);
    expect(committed(s.heard).map((c) => c.requests.length)).toEqual(Array(50).fill(3));
  });

  it('caps a transaction at 500 mutations and 100 directories (MariaDB); a directory flooding it goes to the back', async () => {
    const s = setUp(120);
    const [flooded, ...others] = s.ids;
    const flood = Array.from({ length: 600 }, () => scan(s.owner, flooded));
    const lone = scan(s.owner, others[0]);
    const outcomes = await Promise.all([...flood, lone].map((request) => s.queue.submit(request)));
    expect(outcomes.map(revisionOf)).toEqual([...Array.from({ length: 600 }, (_, i) => i + 1), 1]);
    // The first took 500 of the flood, which then waited behind the lone scan (two run at once on MariaDB).
    expect(s.queue.commits).toBe(3);
    expect(committed(s.heard).map((c) => [c.directoryId, c.requests.length])).toEqual([
      [flooded, 500],
      [others[0], 1],
      [flooded, 100],
    ]);

    const spread = setUp(120);
    await Promise.all(spread.ids.map((id) => spread.queue.submit(scan(spread.owner, id))));
    expect(committed(spread.heard).length).toBe(120);
    expect(spread.queue.commits).toBe(2);
  });

  it("refuses one directory's mutations (gone, no role, beyond stock) without failing the others' in the same transaction", async () => {
    const s = setUp(4);
    const [ok, gone, noRole, short] = s.ids;
    const stranger = s.inventory.user('外人');
    s.inventory.setMember(noRole, stranger, 'editor');
    await s.queue.submit({ actor: { userId: s.owner, deviceId: null }, directoryId: gone, mutation: { kind: 'delete' }, required: 'owner' });
    s.inventory.setMember(noRole, stranger, null);
    const outcomes = await Promise.all(
      [scan(s.owner, ok), scan(s.owner, gone), scan(stranger, noRole), scan(s.owner, short, 'X', 'out'), scan(s.owner, ok), scan(s.owner, short, 'Y')].map((request) => s.queue.submit(request)),
    );
    expect(outcomes.map(revisionOf)).toEqual([1, 'directory_not_found', 'directory_not_found', 'goods_not_found', 2, 1]);
    expect(s.queue.commits).toBe(2);
    expect(s.inventory.counts(ok)).toEqual({ X: 2 });
    expect(s.inventory.counts(short)).toEqual({ Y: 1 });
  });

  it('an event id sent twice into one shared transaction, to one directory or to two, is applied once', async () => {
    const s = setUp(2);
    const [a, b] = s.ids;
    const outcomes = await Promise.all(
      [scan(s.owner, a, 'X', 'in', 'same'), scan(s.owner, b, 'X', 'in', 'other'), scan(s.owner, a, 'X', 'in', 'same'), scan(s.owner, b, 'X', 'in', 'same')].map((r) => s.queue.submit(r)),
    );
    expect(s.queue.commits).toBe(1);
    expect(outcomes.map((o) => o.ok && o.duplicate)).toEqual([false, false, true, true]);
    expect(outcomes.map(revisionOf)).toEqual([1, 1, 1, 1]);
    expect([s.inventory.counts(a), s.inventory.counts(b)]).toEqual([{ X: 1 }, { X: 1 }]);
  });

  it('runs a group that lost a race on a unique key again, announcing a retry for each of its directories', async () => {
    const s = setUp(3);
    s.db.failNext(new DuplicateKeyError('event id taken meanwhile'));
    const outcomes = await Promise.all(s.ids.map((id) => s.queue.submit(scan(s.owner, id))));
    expect(outcomes.map(revisionOf)).toEqual([1, 1, 1]);
    expect(s.heard.filter((h) => h.type === 'batchRetried').map((h) => (h.event as DomainEventMap['batchRetried']).directoryId)).toEqual(s.ids);
    expect(s.queue.commits).toBe(1);
  });

  it("a group whose transaction fails runs again one directory at a time: only the failing directory's callers get the error, nothing of theirs is kept", async () => {
    const broken = new Error('a row this directory cannot write');
    let poisoned = 0;
    const s = setUp(3, {
      store: (inventory) =>
        new Proxy(inventory, {
          get(target, key, receiver) {
            if (key !== 'appendLog') return Reflect.get(target, key, receiver);
            return async (entries: { directoryId: number }[]) => {
              if (entries.some((entry) => entry.directoryId === poisoned)) throw broken;
              return target.appendLog(entries as never);
            };
          },
        }),
    });
    const [a, bad, c] = s.ids;
    poisoned = bad;
    const settled = await Promise.allSettled([scan(s.owner, a), scan(s.owner, bad), scan(s.owner, c), scan(s.owner, bad)].map((r) => s.queue.submit(r)));
    expect(settled.map((r) => (r.status === 'fulfilled' ? revisionOf(r.value) : r.reason))).toEqual([1, broken, 1, broken]);
    // The group, then a, bad and c alone: two commits (a's and c's).
    expect(s.db.transactions).toBe(4);
    expect(s.queue.commits).toBe(2);
    expect(s.heard.filter((h) => h.type === 'batchFailed').map((h) => (h.event as DomainEventMap['batchFailed']).directoryId)).toEqual([bad]);
    expect([s.inventory.counts(a), s.inventory.counts(bad), s.inventory.counts(c)]).toEqual([{ X: 1 }, {}, { X: 1 }]);
    expect(s.inventory.revisionOf(bad)).toBe(0);
  });
});
