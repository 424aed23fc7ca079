import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client, request } from '../../helpers/http';
import { startPrivateRedis, type PrivateRedis } from '../../helpers/private-redis';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * Redis stalled (SIGSTOP: the connection stays up, nothing answers) under two instances: writes are
 * answered after their commit, never after Redis, and every watcher on every instance reaches the
 * final revision through the periodic revision check, whatever Redis did with the publishes.
 */
const [db] = testDatabases().filter((d) => d.name === 'mysql').concat(testDatabases());
const REVISION_CHECK_MS = 500;

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

  it('answers every write while Redis is stalled, and the other instance\'s watcher reaches the final revision', async () => {
    const token = await first.login('stall');
    const api = client(first.url, token);
    const directoryId = (await api.get('/api/directories')).body.directories[0].id as number;
    const watcher = await connect(second.url, token);
    sockets.push(watcher);
    await watcher.request({ type: 'subscribe', directoryId });
    expect((await api.post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'S', eventId: 'stall-0' } })).status).toBe(200);
    await watcher.changesUpTo(directoryId, 1);

    expect((await request(first.url, 'GET', '/readyz')).body).toEqual({ status: 'ok', database: 'ok', bus: 'ok' });
    redis.stall();
    // Each write is answered after its commit; a guard against hanging, not a timing assertion.
    const guard = { signal: AbortSignal.timeout(10_000) };
    expect((await request(first.url, 'GET', '/readyz')).body).toEqual({ status: 'degraded', database: 'ok', bus: 'unavailable' });
    for (let i = 1; i <= 5; i++) {
      const answer = await fetch(`${first.url}/api/directories/${directoryId}/scans`, {
        ...guard,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ op: 'in', code: 'S', eventId: `stall-${i}` }),
      });
      expect(answer.status).toBe(200);
    }
    const directory = await fetch(`${first.url}/api/directories`, { ...guard, method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: '停顿' }) });
    expect(directory.status).toBe(201);
    // The watcher on the other instance gets every revision, in order, from the revision check.
    const frames = await watcher.changesUpTo(directoryId, 6);
    expect(frames.map((f) => f.revision)).toEqual([1, 2, 3, 4, 5, 6]);

    // A logout is answered during the stall too (it announces the revoked session on the bus).
    const other = await first.login('stall');
    const logout = await fetch(`${first.url}/api/logout`, { ...guard, method: 'POST', headers: { authorization: `Bearer ${other}` } });
    expect(logout.status).toBe(204);
    expect((await request(first.url, 'GET', '/api/me', { token: other })).status).toBe(401);
    redis.resume();
  });

  it('a logout during the stall closes that session\'s socket on the other instance with 4401', async () => {
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
