import { startServer, type TestServer } from '../../helpers/app';
import { eventually, loggedEventIds, serverDirectory } from '../../helpers/client';
import { testDatabases } from '../../helpers/db';
import { client, request } from '../../helpers/http';
import { clusterToolsInstalled, startPrivateCluster, type PrivateCluster } from '../../helpers/redis-cluster';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * The bus on a Redis Cluster of the test's own (three masters, no replicas): REDIS_URL names its
 * nodes, each directory's messages go on a sharded channel of its own (SPUBLISH/SSUBSCRIBE), signed
 * with BUS_SECRET as on one Redis. Then a master is killed (SIGKILL) while phones scan: no scan fails,
 * every acked scan is in the database, and every watcher reaches the final revision within the bound
 * the periodic check gives (REVISION_CHECK_MS), since the killed master's channels have no bus left.
 */
const installed = clusterToolsInstalled();
if (!installed && process.env.CI) throw new Error('redis-server and redis-cli are needed for the Redis Cluster tests in CI');
if (!installed) process.stdout.write('Redis Cluster: redis-server or redis-cli is not installed, so test/modules/realtime/cluster.test.ts is SKIPPED\n');
const describeCluster = installed ? describe : describe.skip;

const [db] = testDatabases();
const SECRET = 'the-cluster-bus-secret-0123456789abcdefgh';
const DIRECTORIES = 6;

async function metric(server: TestServer, name: string, labels = ''): Promise<number> {
  const text = (await request(server.url, 'GET', '/metrics')).text;
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))) if (labels === '' || match[1] === `{${labels}}`) sum += Number(match[2]);
  return sum;
}

/** A user with `count` directories (the first is made at login). */
async function userWithDirectories(server: TestServer, name: string, count: number): Promise<{ token: string; directories: number[] }> {
  const token = await server.login(name);
  const api = client(server.url, token);
  const directories = [(await api.get('/api/directories')).body.directories[0].id as number];
  for (let i = 1; i < count; i++) directories.push((await api.post('/api/directories', { body: { name: `${name}-${i}` } })).body.directory.id as number);
  return { token, directories };
}

