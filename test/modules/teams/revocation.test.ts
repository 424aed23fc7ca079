import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client, request } from '../../helpers/http';
import { createDirectory, directoryState, type Api } from '../../helpers/inventory';
import { startPrivateRedis, type PrivateRedis } from '../../helpers/private-redis';
import { TEST_REDIS_URL, testChannel } from '../../helpers/redis';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * SPEC "Teams", Live: a member removed, or a directory deleted, loses its subscriptions at once on every
 * instance, and within REVISION_CHECK_MS when the bus lost the message; from then on everything they
 * send answers `directory_not_found` and nothing of it applies. Two instances over one database: the
 * member's sockets are on B, the owner acts through A.
 *
 * With the bus up, the periodic check is an hour away, so only the bus can have ended the
 * subscriptions. With the bus cut (the instances' own Redis stopped), only the check (every 300 ms)
 * can have: the `directory` push, which only the bus carries, never reaches B.
 */

interface Person {
  userId: number;
  token: string;
  /** HTTP through instance A. */
  viaA: Api;
  /** HTTP through instance B. */
  viaB: Api;
}

interface Pair {
  a: TestServer;
  b: TestServer;
  /** Whether messages cross between the instances. */
  busUp: boolean;
}

let people = 0;

/** A user logged in with this device (through A; the same user on either instance). */
async function person(pair: Pair, name: string, deviceId: string): Promise<Person> {
  const token = await pair.a.login(name, { deviceId });
  const viaA = client(pair.a.url, token);
  const me = await viaA.get('/api/me');
  expect(me.status).toBe(200);
  return { userId: me.body.user.id, token, viaA, viaB: client(pair.b.url, token) };
}

/** The owner invites the user with this role (through A); the user accepts through B. */
async function join(owner: Person, user: Person, directoryId: number, role: 'manager' | 'editor' | 'viewer'): Promise<void> {
  const invite = await owner.viaA.post(`/api/directories/${directoryId}/invites`, { body: { role } });
  expect(invite.status).toBe(201);
  const accepted = await user.viaB.post(`/api/invites/${invite.body.invite.code}/accept`);
  expect(accepted.status).toBe(200);
  expect(accepted.body.role).toBe(role);
}

/** An owner with a directory of their own, its name unique to the test. */
async function ownerWithDirectory(pair: Pair): Promise<{ owner: Person; directoryId: number }> {
  const n = ++people;
  const owner = await person(pair, `owner-${n}`, `owner-${n}-phone`);
  return { owner, directoryId: await createDirectory(owner.viaA, `仓库 ${n}`) };
}

async function subscribeAll(sockets: TestSocket[], directoryId: number): Promise<void> {
  for (const socket of sockets) expect(await socket.request({ type: 'subscribe', directoryId, since: 0 })).toMatchObject({ ok: true });
}

/**
 * The subscription of each socket ends with `unsubscribed` for this reason. With the bus up the
 * membership or directory push comes with it; with the bus cut the push never crosses, and the periodic
 * check is what ends the subscription (whether the check also sends the lost push is not asked here).
 */
async function expectUnsubscribed(sockets: TestSocket[], directoryId: number, reason: 'removed' | 'deleted', event: 'unshared' | 'deleted', busUp: boolean): Promise<void> {
  for (const socket of sockets) {
    expect(await socket.next('unsubscribed')).toEqual({ type: 'unsubscribed', directoryId, reason });
    if (busUp) {
      const pushed = await socket.next((frame) => frame.type === 'directory' && frame.event === event);
      expect(pushed.directory).toMatchObject({ id: directoryId });
    }
  }
}

/** With the bus cut, both instances say so: nothing that reaches B from here on came through Redis. */
async function expectBus(pair: Pair): Promise<void> {
  for (const server of [pair.a, pair.b]) {
    const ready = await request(server.url, 'GET', '/readyz');
    expect(ready.body.bus).toBe(pair.busUp ? 'ok' : 'unavailable');
  }
}

/**
 * What a removed member's phone sends afterwards, over every transport and through both instances
 * (live scans, its offline outbox over HTTP and the socket, a read, a new subscription): every one is
 * refused with directory_not_found, and the directory's goods and revision are as they were.
 */
async function expectEverythingRefused(pair: Pair, owner: Person, user: Person, phone: TestSocket, directoryId: number, tag: string): Promise<void> {
  const before = await directoryState(owner.viaA, directoryId);
  const notFound = { ok: false, error: expect.objectContaining({ code: 'directory_not_found' }) };

  const acks = await Promise.all([1, 2, 3].map((n) => phone.request({ type: 'scan', id: `${tag}-ws-${n}`, directoryId, op: 'in', code: 'rice', qty: n })));
  for (const ack of acks) expect(ack).toMatchObject(notFound);
  const outbox = [1, 2, 3].map((n) => ({ eventId: `${tag}-outbox-${n}`, directoryId, op: 'in', code: 'rice', qty: n }));
  const socketSync = await phone.request({ type: 'sync', id: `${tag}-sync`, events: outbox.map((event) => ({ ...event, eventId: `${event.eventId}-ws` })) });
  expect(socketSync.ok).toBe(true);
  expect(socketSync.result.results).toEqual(outbox.map((event) => ({ eventId: `${event.eventId}-ws`, ...notFound })));

  for (const [via, api] of [
    ['a', user.viaA],
    ['b', user.viaB],
  ] as const) {
    const answers = await Promise.all([1, 2].map((n) => api.post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'rice', qty: n, eventId: `${tag}-http-${via}-${n}` } })));
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('directory_not_found');
    }
    const synced = await api.post('/api/sync', { body: { events: outbox.map((event) => ({ ...event, eventId: `${event.eventId}-${via}` })) } });
    expect(synced.status).toBe(200);
    expect(synced.body.results).toEqual(outbox.map((event) => ({ eventId: `${event.eventId}-${via}`, ...notFound })));
    const read = await api.get(`/api/directories/${directoryId}`);
    expect([read.status, read.body.error.code]).toEqual([404, 'directory_not_found']);
  }
  expect(await phone.request({ type: 'subscribe', directoryId })).toMatchObject(notFound);
  const listed = await user.viaB.get('/api/directories');
  expect(listed.body.directories.map((d: { id: number }) => d.id)).not.toContain(directoryId);

  const after = await directoryState(owner.viaA, directoryId);
  expect(after.directory.revision).toBe(before.directory.revision);
  expect(after.goods).toEqual(before.goods);
}

