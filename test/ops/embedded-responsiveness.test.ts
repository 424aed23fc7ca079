import { performance } from 'node:perf_hooks';
import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { createDirectory, signIn } from '../helpers/inventory';
import { closeAll, connect, type TestSocket } from '../helpers/ws';

/**
 * The embedded database runs its statements on the event loop, so one client's large batch must be cut
 * into transactions that yield between them, or every other request waits for all of it. While a
 * 500-event sync, then 10,000 pipelined scans on one socket, are applied, `/healthz` is polled every
 * 10 ms and another user opens a socket and pings: their answers must arrive while the big batch is
 * still being worked on, not after it. The bound is a ratio (the slowest /healthz answer against the
 * time the whole batch took), so that it holds on a slow machine too; the figures are printed.
 */
describe.each(testDatabases().filter((db) => db.name === 'sqlite'))('one client cannot freeze the embedded database ($name)', (db) => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  // The frame rate limit would refuse most of a 10,000-frame burst (tested on its own in limits-ws);
  // here every frame must be applied.
  beforeAll(async () => (server = await startServer(db, { env: { WS_FRAME_RATE: '0' } })));
  afterEach(() => closeAll(sockets));
  afterAll(() => server.close());

  /**
   * Polls /healthz every 10 ms until `stop` is called: the slowest answer, and the longest time between
   * two answers within [from, to] (a stall that began between two polls shows there, not in an answer).
   */
  function pollHealth(): { stop(from: number, to: number): Promise<{ worstMs: number; longestGapMs: number; answered: number }> } {
    const times: number[] = [];
    const answeredAt: number[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        const started = performance.now();
        const answer = await request(server.url, 'GET', '/healthz');
        if (answer.status !== 200) throw new Error(`/healthz answered ${answer.status}`);
        answeredAt.push(performance.now());
        times.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    return {
      async stop(from, to) {
        running = false;
        await loop;
        const marks = [from, ...answeredAt.filter((at) => at > from && at < to), to];
        const longestGapMs = Math.max(...marks.slice(1).map((at, i) => at - marks[i]));
        return { worstMs: Math.max(...times), longestGapMs, answered: marks.length - 2 };
      },
    };
  }

  it('a 500-event /api/sync leaves /healthz answering while it is applied', async () => {
    const { api } = await signIn(server, 'sync-heavy');
    const directoryId = await createDirectory(api, '大批量');
    const events = Array.from({ length: 500 }, (_, i) => ({ eventId: `bulk-${i}`, directoryId, op: 'in', code: `C${i % 50}`, name: `货品 ${i % 50} ${'名'.repeat(100)}` }));
    // One small sync first: the first request of a kind compiles its code paths, a one-off stall that
    // is not what this measures.
    await api.post('/api/sync', { body: { events: events.slice(0, 20).map((e) => ({ ...e, eventId: `warm-${e.eventId}` })) } });
    const health = pollHealth();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    const answer = await api.post('/api/sync', { body: { events } });
    const finished = performance.now();
    const { worstMs, longestGapMs, answered } = await health.stop(started, finished);
    expect(answer.status).toBe(200);
    expect(answer.body.results.filter((r: { ok: boolean }) => r.ok)).toHaveLength(500);
    const tookMs = finished - started;
    console.log(
      `500-event sync took ${tookMs.toFixed(0)} ms; /healthz answered ${answered} times meanwhile, worst answer ${worstMs.toFixed(1)} ms, longest gap between answers ${longestGapMs.toFixed(1)} ms`,
    );
    // Applied in slices: /healthz answered during the sync, and never waited for nearly all of it (in
    // one piece, the gap was as long as the whole sync). The rest of a gap is the request's own
    // parsing and answer, which no slicing of the database's work shortens.
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(longestGapMs).toBeLessThan(tookMs * 0.9);
  });

  it('500-event syncs from four phones at once leave /healthz answering while they are applied', async () => {
    const phones = await Promise.all([1, 2, 3, 4].map((n) => signIn(server, `sync-fleet-${n}`)));
    const directories = await Promise.all(phones.map(({ api }, n) => createDirectory(api, `大批量${n}`)));
    const batches = phones.map((_, n) =>
      Array.from({ length: 500 }, (_, i) => ({ eventId: `fleet-${n}-${i}`, directoryId: directories[n], op: 'in', code: `C${i % 50}`, name: `货品 ${i % 50} ${'名'.repeat(100)}` })),
    );
    const health = pollHealth();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    const answers = await Promise.all(phones.map(({ api }, n) => api.post('/api/sync', { body: { events: batches[n] } })));
    const finished = performance.now();
    const { worstMs, longestGapMs, answered } = await health.stop(started, finished);
    for (const answer of answers) expect(answer.body.results.filter((r: { ok: boolean }) => r.ok)).toHaveLength(500);
    const tookMs = finished - started;
    console.log(
      `four 500-event syncs took ${tookMs.toFixed(0)} ms; /healthz answered ${answered} times meanwhile, worst answer ${worstMs.toFixed(1)} ms, longest gap between answers ${longestGapMs.toFixed(1)} ms`,
    );
    // In one piece per sync the longest gap was 0.84–0.97 of the whole here; in slices 0.3–0.55.
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(longestGapMs).toBeLessThan(tookMs * 0.7);
  });

  it("10,000 pipelined scans on one socket leave /healthz and another user's socket answering", async () => {
    const heavy = await signIn(server, 'pipeline-heavy');
    const directoryId = await createDirectory(heavy.api, '流水线');
    const scanner = await connect(server.url, heavy.token);
    sockets.push(scanner);
    const health = pollHealth();
    const total = 10_000;
    const started = performance.now();
    // Sent without waiting for acks, a hundred per turn of the event loop: the test's own client shares
    // the process with the server, and one 10,000-frame loop would be a stall of its own making.
    void (async () => {
      for (let i = 0; i < total; i++) {
        scanner.send({ type: 'scan', id: `p-${i}`, directoryId, op: 'in', code: `P${i % 100}` });
        if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      }
    })();

    // Meanwhile another user logs in, opens a socket and pings: answered before the last scan's ack.
    const other = await signIn(server, 'bystander');
    const bystander = await connect(server.url, other.token);
    sockets.push(bystander);
    const pong = await bystander.request({ type: 'ping' });
    const bystanderAt = performance.now();
    const lastAck = await scanner.next((f) => f.type === 'ack' && f.id === `p-${total - 1}`);
    const finished = performance.now();
    const { worstMs, longestGapMs, answered } = await health.stop(started, finished);

    expect(pong.ok).toBe(true);
    expect(lastAck.ok).toBe(true);
    expect(lastAck.result.revision).toBe(total);
    expect(scanner.received.filter((f) => f.type === 'ack' && f.ok)).toHaveLength(total);
    const tookMs = finished - started;
    console.log(
      `10,000 pipelined scans took ${tookMs.toFixed(0)} ms; another user's login, socket and ping were answered after ${(bystanderAt - started).toFixed(0)} ms; /healthz answered ${answered} times meanwhile, worst answer ${worstMs.toFixed(1)} ms, longest gap between answers ${longestGapMs.toFixed(1)} ms`,
    );
    expect(bystanderAt).toBeLessThan(finished);
    expect(longestGapMs).toBeLessThan(tookMs * 0.1);
  });
});
