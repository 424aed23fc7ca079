import { SNAPSHOT_PAGE_BYTES } from '../../../src/contract';
import { directoryWithGoods } from '../../../src/modules/inventory/goods';
import { applyScan } from '../../../src/modules/inventory/scan';
import type { Actor, GoodsView } from '../../../src/modules/inventory/views';
import { SNAPSHOT_WINDOW_PAGES, snapshotBytesHeld } from '../../../src/modules/realtime/snapshot';
import { startServer, type TestServer } from '../../helpers/app';
import { eventually } from '../../helpers/client';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { closeAll, connect, type Frame, type TestSocket } from '../../helpers/ws';

const DIRECTORIES = 4;
const GOODS = 80;
/** Where the server stops sending to a phone and waits for it to read. */
const LOW_WATER_BYTES = 256 * 1024;
/**
 * What the server may hold for one snapshot whatever the directory's size: the pages of its shared
 * read's window, and the goods read for the page being cut.
 */
const HELD_PER_SNAPSHOT = (SNAPSHOT_WINDOW_PAGES + 2) * SNAPSHOT_PAGE_BYTES;

/** About 21 KB of JSON each (CJK is 3 bytes a character): three goods a page. */
const bigCode = (d: number, i: number) => `${d}:${i}:`.padEnd(7089, '码');

/** The directory a client builds from a snapshot's pages and the changes after them. */
function replayed(frames: Frame[], directoryId: number): { revision: number | null; goods: Map<string, GoodsView> } {
  let goods = new Map<string, GoodsView>();
  let pages: GoodsView[] = [];
  let revision: number | null = null;
  for (const frame of frames.filter((f) => f.directoryId === directoryId)) {
    if (frame.type === 'snapshot') {
      if (frame.page === 0) pages = [];
      pages.push(...frame.goods);
      if (frame.last) [goods, revision] = [new Map(pages.map((g) => [g.code, g])), frame.revision];
    } else if (frame.type === 'change') {
      expect(frame.revision).toBe((revision ?? -2) + 1);
      revision = frame.revision;
      if (frame.change.type === 'remove') goods.delete(frame.change.code);
      else if (frame.change.goods) goods.set(frame.change.goods.code, frame.change.goods);
    }
  }
  return { revision, goods };
}

describe.each(testDatabases())('what a phone that stops reading costs the server, on $name', (db) => {
  let server: TestServer;
  let token: string;
  let actor: Actor;
  const directoryIds: number[] = [];
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    server = await startServer(db, { deps: { realtime: { readTimeoutMs: 30_000 } } });
    token = await server.login('hoarder');
    const api = client(server.url, token);
    actor = { userId: (await api.get('/api/me')).body.user.id, deviceId: null };
    const inventory = server.app.services.inventory();
    for (let d = 0; d < DIRECTORIES; d++) {
      const { body } = await api.post('/api/directories', { body: { name: `big-${d}` } });
      directoryIds.push(body.directory.id);
      await Promise.all(Array.from({ length: GOODS }, (_, i) => applyScan(inventory, actor, { directoryId: body.directory.id, op: 'in', code: bigCode(d, i), qty: 1 + i })));
    }
  });
  afterAll(async () => {
    await closeAll(sockets);
    await server.close();
  });

  it('holds a few pages per snapshot, not the directories, while the phone reads nothing; reading again, it gets every directory whole', async () => {
    const states = await Promise.all(directoryIds.map((directoryId) => directoryWithGoods(server.app.services.em(), actor.userId, { directoryId, role: 'owner' })));
    const stored = states.flatMap((s) => s.goods).reduce((sum, g) => sum + Buffer.byteLength(JSON.stringify(g)), 0);
    expect(stored).toBeGreaterThan(6 * 1024 * 1024);

    const phone = await connect(server.url, token);
    sockets.push(phone);
    const tcp = (phone.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    let most = 0;
    const sample = setInterval(() => (most = Math.max(most, snapshotBytesHeld())), 1);
    try {
      tcp.pause();
      directoryIds.forEach((directoryId, i) => phone.send({ type: 'subscribe', id: `s${i}`, directoryId }));
      await eventually(() => [...server.app.websocketServer.clients].some((ws) => ws.bufferedAmount >= LOW_WATER_BYTES), 'the server to wait for the phone', 20_000);
      // Every subscription has started its snapshot and waits: what is held now stays held.
      await eventually(() => snapshotBytesHeld() > 0, 'the snapshots to be under way');
      most = Math.max(most, snapshotBytesHeld());
    } finally {
      clearInterval(sample);
    }
    // Bounded by the snapshots being sent, never by what the directories hold (the old whole-snapshot
    // read held all of `stored` here).
    expect(most).toBeLessThanOrEqual(DIRECTORIES * HELD_PER_SNAPSHOT);
    expect(DIRECTORIES * HELD_PER_SNAPSHOT).toBeLessThan(stored / 4);

    tcp.resume();
    await phone.until(() => directoryIds.every((id) => phone.received.some((f) => f.type === 'snapshot' && f.directoryId === id && f.last === true)), 'every snapshot whole');
    await eventually(() => snapshotBytesHeld() === 0, 'nothing held once every snapshot is sent');
    for (const [i, directoryId] of directoryIds.entries()) {
      expect(replayed(phone.received, directoryId)).toEqual({ revision: states[i].directory.revision, goods: new Map(states[i].goods.map((g) => [g.code, g])) });
    }
  });
});