describeCluster(`the bus on a Redis Cluster, on ${db.name}`, () => {
  let cluster: PrivateCluster;
  // A fixed prefix over a fresh database: the directories' channels, hence their shards, are the same every run.
  const channel = 'scancode:cluster-test';
  const sockets: TestSocket[] = [];
  const servers: TestServer[] = [];

  /** An instance on the cluster; the first one opens the database, the others share it. */
  async function instance(env: Record<string, string>): Promise<TestServer> {
    const base = { REDIS_URL: cluster.url, REDIS_CHANNEL: channel, BUS_SECRET: SECRET, REVISION_CHECK_MS: '3600000' };
    const server = await startServer(db, { env: { ...base, ...env }, ...(servers[0] ? { deps: { orm: servers[0].app.services.orm } } : {}) });
    servers.push(server);
    return server;
  }

  beforeAll(async () => {
    cluster = await startPrivateCluster();
  });
  afterEach(() => closeAll(sockets));
  afterAll(async () => {
    // The first server owns the database the others share: it closes last.
    for (const server of servers.splice(0).reverse()) await server.close();
    await cluster?.stop();
    // ioredis's closed Cluster clients still hold timers for a moment (retries of the killed master's
    // subscriber, command timeouts): let them run out so that the worker exits cleanly.
    await new Promise((resolve) => setTimeout(resolve, 2500));
  });

  it('gives watchers on both instances every change of directories on every shard, once and in order', async () => {
    const [first, second] = [await instance({}), await instance({})];
    const { token, directories } = await userWithDirectories(first, 'alice', DIRECTORIES);
    const shards = new Set(await Promise.all(directories.map((id) => cluster.ownerOf(`${channel}:d:${id}`))));
    expect(shards.size).toBe(3);
    const watchers = [await connect(first.url, token), await connect(second.url, token)];
    const writers = [await connect(first.url, token), await connect(second.url, token)];
    sockets.push(...watchers, ...writers);
    for (const watcher of watchers) for (const directoryId of directories) await watcher.request({ type: 'subscribe', directoryId });

    const rounds = 3;
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let round = 0; round < rounds; round++) {
          for (const directoryId of directories) expect((await writer.request({ type: 'scan', id: `c-${w}-${round}-${directoryId}`, directoryId, op: 'in', code: 'rice' })).ok).toBe(true);
        }
      }),
    );
    const expected = Array.from({ length: rounds * writers.length }, (_, i) => i + 1);
    for (const watcher of watchers) {
      for (const directoryId of directories) {
        await watcher.changesUpTo(directoryId, expected.length);
        expect(watcher.revisions(directoryId)).toEqual(expected);
      }
    }
    for (const server of [first, second]) expect(await metric(server, 'scancode_bus_messages_received_total', 'scope="directory"')).toBeGreaterThan(0);
  });

  it('drops, counted, what an instance with another BUS_SECRET publishes, and delivers nothing of it', async () => {
    const [first] = servers;
    const stranger = await instance({ BUS_SECRET: 'another-deployment-secret-0123456789abcdef' });
    const { token, directories } = await userWithDirectories(first, 'bob', 1);
    const [directoryId] = directories;
    const onFirst = await connect(first.url, token);
    const onStranger = await connect(stranger.url, token);
    sockets.push(onFirst, onStranger);
    for (const watcher of [onFirst, onStranger]) await watcher.request({ type: 'subscribe', directoryId });
    const dropped = () => metric(stranger, 'scancode_bus_dropped_messages_total', 'reason="unauthenticated"');
    const before = await dropped();

    expect((await client(first.url, token).post(`/api/directories/${directoryId}/scans`, { body: { op: 'in', code: 'tea', eventId: 's-1' } })).status).toBe(200);
    await eventually(async () => (await dropped()) > before, 'the stranger dropped the change');
    await onFirst.changesUpTo(directoryId, 1);
    // The stranger's watcher was at revision 0 and heard nothing; the periodic check is an hour away.
    expect(onStranger.changes(directoryId)).toEqual([]);
  });

  it('acks every scan while a master is killed, loses none, and brings every watcher to the final revision through the periodic check', async () => {
    // Two more instances with the periodic check on: with no replica, the killed master's channels
    // carry nothing until it comes back, and the check (every REVISION_CHECK_MS) is the bound.
    const [first, second] = [await instance({ REVISION_CHECK_MS: '500' }), await instance({ REVISION_CHECK_MS: '500' })];
    const { token, directories } = await userWithDirectories(first, 'carol', DIRECTORIES);
    const owners = await Promise.all(directories.map((id) => cluster.ownerOf(`${channel}:d:${id}`)));
    const victim = owners[0];
    expect(owners.filter((owner) => owner !== victim).length).toBeGreaterThan(0);
    const watchers = [await connect(first.url, token), await connect(second.url, token)];
    const scanners = [await connect(first.url, token), await connect(second.url, token)];
    sockets.push(...watchers, ...scanners);
    for (const watcher of watchers) for (const directoryId of directories) await watcher.request({ type: 'subscribe', directoryId });

    const acked = new Map<number, string[]>(directories.map((id) => [id, []]));
    const rounds = 4;
    await Promise.all(
      scanners.map(async (scanner, s) => {
        for (let round = 0; round < rounds; round++) {
          if (s === 0 && round === 1) await cluster.kill(victim);
          for (const directoryId of directories) {
            const id = `k-${s}-${round}-${directoryId}`;
            const ack = await scanner.request({ type: 'scan', id, directoryId, op: 'in', code: 'salt' });
            expect(ack.ok).toBe(true);
            acked.get(directoryId)?.push(id);
          }
        }
      }),
    );

    for (const directoryId of directories) {
      const ids = acked.get(directoryId) ?? [];
      expect((await loggedEventIds(first, token, directoryId)).sort()).toEqual([...ids].sort());
      const { revision } = await serverDirectory(first, token, directoryId);
      expect(revision).toBe(ids.length);
      for (const watcher of watchers) {
        await watcher.changesUpTo(directoryId, revision);
        expect(watcher.revisions(directoryId)).toEqual(Array.from({ length: revision }, (_, i) => i + 1));
      }
    }
  });
});