function revocationSuite(name: string, pair: () => Pair): void {
  const sockets: TestSocket[] = [];
  afterEach(() => closeAll(sockets));

  it(`${name}: a member removed through A loses the subscriptions of their sockets on B, and nothing they send afterwards applies`, async () => {
    const { a, b, busUp } = pair();
    const { owner, directoryId } = await ownerWithDirectory(pair());
    const member = await person(pair(), `member-${people}`, `member-${people}-phone`);
    await join(owner, member, directoryId, 'editor');
    // The member's phone and tablet (sessions of their own) on B; the owner watches on both instances.
    const memberTablet = await b.login(`member-${people}`, { deviceId: `member-${people}-tablet` });
    const phone = await connect(b.url, member.token);
    const tablet = await connect(b.url, memberTablet);
    const watchers = [await connect(a.url, owner.token), await connect(b.url, owner.token)];
    sockets.push(phone, tablet, ...watchers);
    await subscribeAll([phone, tablet, ...watchers], directoryId);

    // Before the removal the member scans like anyone, and sees the owner's scans made through A.
    expect((await owner.viaA.post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'rice', qty: 5 } })).status).toBe(200);
    expect(await phone.request({ type: 'scan', id: 'before-removal', directoryId, op: 'out', code: 'rice', qty: 1 })).toMatchObject({ ok: true, result: { revision: 2 } });
    for (const socket of [phone, tablet, ...watchers]) await socket.changesUpTo(directoryId, 2);

    await expectBus(pair());
    expect((await owner.viaA.delete(`/api/directories/${directoryId}/members/${member.userId}`)).status).toBe(204);
    await expectUnsubscribed([phone, tablet], directoryId, 'removed', 'unshared', busUp);
    // Still connected, no longer watching: the owner's next scan reaches the owner's watchers only.
    expect((await owner.viaA.post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'rice', qty: 1 } })).status).toBe(200);
    for (const watcher of watchers) expect((await watcher.changesUpTo(directoryId, 3)).map((frame) => frame.revision)).toEqual([1, 2, 3]);
    for (const socket of [phone, tablet]) expect(socket.revisions(directoryId)).toEqual([1, 2]);

    await expectEverythingRefused(pair(), owner, member, phone, directoryId, `removed-${busUp ? 'bus' : 'cut'}`);
    expect((await owner.viaB.get(`/api/directories/${directoryId}/members`)).body.members.map((m: { user: { id: number } }) => m.user.id)).toEqual([owner.userId]);
  });

  it(`${name}: a directory deleted by its owner ends every member's subscriptions, on both instances, with reason deleted`, async () => {
    const { a, b, busUp } = pair();
    const { owner, directoryId } = await ownerWithDirectory(pair());
    const editor = await person(pair(), `editor-${people}`, `editor-${people}-phone`);
    const viewer = await person(pair(), `viewer-${people}`, `viewer-${people}-phone`);
    await join(owner, editor, directoryId, 'editor');
    await join(owner, viewer, directoryId, 'viewer');
    const onA = [await connect(a.url, owner.token), await connect(a.url, editor.token), await connect(a.url, viewer.token)];
    const onB = [await connect(b.url, owner.token), await connect(b.url, editor.token), await connect(b.url, viewer.token)];
    sockets.push(...onA, ...onB);
    await subscribeAll([...onA, ...onB], directoryId);
    expect(await onB[1].request({ type: 'scan', id: 'before-delete', directoryId, op: 'in', code: 'tea', qty: 3 })).toMatchObject({ ok: true, result: { revision: 1 } });
    for (const socket of [...onA, ...onB]) await socket.changesUpTo(directoryId, 1);

    await expectBus(pair());
    expect((await owner.viaA.delete(`/api/directories/${directoryId}`)).status).toBe(204);
    // On A the push is this instance's own; on B it comes through the bus, or, with the bus cut, the check ends the subscriptions.
    for (const socket of onA) expect(await socket.next('unsubscribed')).toEqual({ type: 'unsubscribed', directoryId, reason: 'deleted' });
    for (const socket of onA) expect((await socket.next((frame) => frame.type === 'directory' && frame.event === 'deleted')).directory).toMatchObject({ id: directoryId });
    await expectUnsubscribed(onB, directoryId, 'deleted', 'deleted', busUp);

    const editorPhone = onB[1];
    expect(await editorPhone.request({ type: 'scan', id: 'after-delete', directoryId, op: 'in', code: 'tea' })).toMatchObject({ ok: false, error: { code: 'directory_not_found' } });
    for (const [who, api] of [
      ['owner', owner.viaB],
      ['editor', editor.viaA],
      ['viewer', viewer.viaB],
    ] as const) {
      const answer = await api.post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'tea', eventId: `after-delete-${who}` } });
      expect([answer.status, answer.body.error.code]).toEqual([404, 'directory_not_found']);
    }
    // The delete is the directory's last revision. Every socket that heard it live has it as its last
    // change, before `unsubscribed`; none has anything of the directory after it.
    for (const socket of busUp ? [...onA, ...onB] : onA) {
      expect(socket.changes(directoryId).map((frame) => [frame.revision, frame.change.type])).toEqual([
        [1, 'in'],
        [2, 'delete'],
      ]);
    }
    for (const socket of [...onA, ...onB]) {
      const lastChange = socket.received.map((frame) => frame.type === 'change' && frame.directoryId === directoryId).lastIndexOf(true);
      expect(lastChange).toBeLessThan(socket.received.findIndex((frame) => frame.type === 'unsubscribed'));
    }
  });
}

