import { startServer, type TestServer } from '../../helpers/app';
import { mysqlOnly, testDatabases } from '../../helpers/db';
import { all, allLogs, countOf, createDirectory, goodsPath, revisionOf, scan, signIn, type TestUser } from '../../helpers/inventory';
import { closeAll, connect, type Frame, type TestSocket } from '../../helpers/ws';

/**
 * SPEC "Warehouse operations", transfers: both sides in one transaction or neither, each side a revision
 * of its own directory with a Change carrying `transfer: {id, from, to}`, exactly once by event id.
 * Raced against each other and against scans of the same goods, counts stay non-negative and the stock of
 * A and B together is what the outs left; every watcher sees each revision once, in order.
 */

const CODE = 'G-001';

/** A socket subscribed to a directory from its current revision (so that it sees every change after it). */
async function watch(server: TestServer, user: TestUser, directoryId: number, sockets: TestSocket[]): Promise<{ socket: TestSocket; from: number }> {
  const socket = await connect(server.url, user.token);
  sockets.push(socket);
  const ack = await socket.request({ type: 'subscribe', directoryId, since: await revisionOf(user.api, directoryId) });
  expect(ack.ok).toBe(true);
  return { socket, from: ack.result.revision };
}

/** The revisions from `from + 1` to `to`, the only sequence a watcher may have seen. */
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + 1 + k);

/** Every goods count a frame carries (acks of scans and transfers, change frames). */
function countsIn(frame: Frame): number[] {
  if (frame.type === 'change') return frame.change.goods ? [frame.change.goods.count] : [];
  if (frame.type !== 'ack' || !frame.ok) return [];
  const r = frame.result;
  return [r.goods?.count, r.out?.goods?.count, r.in?.goods?.count].filter((c): c is number => typeof c === 'number');
}

