import { DomainEvents, type DomainEventMap } from '../../src/modules/inventory/events';
import type { MutationRequest, Outcome } from '../../src/modules/inventory/mutate';
import { MutationQueue } from '../../src/modules/inventory/queue';
import { DuplicateKeyError, memoryDatabase, MemoryInventory, type MemoryDatabase } from '../helpers/memory-store';

/**
 * The mutation queue's group commit over a RawDatabase whose transactions run on the in-memory store,
 * with an injected clock: what it batches together, what each caller is answered, what it announces.
 */

interface Setup {
  store: MemoryInventory;
  db: MemoryDatabase;
  queue: MutationQueue;
  events: DomainEvents;
  owner: number;
  viewer: number;
  directories: [number, number];
  /** Every domain event, in emission order. */
  heard: { type: keyof DomainEventMap; event: DomainEventMap[keyof DomainEventMap] }[];
}

const clock = new Date('2024-05-01T08:00:00Z');

function setUp(): Setup {
  const store = new MemoryInventory();
  const owner = store.user('老板');
  const viewer = store.user('会计');
  const directories: [number, number] = [store.directory(owner, 'A'), store.directory(owner, 'B')];
  store.setMember(directories[0], viewer, 'viewer');
  const db = memoryDatabase(store);
  const events = new DomainEvents((error) => {
    throw error;
  });
  const heard: Setup['heard'] = [];
  for (const type of ['changes', 'directory', 'batchCommitted', 'batchFailed', 'batchRetried'] as const) events.on(type, (event) => heard.push({ type, event }));
  const queue = new MutationQueue({ raw: db, now: () => clock, events, store: db.storeOf });
  return { store, db, queue, events, owner, viewer, directories, heard };
}

let eventCounter = 0;
function scan(s: Setup, directoryId: number, code: string, options: { userId?: number; qty?: number } = {}): MutationRequest {
  return {
    actor: { userId: options.userId ?? s.owner, deviceId: 'phone' },
    directoryId,
    eventId: `q${++eventCounter}`,
    mutation: { kind: 'scan', scan: { directoryId, op: 'in', code, qty: options.qty ?? 1 } },
    required: 'editor',
  };
}