describe.each(testDatabases())('revoking access on two instances, on $name', (db) => {
  describe('with the bus up (REVISION_CHECK_MS an hour: only the bus can end a subscription)', () => {
    let pair: Pair;
    beforeAll(async () => {
      const env = { REDIS_URL: TEST_REDIS_URL, REDIS_CHANNEL: testChannel(), REVISION_CHECK_MS: '3600000' };
      const a = await startServer(db, { env });
      const b = await startServer(db, { env, deps: { orm: a.app.services.orm } });
      pair = { a, b, busUp: true };
    });
    afterAll(async () => {
      await pair.b.close();
      await pair.a.close();
    });
    revocationSuite('bus up', () => pair);
  });

  describe("with the bus cut (the instances' Redis stopped; REVISION_CHECK_MS 300 ms)", () => {
    let pair: Pair;
    let redis: PrivateRedis;
    beforeAll(async () => {
      redis = await startPrivateRedis();
      const env = { REDIS_URL: redis.url, REVISION_CHECK_MS: '300' };
      const a = await startServer(db, { env });
      const b = await startServer(db, { env, deps: { orm: a.app.services.orm } });
      pair = { a, b, busUp: false };
      // Nothing crosses between A and B from here on: B hears of A's changes, removals and deletions
      // only from the database, at its next check.
      await redis.stop();
    });
    afterAll(async () => {
      await pair.b.close();
      await pair.a.close();
    });
    revocationSuite('bus cut', () => pair);
  });
});