describe.each(testDatabases())('transfers on $name', (db) => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  beforeAll(async () => (server = await startServer(db)));
  afterAll(async () => server.close());
  afterEach(async () => closeAll(sockets));

  it('20 sockets transfer the last 100 units while others scan out: never negative, conserved, every watcher sees every revision once, exactly once by event id', async () => {
    const owner = await signIn(server, 'race-owner');
    const a = await createDirectory(owner.api, 'race-A');
    const b = await createDirectory(owner.api, 'race-B');
    expect((await scan(owner.api, a, { op: 'in', code: CODE, qty: 100, name: '矿泉水', remarks: '550ml' })).status).toBe(200);
    expect((await scan(owner.api, b, { op: 'in', code: CODE, qty: 7 })).status).toBe(200);
    const total = 107;

    const watchers = [
      ...(await Promise.all([0, 1].map(() => watch(server, owner, a, sockets)))).map((w) => ({ ...w, directoryId: a })),
      ...(await Promise.all([0, 1].map(() => watch(server, owner, b, sockets)))).map((w) => ({ ...w, directoryId: b })),
    ];
    const movers = await all(20, () => connect(server.url, owner.token));
    const outers = await all(5, () => connect(server.url, owner.token));
    sockets.push(...movers, ...outers);

    // Each mover sends transfers (qty 5, or 1..9 on odd sockets) until A cannot cover one; each outer
    // scans out 1..3 at a time likewise. Bounded: 100 units cannot feed more than 100 successes.
    const sent: { eventId: string; qty: number; ack: Frame }[] = [];
    const outs: { qty: number; ack: Frame }[] = [];
    await Promise.all([
      ...movers.map(async (socket, m) => {
        for (let k = 0; k < 40; k++) {
          const qty = m % 2 === 0 ? 5 : 1 + ((m + k) % 9);
          const eventId = `race-t-${m}-${k}`;
          const ack = await socket.request({ type: 'transfer', id: eventId, from: a, to: b, code: CODE, qty });
          sent.push({ eventId, qty, ack });
          if (!ack.ok) {
            expect(ack.error).toMatchObject({ code: 'insufficient_stock', count: expect.any(Number) });
            expect(ack.error.count).toBeLessThan(qty);
            if (ack.error.count === 0) break;
          }
        }
      }),
      ...outers.map(async (socket, o) => {
        for (let k = 0; k < 60; k++) {
          const qty = 1 + ((o + k) % 3);
          const ack = await socket.request({ type: 'scan', id: `race-o-${o}-${k}`, directoryId: a, op: 'out', code: CODE, qty });
          outs.push({ qty, ack });
          if (!ack.ok) {
            expect(ack.error).toMatchObject({ code: 'insufficient_stock' });
            if (ack.error.count === 0) break;
          }
        }
      }),
    ]);

    const moved = sent.filter((t) => t.ack.ok);
    const taken = outs.filter((o) => o.ack.ok).reduce((sum, o) => sum + o.qty, 0);
    const transferred = moved.reduce((sum, t) => sum + t.qty, 0);
    expect(moved.length).toBeGreaterThan(0);
    const countA = (await countOf(owner.api, a, CODE)) as number;
    const countB = (await countOf(owner.api, b, CODE)) as number;
    expect(countA).toBe(100 - transferred - taken);
    expect(countB).toBe(7 + transferred);
    expect(countA + countB).toBe(total - taken);
    expect(countA).toBeGreaterThanOrEqual(0);
    for (const socket of sockets) for (const frame of socket.received) for (const count of countsIn(frame)) expect(count).toBeGreaterThanOrEqual(0);

    // Every watcher: each revision after the one it subscribed at, once, in order, up to the last.
    const finalA = await revisionOf(owner.api, a);
    const finalB = await revisionOf(owner.api, b);
    expect(finalB - watchers[2].from).toBe(moved.length);
    for (const { socket, from, directoryId } of watchers) {
      const last = directoryId === a ? finalA : finalB;
      await socket.changesUpTo(directoryId, last);
      expect(socket.revisions(directoryId)).toEqual(range(from, last));
    }

    // Each transfer: one side in each directory, at the revisions its ack named, with the same id.
    const changesOf = (directoryId: number) =>
      new Map(
        watchers
          .find((w) => w.directoryId === directoryId)!
          .socket.changes(directoryId)
          .map((f) => [f.revision as number, f.change]),
      );
    const seenA = changesOf(a);
    const seenB = changesOf(b);
    for (const { qty, ack } of moved) {
      const { transferId, out, in: into } = ack.result;
      const side = { transfer: { id: transferId, from: a, to: b } };
      expect(seenA.get(out.revision)).toMatchObject({ type: 'out', code: CODE, delta: -qty, ...side });
      expect(seenB.get(into.revision)).toMatchObject({ type: 'in', code: CODE, delta: qty, ...side });
    }
    expect(new Set(moved.map((t) => t.ack.result.transferId)).size).toBe(moved.length);
    expect([...seenA.values()].filter((c) => c.transfer).length).toBe(moved.length);
    expect([...seenB.values()].filter((c) => c.transfer).length).toBe(moved.length);

    // Every event id again, half over HTTP and half over a socket: the first outcome, applied once.
    const again = movers[0];
    for (const [k, { eventId, qty, ack }] of sent.entries()) {
      let body;
      if (k % 2 === 0) body = (await owner.api.post('/api/transfers', { body: { from: a, to: b, code: CODE, qty, eventId } })).body;
      else {
        const answer = await again.request({ type: 'transfer', id: eventId, from: a, to: b, code: CODE, qty });
        body = answer.ok ? answer.result : { error: answer.error };
      }
      if (ack.ok) {
        expect(body).toMatchObject({ transferId: ack.result.transferId, duplicate: true, out: { revision: ack.result.out.revision }, in: { revision: ack.result.in.revision } });
      } else {
        expect(body.error).toMatchObject({ code: 'insufficient_stock', count: ack.error.count, duplicate: true });
      }
    }
    expect(await countOf(owner.api, a, CODE)).toBe(countA);
    expect(await countOf(owner.api, b, CODE)).toBe(countB);
    expect(await revisionOf(owner.api, a)).toBe(finalA);
    expect(await revisionOf(owner.api, b)).toBe(finalB);
  });

  it('is refused as a whole when `from` lacks stock or the goods, changing nothing in either directory; from == to is 400', async () => {
    const owner = await signIn(server, 'refusal-owner');
    const a = await createDirectory(owner.api, 'ref-A');
    const b = await createDirectory(owner.api, 'ref-B');
    await scan(owner.api, a, { op: 'in', code: CODE, qty: 3 });
    const [revA, revB] = [await revisionOf(owner.api, a), await revisionOf(owner.api, b)];

    const short = await owner.api.post('/api/transfers', { body: { from: a, to: b, code: CODE, qty: 4, eventId: 'ref-short' } });
    expect([short.status, short.body.error]).toEqual([409, expect.objectContaining({ code: 'insufficient_stock', count: 3 })]);
    const unknown = await owner.api.post('/api/transfers', { body: { from: a, to: b, code: 'NOPE', qty: 1 } });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'goods_not_found']);
    const socket = await connect(server.url, owner.token);
    sockets.push(socket);
    const overSocket = await socket.request({ type: 'transfer', id: 'ref-socket', from: a, to: b, code: CODE, qty: 5 });
    expect([overSocket.ok, overSocket.error]).toEqual([false, expect.objectContaining({ code: 'insufficient_stock', count: 3 })]);
    const same = await owner.api.post('/api/transfers', { body: { from: a, to: a, code: CODE, qty: 1 } });
    expect([same.status, same.body.error.code]).toEqual([400, 'bad_request']);

    expect(await countOf(owner.api, a, CODE)).toBe(3);
    expect(await countOf(owner.api, b, CODE)).toBeNull();
    expect(await countOf(owner.api, b, 'NOPE')).toBeNull();
    expect([await revisionOf(owner.api, a), await revisionOf(owner.api, b)]).toEqual([revA, revB]);
    expect((await owner.api.get(`/api/directories/${b}/changes?since=0`)).body.changes).toEqual([]);

    // The refusal is remembered: the same event id answers it again, even now that A has the stock.
    await scan(owner.api, a, { op: 'in', code: CODE, qty: 10 });
    const replay = await owner.api.post('/api/transfers', { body: { from: a, to: b, code: CODE, qty: 4, eventId: 'ref-short' } });
    expect(replay.body.error).toMatchObject({ code: 'insufficient_stock', count: 3, duplicate: true });
    expect(await countOf(owner.api, b, CODE)).toBeNull();
  });

  it('a goods new in `to` takes the name and remarks of `from`; one there already keeps its own', async () => {
    const owner = await signIn(server, 'names-owner');
    const a = await createDirectory(owner.api, 'names-A');
    const b = await createDirectory(owner.api, 'names-B');
    await scan(owner.api, a, { op: 'in', code: 'N1', qty: 5, name: '苹果', remarks: '红富士' });
    await scan(owner.api, a, { op: 'in', code: 'N2', qty: 5, name: '梨', remarks: '雪梨' });
    await scan(owner.api, b, { op: 'in', code: 'N2', qty: 1, name: '梨子', remarks: '本店' });

    const fresh = await owner.api.post('/api/transfers', { body: { from: a, to: b, code: 'N1', qty: 2 } });
    expect(fresh.status).toBe(200);
    expect(fresh.body.in).toMatchObject({ created: true, delta: 2, goods: { code: 'N1', name: '苹果', remarks: '红富士', count: 2 } });
    expect(fresh.body.out).toMatchObject({ created: false, delta: -2, goods: { code: 'N1', count: 3 } });
    expect((await owner.api.get(goodsPath(b, 'N1'))).body.goods).toMatchObject({ name: '苹果', remarks: '红富士', count: 2 });

    const existing = await owner.api.post('/api/transfers', { body: { from: a, to: b, code: 'N2', qty: 2 } });
    expect(existing.body.in).toMatchObject({ created: false, goods: { name: '梨子', remarks: '本店', count: 3 } });
  });
});

