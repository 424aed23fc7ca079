import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client, type Answer } from '../../helpers/http';
import { createDirectory, goodsPath, scan, signIn, type Api, type TestUser } from '../../helpers/inventory';
import { TEST_REDIS_URL, testChannel } from '../../helpers/redis';
import { closeAll, connect, type Frame, type TestSocket } from '../../helpers/ws';

/**
 * SPEC "Warehouse operations", low stock: a goods' minCount, set by PATCH; a change that takes its count
 * from at least minCount to below it carries `lowStock: true` and sends an `alert` to every socket of
 * every member of the directory, subscribed or not, once per crossing; GET /api/alerts lists the low
 * goods of the user's directories. Two instances over Redis, the periodic check an hour away, so that an
 * alert reaching a socket on the other instance came through the bus.
 */

async function join(owner: TestUser, directoryId: number, user: TestUser, role: 'editor' | 'viewer'): Promise<void> {
  const invite = await owner.api.post(`/api/directories/${directoryId}/invites`, { body: { role } });
  if (invite.status !== 201) throw new Error(`invite failed: ${invite.status} ${invite.text}`);
  const accepted = await user.api.post(`/api/invites/${invite.body.invite.code}/accept`);
  if (accepted.status !== 200) throw new Error(`accept failed: ${accepted.status} ${accepted.text}`);
}

async function setMinCount(api: Api, directoryId: number, code: string, minCount: number): Promise<void> {
  const answer = await api.patch(goodsPath(directoryId, code), { body: { minCount } });
  expect(answer.status).toBe(200);
  expect(answer.body.goods).toMatchObject({ code, minCount });
}

async function scanned(api: Api, directoryId: number, op: string, code: string, qty: number): Promise<Answer> {
  const answer = await scan(api, directoryId, { op, code, qty });
  if (answer.status !== 200) throw new Error(`scan failed: ${answer.status} ${answer.text}`);
  return answer;
}

const alertsOf = (socket: TestSocket, code?: string) => socket.received.filter((f) => f.type === 'alert' && (code === undefined || f.goods.code === code));
/** The revisions after `since` and whether each carries lowStock, from GET changes. */
async function lowStockFlags(api: Api, directoryId: number, since: number): Promise<[string, number, boolean][]> {
  const answer = await api.get(`/api/directories/${directoryId}/changes?since=${since}`);
  expect(answer.status).toBe(200);
  return answer.body.changes.map((c: Frame) => [c.code, c.goods?.count, c.lowStock === true]);
}

