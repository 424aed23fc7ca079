import type { FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';
import { buildApp } from '../../../src/app';
import { SNAPSHOT_PAGE_BYTES } from '../../../src/contract';
import { directoryWithGoods, editGoods, removeGoods } from '../../../src/modules/inventory/goods';
import { applyScan } from '../../../src/modules/inventory/scan';
import type { Actor, GoodsView } from '../../../src/modules/inventory/views';
import { startServer, type TestServer } from '../../helpers/app';
import { eventually } from '../../helpers/client';
import { client } from '../../helpers/http';
import { testDatabases } from '../../helpers/db';
import { closeAll, connect, type Frame, type TestSocket } from '../../helpers/ws';

/** The longest code (any QR code), in three spellings of very different sizes on the wire. */
const CODE_CHARS = 7089;
const GOODS = 300;
/** A paced socket holds its queue under 256 KiB: well below where the kernel's buffers leave off. */
const LOW_WATER_BYTES = 256 * 1024;
const MAX_QUEUED = 1024 * 1024;
const CROWD = 20;

/** Goods `i`'s code: CJK (3 bytes each in UTF-8), ASCII, or GS1 separators (6 bytes each in JSON). */
function longCode(i: number): string {
  const prefix = `${i}:`;
  const fill = ['码', 'A', '\u001d'][i % 3];
  return prefix + fill.repeat(CODE_CHARS - prefix.length);
}

type Paused = TestSocket & { pause(): void; resume(): void };

/** The UTF-8 size of every snapshot frame a socket receives, in order. */
function pageSizes(socket: TestSocket): number[] {
  const sizes: number[] = [];
  socket.ws.on('message', (data: Buffer) => {
    if (data.subarray(0, 18).toString() === '{"type":"snapshot"') sizes.push(data.length);
  });
  return sizes;
}

const snapshotPages = (socket: TestSocket, directoryId: number) => socket.received.filter((f) => f.type === 'snapshot' && f.directoryId === directoryId);
const hasWholeSnapshot = (socket: TestSocket, directoryId: number) => snapshotPages(socket, directoryId).some((f) => f.last === true);

/**
 * What a client makes of the frames of one directory: a snapshot (all its pages), then each change over
 * it; or, resuming from `since` 0 (a directory is empty at its creation), the changes alone.
 */
function replayed(frames: Frame[], directoryId: number, since?: 0): { revision: number | null; goods: Map<string, GoodsView> } {
  let goods = new Map<string, GoodsView>();
  let pages: GoodsView[] = [];
  let revision: number | null = since ?? null;
  for (const frame of frames.filter((f) => f.directoryId === directoryId)) {
    if (frame.type === 'snapshot') {
      if (frame.page === 0) pages = [];
      pages.push(...frame.goods);
      if (frame.last) {
        goods = new Map(pages.map((g) => [g.code, g]));
        revision = frame.revision;
      }
    } else if (frame.type === 'change') {
      expect(frame.revision).toBe((revision ?? -2) + 1);
      revision = frame.revision;
      if (frame.change.type === 'remove') goods.delete(frame.change.code);
      else if (frame.change.goods) goods.set(frame.change.goods.code, frame.change.goods);
    }
  }
  return { revision, goods };
}

/** The pages of one snapshot: numbered from 0, one revision, `last` on the final one alone, each within the bound. */
function expectWellFormedPages(pages: Frame[], sizes: number[]): void {
  expect(pages.map((p) => p.page)).toEqual(pages.map((_, i) => i));
  expect(pages.map((p) => p.last)).toEqual(pages.map((_, i) => i === pages.length - 1));
  expect(new Set(pages.map((p) => p.revision)).size).toBe(1);
  expect(pages.every((p) => p.goods.length >= 1)).toBe(true);
  expect(sizes).toHaveLength(pages.length);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(SNAPSHOT_PAGE_BYTES);
}

describe.each(testDatabases())('snapshots and replays paced by the client, on $name', (db) => {
  let server: TestServer;
  /** A second app on the same database that gives a client half a second to read its next frame. */
  let strict: FastifyInstance;
  let strictUrl: string;
  let token: string;
  let actor: Actor;
  let directoryId: number;
  const sockets: TestSocket[] = [];
  const paused: Paused[] = [];

  const serverState = async (app: FastifyInstance = server.app) => {
    const { directory, goods } = await directoryWithGoods(app.services.em(), actor.userId, { directoryId, role: 'owner' });
    return { revision: directory.revision, goods: new Map(goods.map((g) => [g.code, g])) };
  };
  const open = async (url: string) => {
    const socket = await connect(url, token);
    sockets.push(socket);
    return socket;
  };
  /** A socket whose TCP reading can be stopped and started, as a phone that stops reading. */
  const openPausable = async (url: string): Promise<Paused> => {
    const socket = await open(url);
    const tcp = (socket.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    const made = Object.assign(socket, { pause: () => tcp.pause(), resume: () => tcp.resume() });
    paused.push(made);
    return made;
  };

  beforeAll(async () => {
    // Patient: a paused phone keeps its place in the snapshot for the whole test.
    server = await startServer(db, { deps: { realtime: { readTimeoutMs: 30_000 } } });
    strict = await buildApp(server.config, { realtime: { readTimeoutMs: 500, maxQueuedBytes: MAX_QUEUED } });
    await strict.listen({ host: '127.0.0.1', port: 0 });
    strictUrl = `http://127.0.0.1:${(strict.server.address() as { port: number }).port}`;
    token = await server.login('bulk');
    const me = (await client(server.url, token).get('/api/me')).body;
    actor = { userId: me.user.id, deviceId: null };
    directoryId = me.directories[0].id;
    // About 7 MiB of goods on the wire: far more than one frame, and more than loopback's buffers take.
    const inventory = server.app.services.inventory();
    for (let i = 0; i < GOODS; i += 100) {
      const batch = Array.from({ length: Math.min(100, GOODS - i) }, (_, j) =>
        applyScan(inventory, actor, { directoryId, op: 'in', code: longCode(i + j), qty: 1 + ((i + j) % 7), name: `货${i + j}` }),
      );
      await Promise.all(batch);
    }
  });
  afterEach(async () => {
    // A paused socket would never read the server's answer to its close.
    for (const socket of paused.splice(0)) socket.resume();
    await closeAll(sockets);
  });
  afterAll(async () => {
    await strict.close();
    await server.close();
  });

  it('reads the snapshot from the database a page at a time as the phone takes it; with the changes made meanwhile after its last page, the phone has the directory exactly', async () => {
    const before = await serverState();
    const bytes = [...before.goods.values()].reduce((sum, g) => sum + Buffer.byteLength(JSON.stringify(g)), 0);
    expect(bytes).toBeGreaterThan(6 * 1024 * 1024);

    // A phone that reads the first page, then nothing: the server waits for it with the rest unread.
    const holder = await openPausable(server.url);
    const holderSizes = pageSizes(holder);
    expect((await holder.request({ type: 'subscribe', directoryId })).result).toEqual({ revision: before.revision });
    await holder.next('snapshot');
    holder.pause();
    const waiting = () => [...server.app.websocketServer.clients].some((ws) => ws.bufferedAmount >= LOW_WATER_BYTES);
    await eventually(waiting, 'the server to wait for the paused phone', 20_000);
    expect(hasWholeSnapshot(holder, directoryId)).toBe(false);

    // Changes while that snapshot is being sent, to goods it has sent (the first ones) and to goods it
    // has yet to read (the last ones): counts, a rename, removals, a code removed and scanned again, a new code.
    const inventory = server.app.services.inventory();
    const [sent, unsent] = [(i: number) => longCode(i), (i: number) => longCode(GOODS - 1 - i)];
    await applyScan(inventory, actor, { directoryId, op: 'out', code: sent(0), qty: 1 });
    await applyScan(inventory, actor, { directoryId, op: 'in', code: unsent(0), qty: 3 });
    await editGoods(inventory, actor, directoryId, unsent(0), { name: '改名' }, 'editor');
    await removeGoods(inventory, actor, directoryId, unsent(1), undefined, 'editor');
    await removeGoods(inventory, actor, directoryId, sent(1), undefined, 'editor');
    await applyScan(inventory, actor, { directoryId, op: 'in', code: sent(1), qty: 9 });
    await removeGoods(inventory, actor, directoryId, unsent(2), undefined, 'editor');
    await applyScan(inventory, actor, { directoryId, op: 'set', code: unsent(2), qty: 4 });
    await applyScan(inventory, actor, { directoryId, op: 'in', code: 'new-during-snapshot', qty: 5 });
    const after = await serverState();
    expect(after.revision).toBe(before.revision + 9);

    // A phone that subscribes now is not kept waiting behind the paused one: its own snapshot, of now.
    const reader = await open(server.url);
    const readerSizes = pageSizes(reader);
    expect((await reader.request({ type: 'subscribe', directoryId })).result).toEqual({ revision: after.revision });
    await reader.until(() => hasWholeSnapshot(reader, directoryId), 'the whole snapshot');
    const readerPages = snapshotPages(reader, directoryId);
    expectWellFormedPages(readerPages, readerSizes);
    expect(readerPages[0].revision).toBe(after.revision);
    expect(readerPages.flatMap((p) => p.goods)).toEqual([...after.goods.values()]);

    // The paused phone reads again: the rest of its pages, read from the database now, then every
    // change after the snapshot's revision, then live ones.
    holder.resume();
    await holder.changesUpTo(directoryId, after.revision);
    const pages = snapshotPages(holder, directoryId);
    expectWellFormedPages(pages, holderSizes);
    expect(pages[0].revision).toBe(before.revision);
    const frames = holder.received.filter((f) => f.directoryId === directoryId);
    expect(frames.map((f) => f.type)).toEqual([...pages.map(() => 'snapshot'), ...Array.from({ length: 9 }, () => 'change')]);
    const paged = pages.flatMap((p) => p.goods as GoodsView[]);
    const byCode = new Map(paged.map((g) => [g.code, g]));
    expect(byCode.size).toBe(paged.length); // no code twice
    // The unsent goods were read after the changes (the snapshot was not held whole): the renamed one as
    // it is now, the removed one not at all, and neither the code scanned again nor the new one (their
    // rows are newer than the snapshot: their changes bring them).
    expect(byCode.get(unsent(0))).toEqual(after.goods.get(unsent(0)));
    expect(byCode.get(unsent(0))?.name).toBe('改名');
    for (const code of [unsent(1), unsent(2), 'new-during-snapshot']) expect(byCode.has(code)).toBe(false);
    // The sent ones as they were.
    expect(byCode.get(sent(0))).toEqual(before.goods.get(sent(0)));
    expect(byCode.get(sent(1))).toEqual(before.goods.get(sent(1)));
    expect(replayed(holder.received, directoryId)).toEqual(after);

    // A live change reaches both, and both have the directory exactly.
    await applyScan(inventory, actor, { directoryId, op: 'in', code: longCode(3), qty: 2 });
    await reader.changesUpTo(directoryId, after.revision + 1);
    await holder.changesUpTo(directoryId, after.revision + 1);
    const final = await serverState();
    for (const socket of [reader, holder]) expect(replayed(socket.received, directoryId)).toEqual(final);
  });

  it('closes phones that stop reading with 4408 while their queues stay bounded, and a reader beside them gets everything', async () => {
    const current = await serverState(strict);
    // Half ask for a snapshot, half for the whole history (every change replayed, each as large as a goods).
    const crowd = await Promise.all(Array.from({ length: CROWD }, () => openPausable(strictUrl)));
    const readers = [await open(strictUrl), await open(strictUrl)];
    const readerSizes = pageSizes(readers[0]);

    let maxTotal = 0;
    let maxOne = 0;
    const sample = setInterval(() => {
      let total = 0;
      for (const ws of strict.websocketServer.clients) {
        total += ws.bufferedAmount;
        maxOne = Math.max(maxOne, ws.bufferedAmount);
      }
      maxTotal = Math.max(maxTotal, total);
    }, 5);
    try {
      crowd.forEach((socket, i) => {
        socket.pause();
        socket.send({ type: 'subscribe', id: 's', directoryId, ...(i % 2 === 0 ? {} : { since: 0 }) });
      });
      readers[0].send({ type: 'subscribe', id: 's', directoryId });
      readers[1].send({ type: 'subscribe', id: 's', directoryId, since: 0 });
      await readers[0].until(() => hasWholeSnapshot(readers[0], directoryId), 'the whole snapshot');
      await readers[1].changesUpTo(directoryId, current.revision);
      // Every phone that stopped reading is closed; the two readers stay.
      const openOnServer = () => [...strict.websocketServer.clients].filter((ws) => ws.readyState === WebSocket.OPEN).length;
      await eventually(() => openOnServer() === readers.length, 'the server to close the phones that stopped reading', 20_000);
    } finally {
      clearInterval(sample);
    }

    // What the server held for them was bounded per socket, never the directory per socket.
    expect(maxOne).toBeLessThanOrEqual(MAX_QUEUED + SNAPSHOT_PAGE_BYTES);
    expect(maxTotal).toBeLessThanOrEqual((CROWD + readers.length) * (MAX_QUEUED + SNAPSHOT_PAGE_BYTES));
    for (const socket of crowd) socket.resume();
    for (const closed of await Promise.all(crowd.map((socket) => socket.closed))) expect(closed.code).toBe(4408);

    // The readers have the directory exactly, from a snapshot and from the history, and stay live.
    expectWellFormedPages(snapshotPages(readers[0], directoryId), readerSizes);
    const inventory = strict.services.inventory();
    await applyScan(inventory, actor, { directoryId, op: 'set', code: longCode(4), qty: 42 });
    const final = await serverState(strict);
    await Promise.all(readers.map((reader) => reader.changesUpTo(directoryId, final.revision)));
    expect(replayed(readers[0].received, directoryId)).toEqual(final);
    expect(replayed(readers[1].received, directoryId, 0)).toEqual(final);
    expect(readers[1].revisions(directoryId)).toEqual(Array.from({ length: final.revision }, (_, i) => i + 1));
  });
});
