import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { createDirectory, signIn } from '../helpers/inventory';
import { closeAll, connect, type TestSocket } from '../helpers/ws';

/**
 * One client's large batch on the embedded database must not hold every other request until it is
 * done: its statements run on the database's writer thread, not the event loop. Asserted as an order,
 * never as a duration: once the batch has visibly begun (its first change reached a watcher, or its
 * first ack came back), a `/healthz` and another user's login, socket and ping are answered while the
 * rest of it is still being applied, i.e. before its last answer. Held in one piece, the batch answered
 * first. How long `/healthz` takes during such loads is measured by the bench (bench/healthz-probe.ts).
 */
describe.each(testDatabases().filter((db) => db.name === 'sqlite'))('one client cannot freeze the embedded database ($name)', (db) => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  // The frame rate limit would refuse most of a 5,000-frame burst (tested on its own in limits-ws);
  // here every frame must be applied.
  beforeAll(async () => (server = await startServer(db, { env: { WS_FRAME_RATE: '0' } })));
  afterEach(() => closeAll(sockets));
  afterAll(() => server.close());

  /** The order in which things were answered. */
  function answers() {
    const order: string[] = [];
    return {
      order,
      record<T>(what: string, answer: Promise<T>): Promise<T> {
        return answer.then((value) => (order.push(what), value));
      },
    };
  }

  async function healthz(): Promise<void> {
    const answer = await request(server.url, 'GET', '/healthz');
    if (answer.status !== 200) throw new Error(`/healthz answered ${answer.status}`);
  }

  /** A socket of the directory's owner subscribed to it: it sees the batch's first commit. */
  async function watch(token: string, directoryId: number): Promise<TestSocket> {
    const watcher = await connect(server.url, token);
    sockets.push(watcher);
    await watcher.request({ type: 'subscribe', directoryId });
    return watcher;
  }

  const syncEvents = (prefix: string, directoryId: number) =>
    Array.from({ length: 500 }, (_, i) => ({ eventId: `${prefix}-${i}`, directoryId, op: 'in', code: `C${i % 50}`, name: `货品 ${i % 50} ${'名'.repeat(100)}` }));

  it('a 500-event /api/sync leaves /healthz answering while it is applied', async () => {
    const { api, token } = await signIn(server, 'sync-heavy');
    const directoryId = await createDirectory(api, '大批量');
    const watcher = await watch(token, directoryId);
    const { order, record } = answers();

    const sync = record('sync', api.post('/api/sync', { body: { events: syncEvents('bulk', directoryId) } }));
    await watcher.next('change');
    await record('healthz', healthz());
    const answer = await sync;

    expect(answer.status).toBe(200);
    expect(answer.body.results.filter((r: { ok: boolean }) => r.ok)).toHaveLength(500);
    expect(order).toEqual(['healthz', 'sync']);
  });

  it('500-event syncs from four phones at once leave /healthz answering while they are applied', async () => {
    const phones = await Promise.all([1, 2, 3, 4].map((n) => signIn(server, `sync-fleet-${n}`)));
    const directories = await Promise.all(phones.map(({ api }, n) => createDirectory(api, `大批量${n}`)));
    const watchers = await Promise.all(phones.map(({ token }, n) => watch(token, directories[n])));
    const { order, record } = answers();

    const syncs = phones.map(({ api }, n) => record('sync', api.post('/api/sync', { body: { events: syncEvents(`fleet-${n}`, directories[n]) } })));
    await Promise.race(watchers.map((watcher) => watcher.next('change')));
    await record('healthz', healthz());
    const answered = await Promise.all(syncs);

    for (const answer of answered) expect(answer.body.results.filter((r: { ok: boolean }) => r.ok)).toHaveLength(500);
    // Answered before the last of the syncs (some may have finished before it).
    expect(order[order.length - 1]).toBe('sync');
    expect(order).toContain('healthz');
  });

  it("5,000 pipelined scans on one socket leave /healthz and another user's socket answering", async () => {
    const heavy = await signIn(server, 'pipeline-heavy');
    const directoryId = await createDirectory(heavy.api, '流水线');
    const scanner = await connect(server.url, heavy.token);
    sockets.push(scanner);
    const total = 5_000;
    const { order, record } = answers();
    // Sent without waiting for acks, a hundred per turn of the event loop: the test's own client shares
    // the process with the server, and one 5,000-frame loop would be a stall of its own making.
    void (async () => {
      for (let i = 0; i < total; i++) {
        scanner.send({ type: 'scan', id: `p-${i}`, directoryId, op: 'in', code: `P${i % 100}` });
        if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const lastAck = record(
      'last scan',
      scanner.next((f) => f.type === 'ack' && f.id === `p-${total - 1}`),
    );

    await scanner.next((f) => f.type === 'ack' && f.id === 'p-0');
    await record('healthz', healthz());
    // Meanwhile another user logs in, opens a socket and pings.
    const pong = await record(
      'bystander',
      (async () => {
        const other = await signIn(server, 'bystander');
        const bystander = await connect(server.url, other.token);
        sockets.push(bystander);
        return bystander.request({ type: 'ping' });
      })(),
    );
    const last = await lastAck;

    expect(pong.ok).toBe(true);
    expect(last.ok).toBe(true);
    expect(last.result.revision).toBe(total);
    expect(scanner.received.filter((f) => f.type === 'ack' && f.ok)).toHaveLength(total);
    expect(order).toEqual(['healthz', 'bystander', 'last scan']);
  });
});