const [mariadb] = mysqlOnly();
(mariadb ? describe : describe.skip)('a transfer and its reverse racing on MariaDB', () => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  beforeAll(async () => (server = await startServer(mariadb)));
  afterAll(async () => server.close());
  afterEach(async () => closeAll(sockets));

  it('never deadlock: A→B and B→A from many sockets with scans on both, no failure, totals conserved', async () => {
    const owner = await signIn(server, 'deadlock-owner');
    const a = await createDirectory(owner.api, 'dl-A');
    const b = await createDirectory(owner.api, 'dl-B');
    // Plenty on both sides: no transfer or out may be refused, so any refusal is a failure.
    await scan(owner.api, a, { op: 'in', code: CODE, qty: 100_000 });
    await scan(owner.api, b, { op: 'in', code: CODE, qty: 100_000 });
    await scan(owner.api, a, { op: 'in', code: 'OTHER', qty: 1000 });

    const ROUNDS = 22; // about 10 s of this on the shared MariaDB
    const forward = await all(8, () => connect(server.url, owner.token));
    const backward = await all(8, () => connect(server.url, owner.token));
    const scanners = await all(4, () => connect(server.url, owner.token));
    sockets.push(...forward, ...backward, ...scanners);
    const failures: Frame[] = [];
    let scanned = 0; // the ins less the outs, over both directories
    await Promise.all([
      ...[...forward.map((s) => [s, a, b] as const), ...backward.map((s) => [s, b, a] as const)].map(async ([socket, from, to], m) => {
        for (let k = 0; k < ROUNDS; k++) {
          // Two in flight per socket: the transactions overlap the more.
          const acks = await Promise.all([0, 1].map((j) => socket.request({ type: 'transfer', id: `dl-${m}-${k}-${j}`, from, to, code: CODE, qty: 1 + ((m + k + j) % 4) })));
          failures.push(...acks.filter((ack) => !ack.ok));
        }
      }),
      ...scanners.map(async (socket, s) => {
        for (let k = 0; k < ROUNDS; k++) {
          const directoryId = (s + k) % 2 === 0 ? a : b;
          const op = k % 2 === 0 ? 'in' : 'out';
          const ack = await socket.request({ type: 'scan', id: `dl-s-${s}-${k}`, directoryId, op, code: k % 5 === 0 ? 'OTHER' : CODE, qty: 2 });
          if (!ack.ok) failures.push(ack);
          else if (ack.result.goods.code === CODE) scanned += op === 'in' ? 2 : -2;
        }
      }),
    ]);
    expect(failures).toEqual([]);
    const countA = (await countOf(owner.api, a, CODE)) as number;
    const countB = (await countOf(owner.api, b, CODE)) as number;
    expect(countA + countB).toBe(200_000 + scanned);
    expect((await owner.api.get('/readyz')).status).toBe(200);

    // Every transfer left one side in each directory's log.
    const transfers = 16 * ROUNDS * 2;
    for (const directoryId of [a, b]) {
      const sides = (await allLogs(owner.api, directoryId)).filter((entry) => entry.transfer);
      expect(sides.length).toBe(transfers);
      expect(new Set(sides.map((entry) => entry.transfer.id)).size).toBe(transfers);
    }
  });
});