const revisionOf = (outcome: Outcome) => (outcome.ok && outcome.value.kind === 'scan' ? outcome.value.result.revision : outcome.ok ? null : outcome.error.code);
const batches = (s: Setup) => s.heard.filter((h) => h.type === 'batchCommitted').map((h) => (h.event as DomainEventMap['batchCommitted']).requests.map((r) => r.eventId));
/** Lets the queue's setImmediate and the memory transactions run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('MutationQueue', () => {
  it('takes the mutations arriving in one turn into one transaction, one batch per directory, each caller with its own outcome', async () => {
    const s = setUp();
    const [a, b] = s.directories;
    const requests = [scan(s, a, 'X'), scan(s, b, 'Y'), scan(s, a, 'X', { userId: s.viewer }), scan(s, a, 'Z'), scan(s, b, 'Y')];
    const outcomes = await Promise.all(requests.map((request) => s.queue.submit(request)));
    expect(outcomes.map(revisionOf)).toEqual([1, 1, 'forbidden', 2, 2]);
    expect(s.db.transactions).toBe(1);
    expect(s.queue.commits).toBe(1);
    expect(batches(s)).toEqual([
      [requests[0].eventId, requests[2].eventId, requests[3].eventId],
      [requests[1].eventId, requests[4].eventId],
    ]);
    expect(s.store.counts(a)).toEqual({ X: 1, Z: 1 });
    expect(s.store.counts(b)).toEqual({ Y: 2 });
  });

  it('stamps the batch with the injected clock', async () => {
    const s = setUp();
    await s.queue.submit(scan(s, s.directories[0], 'X'));
    expect(s.store.log(s.directories[0]).map((entry) => entry.at)).toEqual([clock]);
    const changes = s.heard.find((h) => h.type === 'changes')?.event as DomainEventMap['changes'];
    expect(changes.changes[0].at).toBe(clock.toISOString());
  });

  it('queues what arrives while a batch of its directory runs, and runs it together in the next batch', async () => {
    const s = setUp();
    const [a] = s.directories;
    const release = s.db.hold();
    const first = s.queue.submit(scan(s, a, 'X'));
    await turn();
    expect(s.db.transactions).toBe(1);
    const later = [scan(s, a, 'X'), scan(s, a, 'Y'), scan(s, a, 'Z')];
    const waiting = later.map((request) => s.queue.submit(request));
    await turn();
    expect(s.db.transactions).toBe(1);
    release();
    expect(revisionOf(await first)).toBe(1);
    expect((await Promise.all(waiting)).map(revisionOf)).toEqual([2, 3, 4]);
    expect(s.db.transactions).toBe(2);
    expect(batches(s).map((batch) => batch.length)).toEqual([1, 3]);
  });

  it('announces each batch after its commit, before answering its callers: changes in revision order, then the directory events', async () => {
    const s = setUp();
    const [a] = s.directories;
    const answered: number[] = [];
    const announcedBeforeAnswer: boolean[] = [];
    s.events.on('changes', () => announcedBeforeAnswer.push(answered.length === 0));
    const rename: MutationRequest = { actor: { userId: s.owner, deviceId: null }, directoryId: a, mutation: { kind: 'rename', name: 'A2' }, required: 'owner' };
    await Promise.all([scan(s, a, 'X'), rename, scan(s, a, 'Y')].map((request, index) => s.queue.submit(request).then(() => answered.push(index))));
    expect(s.heard.map((h) => h.type)).toEqual(['changes', 'directory', 'batchCommitted']);
    const changes = s.heard[0].event as DomainEventMap['changes'];
    expect(changes).toMatchObject({ directoryId: a });
    expect(changes.changes.map((change) => [change.revision, change.type])).toEqual([
      [1, 'in'],
      [2, 'rename'],
      [3, 'in'],
    ]);
    expect(s.heard[1].event).toEqual({ directoryId: a, event: 'renamed' });
    expect(announcedBeforeAnswer).toEqual([true]);
  });

  it('announces no changes for a batch of refusals only', async () => {
    const s = setUp();
    const outcome = await s.queue.submit(scan(s, s.directories[0], 'X', { userId: s.viewer }));
    expect(revisionOf(outcome)).toBe('forbidden');
    expect(s.heard.map((h) => h.type)).toEqual(['batchCommitted']);
  });

  it('rejects every caller of a batch whose transaction fails, announces batchFailed and no changes, and rolls back; the next batch runs', async () => {
    const s = setUp();
    const [a] = s.directories;
    const failure = new Error('the disk is full');
    s.db.failNext(failure);
    const requests = [scan(s, a, 'X'), scan(s, a, 'Y')];
    const settled = await Promise.allSettled(requests.map((request) => s.queue.submit(request)));
    expect(settled).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
    expect(s.heard.map((h) => h.type)).toEqual(['batchFailed']);
    expect(s.heard[0].event).toEqual({ directoryId: a, requests, error: failure });
    expect(s.store.counts(a)).toEqual({});
    expect(s.store.revisionOf(a)).toBe(0);
    // Resent under the same event ids, they apply once.
    expect((await Promise.all(requests.map((request) => s.queue.submit(request)))).map(revisionOf)).toEqual([1, 2]);
  });

  it('runs a batch that lost a race on a unique key again from the start (batchRetried), answering from the winner', async () => {
    const s = setUp();
    const [a] = s.directories;
    s.db.failNext(new DuplicateKeyError('event id taken meanwhile'));
    const outcome = await s.queue.submit(scan(s, a, 'X'));
    expect(revisionOf(outcome)).toBe(1);
    expect(s.heard.map((h) => h.type)).toEqual(['batchRetried', 'changes', 'batchCommitted']);
    expect(s.store.counts(a)).toEqual({ X: 1 });
  });
});
