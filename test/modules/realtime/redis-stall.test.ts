import { performance } from 'node:perf_hooks';
import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client, request } from '../../helpers/http';
import { startPrivateRedis, type PrivateRedis } from '../../helpers/private-redis';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';
import { loggedEventIds } from '../../helpers/client';

/**
 * Redis stalled (SIGSTOP: the connection stays up, nothing answers) under two instances: writes are
 * answered after their commit, never after Redis, and every watcher on every instance reaches the
 * final revision through the periodic revision check (REVISION_CHECK_MS, here 0.5 s), whatever Redis
 * did with the publishes.
 */
const [db] = testDatabases()
  .filter((d) => d.name === 'mysql')
  .concat(testDatabases());
const REVISION_CHECK_MS = 500;
/** As long as the issue that found the hang stalled it. */
const STALL_MS = 30_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`a stalled Redis under two instances, on ${db.name}`, () => {
  let redis: PrivateRedis;
  let first: TestServer;
  let second: TestServer;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    redis = await startPrivateRedis();
    const env = { REDIS_URL: redis.url, REVISION_CHECK_MS: String(REVISION_CHECK_MS) };
    first = await startServer(db, { env });
    second = await startServer(db, { env, deps: { orm: first.app.services.orm } });
  });
  afterEach(() => closeAll(sockets));
  afterAll(async () => {
    redis.resume();
    await second.close();
    await first.close();
    await redis.stop();
  });

  it('answers every scan while Redis is stalled for 30 s, and every watcher on both instances reaches the final revision', async () => {
    const token = await first.login('stall');
    const api = client(first.url, token);
    const directoryId = (await api.get('/api/directories')).body.directories[0].id as number;
    const watchers = [await connect(first.url, token), await connect(second.url, token)];
    const scanners = [await connect(first.url, token), await connect(second.url, token)];
    sockets.push(...watchers, ...scanners);
    for (const watcher of watchers) await watcher.request({ type: 'subscribe', directoryId });
    expect((await api.post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'S', eventId: 'stall-0' } })).status).toBe(200);
    for (const watcher of watchers) await watcher.changesUpTo(directoryId, 1);

    expect((await request(first.url, 'GET', '/readyz')).body).toEqual({ status: 'ok', database: 'ok', bus: 'ok' });
    redis.stall();
    expect((await request(first.url, 'GET', '/readyz')).body).toEqual({ status: 'degraded', database: 'ok', bus: 'unavailable' });

    // Four phones, two over HTTP (one per instance) and two over the socket, each scanning as soon as
    // its previous scan is answered, for the 30 s that Redis does not answer.
    const latencies: number[] = [];
    const acked: string[] = [];
    const stallEnds = Date.now() + STALL_MS;
    const overHttp = (base: string, phone: string) => async () => {
      for (let n = 0; Date.now() < stallEnds; n++) {
        const eventId = `${phone}-${n}`;
        const started = performance.now();
        // A guard against hanging, not a timing assertion: the figures are printed below.
        const answer = await fetch(`${base}/api/directories/${directoryId}/scans`, {
          signal: AbortSignal.timeout(10_000),
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ op: 'in', code: 'S', eventId }),
        });
        latencies.push(performance.now() - started);
        expect(answer.status).toBe(200);
        acked.push(eventId);
        await sleep(20);
      }
    };
    const overSocket = (socket: TestSocket, phone: string) => async () => {
      for (let n = 0; Date.now() < stallEnds; n++) {
        const eventId = `${phone}-${n}`;
        const started = performance.now();
        const ack = await socket.request({ type: 'scan', id: eventId, directoryId, op: 'in', code: 'S' });
        latencies.push(performance.now() - started);
        expect(ack.ok).toBe(true);
        acked.push(eventId);
        await sleep(20);
      }
    };
    await Promise.all([overHttp(first.url, 'http-1'), overHttp(second.url, 'http-2'), overSocket(scanners[0], 'ws-1'), overSocket(scanners[1], 'ws-2')].map((phone) => phone()));
    // A directory created during the stall is answered too.
    const directory = await fetch(`${first.url}/api/directories`, {
      signal: AbortSignal.timeout(10_000),
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: '停顿' }),
    });
    expect(directory.status).toBe(201);
    redis.resume();
    const resumedAt = performance.now();

    // Every watcher, on either instance, gets every revision once, in order (the periodic revision
    // check brings what Redis never delivered), and the counts hold each acked scan once.
    const final = acked.length + 1;
    for (const watcher of watchers) {
      await watcher.changesUpTo(directoryId, final);
      expect(watcher.revisions(directoryId)).toEqual(Array.from({ length: final }, (_, i) => i + 1));
    }
    const caughtUpMs = performance.now() - resumedAt;
    const state = await api.get(`/api/directories/${directoryId}`);
    expect(state.body.directory.revision).toBe(final);
    expect(state.body.goods.find((g: { code: string }) => g.code === 'S').count).toBe(final);
    const logged = await loggedEventIds(first, token, directoryId);
    expect(new Set(logged).size).toBe(logged.length);
    expect(logged.sort()).toEqual(['stall-0', ...acked].sort());
    latencies.sort((x, y) => x - y);
    console.log(
      `Redis stalled ${STALL_MS / 1000} s: ${acked.length} scans from 4 phones, each answered (p50 ${latencies[Math.floor(latencies.length / 2)].toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms); both instances' watchers at revision ${final} ${caughtUpMs.toFixed(0)} ms after Redis resumed (REVISION_CHECK_MS ${REVISION_CHECK_MS})`,
    );

    // A logout is answered during a stall too (it announces the revoked session on the bus).
    redis.stall();
    try {
      const other = await first.login('stall');
      const logout = await fetch(`${first.url}/api/logout`, { signal: AbortSignal.timeout(10_000), method: 'POST', headers: { authorization: `Bearer ${other}` } });
      expect(logout.status).toBe(204);
      expect((await request(first.url, 'GET', '/api/me', { token: other })).status).toBe(401);
    } finally {
      redis.resume();
    }
  });

  it("a logout during the stall closes that session's socket on the other instance with 4401", async () => {
    const token = await first.login('stall-logout');
    const elsewhere = await connect(second.url, token);
    const kept = await connect(second.url, await first.login('stall-logout'));
    sockets.push(elsewhere, kept);
    redis.stall();
    try {
      expect((await request(first.url, 'POST', '/api/logout', { token })).status).toBe(204);
      // The revoked session's socket is refused at the next revision and session check; another
      // session of the same user stays open.
      expect(await elsewhere.closed).toMatchObject({ code: 4401 });
      expect(await kept.request({ type: 'ping' })).toMatchObject({ ok: true });
    } finally {
      redis.resume();
    }
  });
});