describe.each(testDatabases())('low-stock alerts on two instances over Redis, on $name', (db) => {
  let first: TestServer;
  let second: TestServer;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_CHANNEL: testChannel(), REVISION_CHECK_MS: '3600000' };
    first = await startServer(db, { env });
    second = await startServer(db, { env, deps: { orm: first.app.services.orm } });
  });
  afterEach(() => closeAll(sockets));
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  const open = async (server: TestServer, user: TestUser, subscribeTo?: number) => {
    const socket = await connect(server.url, user.token);
    sockets.push(socket);
    if (subscribeTo !== undefined) expect((await socket.request({ type: 'subscribe', directoryId: subscribeTo })).ok).toBe(true);
    return socket;
  };
  /** Waits until every socket has at least `n` alerts of `code`. */
  const alerted = (members: TestSocket[], code: string, n: number) => Promise.all(members.map((s) => s.until(() => alertsOf(s, code).length >= n, `${n} alerts of ${code}`)));

  it("marks the change that crosses below minCount and alerts every member's sockets on both instances, subscribed or not, once per crossing", async () => {
    const owner = await signIn(first, 'low-owner');
    const editor = await signIn(first, 'low-editor');
    const viewer = await signIn(first, 'low-viewer');
    const stranger = await signIn(first, 'low-stranger');
    const directoryId = await createDirectory(owner.api, '小卖部');
    await join(owner, directoryId, editor, 'editor');
    await join(owner, directoryId, viewer, 'viewer');
    const editorOnSecond = client(second.url, editor.token);

    await scanned(owner.api, directoryId, 'in', 'X', 10);
    await scanned(owner.api, directoryId, 'in', 'Y', 3);
    await setMinCount(owner.api, directoryId, 'X', 5);
    await setMinCount(editorOnSecond, directoryId, 'Y', 3);
    const start = (await owner.api.get(`/api/directories/${directoryId}`)).body.directory.revision as number;

    const watching = [await open(first, owner, directoryId), await open(second, viewer, directoryId)];
    // Not subscribed to anything; the owner's and the editor's on the other instance.
    const idle = [await open(second, owner), await open(second, editor), await open(first, viewer)];
    const members = [...watching, ...idle];
    const strangers = [await open(first, stranger), await open(second, stranger)];

    // X: 10 → 5 (at minCount: not low) → 4 (crosses) → 2 → 0 → 3 (still low, quiet) → 6 (up again)
    // → 4 (crosses again) → 5 → 0 (crosses from exactly minCount) → set 10 → set 1 (crosses).
    const x = (api: Api, op: string, qty: number) => scanned(api, directoryId, op, 'X', qty);
    await x(owner.api, 'out', 5);
    const crossing = await x(editorOnSecond, 'out', 1);
    expect(crossing.body.goods).toMatchObject({ code: 'X', count: 4, minCount: 5 });
    await x(owner.api, 'out', 2);
    await x(editorOnSecond, 'out', 2);
    await x(owner.api, 'in', 3);
    await x(editorOnSecond, 'in', 3);
    await x(owner.api, 'out', 2);
    // Two in one offline batch.
    const batch = await editorOnSecond.post('/api/sync', {
      body: {
        events: [
          { eventId: 'low-1', directoryId, op: 'in', code: 'X', qty: 1 },
          { eventId: 'low-2', directoryId, op: 'out', code: 'X', qty: 5 },
        ],
      },
    });
    expect(batch.body.results.map((r: Frame) => r.ok && r.result.goods.count)).toEqual([5, 0]);
    await x(owner.api, 'set', 10);
    await x(owner.api, 'set', 1);

    expect(await lowStockFlags(owner.api, directoryId, start)).toEqual([
      ['X', 5, false],
      ['X', 4, true],
      ['X', 2, false],
      ['X', 0, false],
      ['X', 3, false],
      ['X', 6, false],
      ['X', 4, true],
      ['X', 5, false],
      ['X', 0, true],
      ['X', 10, false],
      ['X', 1, true],
    ]);
    // The subscribed sockets see the same Changes, lowStock and all, on either instance.
    for (const socket of watching) {
      const frames = await socket.changesUpTo(directoryId, start + 11);
      expect(frames.filter((f) => f.change.lowStock).map((f) => f.change.goods.count)).toEqual([4, 4, 0, 1]);
    }
    // And so does a socket that subscribes later and has them replayed from the log.
    const late = await open(second, editor);
    expect((await late.request({ type: 'subscribe', directoryId, since: start })).ok).toBe(true);
    const replayed = await late.changesUpTo(directoryId, start + 11);
    expect(replayed.filter((f) => f.change.lowStock).map((f) => f.change.goods.count)).toEqual([4, 4, 0, 1]);

    // Then Y crosses (3 → 2): once its alert has reached every member, so have X's, and nothing more.
    await scanned(owner.api, directoryId, 'out', 'Y', 1);
    await alerted(members, 'Y', 1);
    await alerted(members, 'X', 4);
    for (const socket of members) {
      expect(
        alertsOf(socket, 'X')
          .map((f) => f.goods.count)
          .sort(),
      ).toEqual([0, 1, 4, 4]);
      expect(alertsOf(socket)).toHaveLength(5);
      for (const f of alertsOf(socket)) expect(f).toMatchObject({ type: 'alert', kind: 'low_stock', directoryId, goods: { minCount: f.goods.code === 'X' ? 5 : 3 } });
    }
    expect(alertsOf(idle[0], 'Y')[0].goods).toMatchObject({ code: 'Y', count: 2, minCount: 3 });
    for (const socket of strangers) expect(alertsOf(socket)).toEqual([]);
  });

  it('shows a set minCount wherever the goods is shown: the directory, the lookup, a subscribe snapshot and the Changes', async () => {
    const u = await signIn(first, 'shown-u');
    const directoryId = await createDirectory(u.api, '门店');
    await scanned(u.api, directoryId, 'in', 'watched', 4);
    await scanned(u.api, directoryId, 'in', 'plain', 4);
    await setMinCount(u.api, directoryId, 'watched', 3);

    const listed = await u.api.get(`/api/directories/${directoryId}`);
    expect(listed.body.goods.map((g: Frame) => [g.code, g.minCount])).toEqual([
      ['watched', 3],
      ['plain', undefined],
    ]);
    expect((await u.api.get(goodsPath(directoryId, 'watched'))).body.goods).toMatchObject({ code: 'watched', count: 4, minCount: 3 });
    const socket = await open(second, u, directoryId);
    const snapshot = await socket.next('snapshot');
    expect(snapshot.goods.map((g: Frame) => [g.code, g.minCount])).toEqual([
      ['watched', 3],
      ['plain', undefined],
    ]);
    // A change live on the socket and every change read from the log carry the goods' minCount as of it.
    const after = await scanned(u.api, directoryId, 'out', 'watched', 1);
    const live = (await socket.changesUpTo(directoryId, after.body.revision)).find((f) => f.revision === after.body.revision);
    expect(live?.change.goods).toMatchObject({ code: 'watched', count: 3, minCount: 3 });
    const logged = await u.api.get(`/api/directories/${directoryId}/changes?since=0`);
    expect(logged.body.changes.map((c: Frame) => [c.type, c.goods.code, c.goods.minCount])).toEqual([
      ['in', 'watched', undefined],
      ['in', 'plain', undefined],
      ['edit', 'watched', 3],
      ['out', 'watched', 3],
    ]);
  });

  it('lists the low goods of every directory the user is a member of in GET /api/alerts, and of no other', async () => {
    const u = await signIn(first, 'list-u');
    const v = await signIn(first, 'list-v');
    const w = await signIn(first, 'list-w');
    const own = await createDirectory(u.api, 'u 的店');
    const shared = await createDirectory(v.api, 'v 的店');
    const foreign = await createDirectory(w.api, 'w 的店');
    await join(v, shared, u, 'editor');

    await scanned(u.api, own, 'in', 'low', 3);
    await setMinCount(u.api, own, 'low', 2);
    await scanned(u.api, own, 'out', 'low', 2); // 1 < 2
    await scanned(u.api, own, 'in', 'at-min', 5);
    await setMinCount(u.api, own, 'at-min', 5); // 5 is not below 5
    await scanned(u.api, own, 'set', 'no-min', 0); // minCount 0: never low
    // A threshold set above the count makes the goods low (no change of count, so no alert push).
    await scanned(v.api, shared, 'set', 'empty', 0);
    await setMinCount(u.api, shared, 'empty', 1);
    await scanned(w.api, foreign, 'in', 'theirs', 1);
    await setMinCount(w.api, foreign, 'theirs', 10);

    const listed = async (user: TestUser, server: TestServer = first) => {
      const answer = await client(server.url, user.token).get('/api/alerts');
      expect(answer.status).toBe(200);
      return answer.body.alerts.map((a: Frame) => [a.directoryId, a.goods.code, a.goods.count, a.goods.minCount]);
    };
    expect(await listed(u)).toEqual([
      [own, 'low', 1, 2],
      [shared, 'empty', 0, 1],
    ]);
    expect(await listed(u, second)).toEqual(await listed(u));
    expect(await listed(v)).toEqual([[shared, 'empty', 0, 1]]);
    expect(await listed(w, second)).toEqual([[foreign, 'theirs', 1, 10]]);

    // Back above its threshold, a goods leaves the list; a deleted directory takes its goods with it.
    await scanned(u.api, own, 'in', 'low', 1);
    expect(await listed(u)).toEqual([[shared, 'empty', 0, 1]]);
    expect((await v.api.delete(`/api/directories/${shared}`)).status).toBe(204);
    expect(await listed(u)).toEqual([]);
    expect(await listed(v)).toEqual([]);
  });

  it('alerts for a transfer out of a directory and for a count finish that cross below minCount', async () => {
    const owner = await signIn(first, 'cross-owner');
    const editor = await signIn(first, 'cross-editor');
    const store = await createDirectory(owner.api, '后仓');
    const shop = await createDirectory(owner.api, '前店');
    await join(owner, store, editor, 'editor');
    for (const [code, count, minCount] of [
      ['X', 6, 5],
      ['Z', 10, 5],
      ['W', 8, 2],
      ['V', 1, 3],
      ['Q', 3, 3],
    ] as const) {
      await scanned(owner.api, store, 'in', code, count);
      await setMinCount(owner.api, store, code, minCount);
    }
    const start = (await owner.api.get(`/api/directories/${store}`)).body.directory.revision as number;
    // Neither socket subscribed; both on the other instance.
    const members = [await open(second, owner), await open(second, editor)];

    // A transfer takes X from 6 to 4 in the store: its out side crosses; the in side of the shop does not.
    const transfer = await client(second.url, owner.token).post('/api/transfers', { body: { from: store, to: shop, code: 'X', qty: 2 } });
    expect(transfer.status).toBe(200);
    await alerted(members, 'X', 1);
    expect(alertsOf(members[1], 'X')[0]).toMatchObject({ directoryId: store, goods: { code: 'X', count: 4, minCount: 5 } });
    expect((await owner.api.get(`/api/directories/${shop}/changes?since=0`)).body.changes).toEqual([expect.not.objectContaining({ lowStock: true })]);

    // A count: Z counted 3 (10 → 3 crosses), the rest uncounted and zeroed: W 8 → 0 crosses, V (1, low
    // already) and X (4, low already) go to 0 quietly, Q 3 → 0 crosses from exactly its minCount.
    const count = await client(second.url, editor.token).post(`/api/directories/${store}/counts`, { body: {} });
    expect(count.status).toBe(201);
    expect((await editor.api.post(`/api/counts/${count.body.count.id}/lines`, { body: { code: 'Z', qty: 3 } })).status).toBe(200);
    expect((await editor.api.post(`/api/counts/${count.body.count.id}/finish`, { body: { zeroMissing: true } })).status).toBe(200);
    const flags = await lowStockFlags(owner.api, store, start);
    expect(flags[0]).toEqual(['X', 4, true]);
    expect(flags.slice(1).sort()).toEqual([
      ['Q', 0, true],
      ['V', 0, false],
      ['W', 0, true],
      ['X', 0, false],
      ['Z', 3, true],
    ]);
    for (const code of ['Q', 'W', 'Z']) await alerted(members, code, 1);
    // And once they are in, a last crossing elsewhere: when its alert is in, nothing else came.
    await scanned(owner.api, shop, 'in', 'last', 1);
    await setMinCount(owner.api, shop, 'last', 1);
    await scanned(owner.api, shop, 'out', 'last', 1);
    await alerted(members.slice(0, 1), 'last', 1);
    expect(
      alertsOf(members[0])
        .map((f) => `${f.directoryId === store ? 'store' : 'shop'}:${f.goods.code}:${f.goods.count}`)
        .sort(),
    ).toEqual(['shop:last:0', 'store:Q:0', 'store:W:0', 'store:X:4', 'store:Z:3']);
    // The editor is no member of the shop: its alert went to the owner only.
    expect(
      alertsOf(members[1])
        .map((f) => `${f.goods.code}:${f.goods.count}`)
        .sort(),
    ).toEqual(['Q:0', 'W:0', 'X:4', 'Z:3']);
  });
});
