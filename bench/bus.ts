/**
 * Bus messages per instance: 1, 2 and 4 scancode instances on one MariaDB database and one Redis (a
 * channel of the run's own), the directories spread evenly — directory d's watcher on instance d mod n,
 * its scanning device on instance d+1 mod n, so that every change crosses the bus when n > 1. Each
 * instance's `scancode_bus_messages_received_total` (from /metrics) is read before and after an open loop;
 * an instance that receives only what its sockets watch gets about 1/n of what is published.
 */
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { Clients } from './clients';
import { say, type ScanReply, type SocketSpec } from './messages';
import type { Options } from './options';
import { logins, target, type Target } from './sections';
import { freshMysqlDatabase, startScancode, type NodeProcess } from './server';
import { watcherVerdict } from './stats';

export interface BusPoint {
  instances: number;
  /** Changes made (the directories' revisions at the end, scans whose ack came late included), each published once on the bus. */
  published: number;
  /** Per instance: messages received over the run (null: the counter is not in /metrics), and the changes of the directories its sockets watch. */
  received: (number | null)[];
  watched: number[];
  watchers: string;
}

const METRIC = 'scancode_bus_messages_received_total';

/** The counter's total over its label sets, or null when /metrics has no such counter. */
export function metricTotal(text: string, name: string): number | null {
  let total: number | null = null;
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`).exec(line);
    if (match) total = (total ?? 0) + Number(match[1]);
  }
  return total;
}

async function received(t: Target): Promise<number | null> {
  const response = await fetch(`${t.base}/metrics`);
  return response.ok ? metricTotal(await response.text(), METRIC) : null;
}

/** Each directory's revision: its changes so far, each of which was published once. */
async function revisionsOf(url: string): Promise<Map<number, number>> {
  const c = await mysql.createConnection(url);
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('select id, revision from directories');
    return new Map(rows.map((row) => [Number(row.id), Number(row.revision)]));
  } finally {
    await c.end();
  }
}

/** The points for each number of `instances` on the Redis (or Redis Cluster) at `redisUrl`. */
/** The revisions once two readings half a second apart agree: scans still queued in the database when the servers looked idle are in. */
async function settledRevisions(url: string, maxMs: number): Promise<Map<number, number>> {
  let last = await revisionsOf(url);
  for (let waited = 0; waited < maxMs; waited += 500) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const next = await revisionsOf(url);
    if ([...next].every(([id, revision]) => last.get(id) === revision)) return next;
    last = next;
  }
  return last;
}

export async function busPoints(main: string, clients: Clients, o: Options, tmp: string, redisUrl = o.redisUrl, instances = o.busInstances): Promise<BusPoint[]> {
  const points: BusPoint[] = [];
  for (const n of instances) {
    const database = await freshMysqlDatabase(o.mysqlUrl, `scancode_bench_bus_${process.pid}`);
    const redis = { REDIS_URL: redisUrl, REDIS_CHANNEL: `scancode-bench-${process.pid}-${n}` };
    const servers: NodeProcess[] = [];
    try {
      // The first instance migrates the fresh database; the others start on it.
      servers.push(await startScancode(main, database.url, join(tmp, `bus-${n}-0.log`), redis));
      servers.push(...(await Promise.all(Array.from({ length: n - 1 }, (_, i) => startScancode(main, database.url, join(tmp, `bus-${n}-${i + 1}.log`), redis)))));
      const targets = servers.map(target);
      const users = await logins(
        targets[0].base,
        Array.from({ length: o.busDirectories }, (_, d) => `bus${d}#phone`),
        50,
      );
      for (const [i, t] of targets.entries()) {
        const mine = users.filter((_, d) => d % n === i);
        const scanning = users.filter((_, d) => (d + 1) % n === i);
        await clients.open(t.ws, [
          ...scanning.map(({ token, directoryId }): SocketSpec => ({ role: 'device', token, directoryId, subscribe: false })),
          ...mine.map(({ token, directoryId }): SocketSpec => ({ role: 'watcher', token, directoryId, subscribe: true })),
        ]);
      }
      const before = await Promise.all(targets.map(received));
      const initial = await revisionsOf(database.url);
      const replies = await clients.scans(() => ({
        cmd: 'open-loop',
        tag: `bus${n}`,
        rate: o.busRate / clients.count,
        durationMs: o.busMs,
        maxScans: Math.ceil((o.busRate * o.busMs) / 1000 / clients.count),
        drainMs: o.drainMs,
      }));
      // Every scan sent is applied and published before the watchers close (an instance stops receiving a directory's messages
      // once no socket of its own watches it); the watchers are then held to every change made, acked in time or not.
      await Promise.all(servers.map((server) => server.quiet(o.quietMs)));
      const revisions = await settledRevisions(database.url, o.quietMs);
      const final = Object.fromEntries(users.map((u) => [u.directoryId, revisions.get(u.directoryId) ?? 0]));
      const made = Object.fromEntries(users.map((u) => [u.directoryId, (revisions.get(u.directoryId) ?? 0) - (initial.get(u.directoryId) ?? 0)]));
      const everything: ScanReply = { ...replies[0], maxRevision: final, ackedBy: made, pushedBy: {} };
      const verdict = watcherVerdict(await clients.settle([everything]));
      const after = await Promise.all(targets.map(received));
      await clients.close();
      const changes = (i: number) => users.filter((_, d) => d % n === i).reduce((total, u) => total + made[u.directoryId], 0);
      const point: BusPoint = {
        instances: n,
        published: users.reduce((total, u) => total + made[u.directoryId], 0),
        received: after.map((a, i) => (a === null || before[i] === null ? null : a - (before[i] ?? 0))),
        watched: targets.map((_, i) => changes(i)),
        watchers: verdict,
      };
      points.push(point);
      say(
        `  bus${redisUrl.includes(',') ? ' (Redis Cluster)' : ''}, ${n} instance(s): ${point.published} published; received per instance ${point.received.map((r) => r ?? 'n/a').join(', ')}; watched ${point.watched.join(', ')}; ${verdict}`,
      );
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
      await database.drop();
    }
  }
  return points;
}
