import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

const REPLAY_LIMIT = 100;

/** from, from+1, ..., to */
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Every write here is `in` of one unit of the code "flour" into a fresh directory, so the count after
 * revision r is r: a frame's goods show whether it is consistent with its revision.
 */
describe.each(testDatabases())('WebSocket resume and ordering on $name', (db) => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  let directoryCounter = 0;
  let eventCounter = 0;

  beforeAll(async () => {
    server = await startServer(db, { config: { changesReplayLimit: REPLAY_LIMIT } });
  });
  afterEach(() => closeAll(sockets));
  afterAll(() => server.close());

  async function account(name: string, devices = 1) {
    const tokens = await Promise.all(Array.from({ length: devices }, (_, i) => server.login(name, { deviceId: `${name}-${i}` })));
    const api = client(server.url, tokens[0]);
    const directoryId = (await api.post('/api/directories', { body: { name: `库${++directoryCounter}` } })).body.directory.id as number;
    return { tokens, api, directoryId };
  }

  async function device(token: string): Promise<TestSocket> {
    const socket = await connect(server.url, token);
    sockets.push(socket);
    return socket;
  }

  const flourIn = (directoryId: number) => ({ eventId: `e${++eventCounter}`, directoryId, op: 'in', code: 'flour', qty: 1 });

  /** `n` scans in one POST /api/sync (each its own transaction and its own push). */
  async function scanOverHttp(api: ReturnType<typeof client>, directoryId: number, n: number): Promise<void> {
    const answer = await api.post('/api/sync', { body: { events: Array.from({ length: n }, () => flourIn(directoryId)) } });
    expect(answer.body.results.every((r: { ok: boolean }) => r.ok)).toBe(true);
  }

  function scanOverWs(socket: TestSocket, directoryId: number): Promise<Record<string, any>> {
    const { eventId, ...scan } = flourIn(directoryId);
    return socket.request({ type: 'scan', id: eventId, ...scan });
  }

  /** Every change frame received shows the count of its own revision. */
  function expectConsistent(socket: TestSocket, directoryId: number): void {
    for (const frame of socket.changes(directoryId)) expect(frame.change.goods.count).toBe(frame.revision);
  }

  it('resuming with since after missing 50 changes gives exactly those 50 in order, then live ones without a duplicate', async () => {
    const alice = await account('alice', 2);
    const { directoryId } = alice;
    await scanOverHttp(alice.api, directoryId, 3);
    const first = await device(alice.tokens[0]);
    expect((await first.request({ type: 'subscribe', directoryId })).result).toEqual({ revision: 3 });
    await first.close();

    await scanOverHttp(alice.api, directoryId, 50);

    const again = await device(alice.tokens[0]);
    expect(await again.request({ type: 'subscribe', directoryId, since: 3 })).toMatchObject({ ok: true, result: { revision: 53 } });
    await again.changesUpTo(directoryId, 53);
    expect(again.revisions()).toEqual(range(4, 53));
    expect(again.received.some((f) => f.type === 'snapshot')).toBe(false);

    const scanner = await device(alice.tokens[1]);
    expect((await scanOverWs(scanner, directoryId)).result.revision).toBe(54);
    await scanOverHttp(alice.api, directoryId, 1);
    await again.changesUpTo(directoryId, 55);
    await again.request({ type: 'ping' });
    expect(again.revisions()).toEqual(range(4, 55));
    expectConsistent(again, directoryId);
  });

  it.each([
    ['since', 5],
    ['a snapshot', undefined],
  ])('joins the live stream after %s with neither a gap nor a duplicate while writes keep coming', async (_label, since) => {
    const alice = await account('alice', 2);
    const { directoryId } = alice;
    await scanOverHttp(alice.api, directoryId, 10);
    const scanner = await device(alice.tokens[1]);

    // 30 scans over WebSocket and 30 over HTTP in flight while the watcher subscribes.
    const writes = Promise.all([...Array.from({ length: 30 }, () => scanOverWs(scanner, directoryId)), ...Array.from({ length: 3 }, () => scanOverHttp(alice.api, directoryId, 10))]);
    const watcher = await device(alice.tokens[0]);
    const ack = await watcher.request({ type: 'subscribe', directoryId, since });
    await writes;
    // One more, surely after the subscription: the watcher must end with it whatever it started from.
    await scanOverWs(scanner, directoryId);
    await watcher.changesUpTo(directoryId, 71);
    await watcher.request({ type: 'ping' });

    const start: number = ack.result.revision;
    if (since === undefined) {
      const snapshot = await watcher.next('snapshot');
      expect(snapshot).toEqual({ type: 'snapshot', directoryId, revision: start, page: 0, last: true, goods: [expect.objectContaining({ code: 'flour' })] });
      // The page is read after the revision (docs/protocol.md): it may already show changes that follow
      // it, never fewer than the revision holds; the changes after it end the copy exactly right.
      const shown: number = snapshot.goods[0].count;
      expect(shown).toBeGreaterThanOrEqual(start);
      expect(shown).toBeLessThanOrEqual(71);
      expect(watcher.revisions()).toEqual(range(start + 1, 71));
      expect(watcher.changes(directoryId).at(-1)?.change.goods.count).toBe(71);
    } else {
      expect(watcher.revisions()).toEqual(range(since + 1, 71));
    }
    expectConsistent(watcher, directoryId);
  });

  it('answers with a snapshot when since is too old to replay or ahead of the directory, and replays up to the limit', async () => {
    const alice = await account('alice');
    const { directoryId } = alice;
    await scanOverHttp(alice.api, directoryId, REPLAY_LIMIT + 10);
    const current = REPLAY_LIMIT + 10;
    const snapshot = { type: 'snapshot', directoryId, revision: current, page: 0, last: true, goods: [expect.objectContaining({ code: 'flour', count: current })] };

    const tooOld = await device(alice.tokens[0]);
    expect((await tooOld.request({ type: 'subscribe', directoryId, since: 9 })).result).toEqual({ revision: current });
    expect(await tooOld.next('snapshot')).toEqual(snapshot);

    const ahead = await device(alice.tokens[0]);
    expect((await ahead.request({ type: 'subscribe', directoryId, since: current + 1 })).result).toEqual({ revision: current });
    expect(await ahead.next('snapshot')).toEqual(snapshot);

    const atLimit = await device(alice.tokens[0]);
    expect((await atLimit.request({ type: 'subscribe', directoryId, since: 10 })).result).toEqual({ revision: current });
    await atLimit.changesUpTo(directoryId, current);
    expect(atLimit.revisions()).toEqual(range(11, current));

    const upToDate = await device(alice.tokens[0]);
    expect((await upToDate.request({ type: 'subscribe', directoryId, since: current })).result).toEqual({ revision: current });

    const pushed = (socket: TestSocket) => socket.received.filter((f) => f.type === 'change' || f.type === 'snapshot').map((f) => `${f.type}@${f.revision}`);
    await Promise.all([tooOld, ahead, atLimit, upToDate].map((socket) => socket.request({ type: 'ping' })));
    expect(pushed(tooOld)).toEqual([`snapshot@${current}`]);
    expect(pushed(ahead)).toEqual([`snapshot@${current}`]);
    expect(pushed(atLimit)).toEqual(range(11, current).map((r) => `change@${r}`));
    expect(pushed(upToDate)).toEqual([]);
  });

  it('20 devices scanning at once while 3 watch: every watcher sees every revision once and consecutively', async () => {
    const alice = await account('alice', 23);
    const { directoryId } = alice;
    const watchers = await Promise.all(alice.tokens.slice(0, 3).map(device));
    for (const watcher of watchers) expect((await watcher.request({ type: 'subscribe', directoryId })).result).toEqual({ revision: 0 });
    const scanners = await Promise.all(alice.tokens.slice(3).map(device));

    const acks = await Promise.all(scanners.flatMap((scanner) => Array.from({ length: 5 }, () => scanOverWs(scanner, directoryId))));
    expect(acks.every((ack) => ack.ok)).toBe(true);
    expect(acks.map((ack) => ack.result.revision).sort((x, y) => x - y)).toEqual(range(1, 100));

    for (const watcher of watchers) {
      await watcher.changesUpTo(directoryId, 100);
      await watcher.request({ type: 'ping' });
      expect(watcher.revisions()).toEqual(range(1, 100));
      expectConsistent(watcher, directoryId);
    }
  });
});
