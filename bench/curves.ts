/**
 * How cost grows with the number of directories: for 1, 10, … 10,000 directories, each with 2 phones
 * (one scanning device and one watcher, sessions of the directory's owner), a fixed total rate offered
 * in an open loop over the devices; acked scans/s, ack p99, and whether every watcher got its
 * directory's changes once each, in order.
 */
import type { Clients } from './clients';
import { say, type ScanReply, type SocketSpec } from './messages';
import type { Options } from './options';
import { logins, type Target } from './sections';
import { throughput, watcherVerdict, type Throughput } from './stats';
import { fileLimit, type Login } from './server';
import { now } from './messages';

/** File descriptors the server needs besides its sockets (database, log, listening socket, Redis). */
const SERVER_FDS = 400;

export interface CurvePoint extends Throughput {
  directories: number;
  offered: number;
  /** Scans sent whose ack had not come when the drain time ran out. */
  unacked: number;
  /** Sockets asked for and opened, and how long opening (and subscribing) them took. */
  sockets: number;
  opened: number;
  openMs: number;
  watchers: string;
  gaps: number;
  duplicates: number;
}

/**
 * The directories are users' default directories, created by dev logins through the API, 50 at a time
 * (10,000 take a few tens of seconds); the largest point's users are made once, the smaller points use
 * the first of them.
 */
export async function costCurve(t: Target, clients: Clients, o: Options, prefix: string): Promise<CurvePoint[]> {
  // The server holds both sockets of every directory: a point past the open-file limit runs as large as fits, and says so.
  const fits = Math.floor((fileLimit() - SERVER_FDS) / 2);
  const counts = o.curveDirectories.map((d) => Math.min(d, fits));
  if (counts.some((d, i) => d !== o.curveDirectories[i])) say(`  curves: the open-file limit (${fileLimit()}) holds ${fits} directories × 2 sockets; larger points run at ${fits}`);
  const largest = Math.max(...counts);
  const began = now();
  const users: Login[] = await logins(
    t.base,
    Array.from({ length: largest }, (_, u) => `${prefix}${u}#phone`),
    50,
  );
  say(`  curves: ${largest} users and directories made in ${((now() - began) / 1000).toFixed(1)} s`);
  const points: CurvePoint[] = [];
  for (const directories of counts) {
    const chosen = users.slice(0, directories);
    // Devices first, then watchers: with an even count, a directory's watcher lands in its device's process.
    const specs: SocketSpec[] = [
      ...chosen.map(({ token, directoryId }): SocketSpec => ({ role: 'device', token, directoryId, subscribe: false })),
      ...chosen.map(({ token, directoryId }): SocketSpec => ({ role: 'watcher', token, directoryId, subscribe: true })),
    ];
    const opening = now();
    const opened = await clients.open(t.ws, specs, t.transport);
    const openMs = now() - opening;
    const devicesOf = (index: number) => chosen.filter((_, d) => d % clients.count === index).length;
    const replies = await clients.scans((index) => {
      const rate = (o.curveRate * devicesOf(index)) / directories;
      if (rate === 0) return null;
      return { cmd: 'open-loop', tag: `curve${directories}`, rate, durationMs: o.curveMs, maxScans: Math.ceil((rate * o.curveMs) / 1000), drainMs: o.drainMs };
    });
    const result = throughput(replies);
    // The watchers are held to every scan acked, the acks that came after the drain time included.
    const late = await clients.each<ScanReply>((index) => (devicesOf(index) > 0 ? { cmd: 'late', timeoutMs: 60_000 } : null));
    const settled = await clients.settle(late, false, 30_000);
    await clients.close();
    await t.process.quiet(o.quietMs);
    const refused = Object.values(result.errors).reduce((a, b) => a + b, 0);
    const point: CurvePoint = {
      ...result,
      directories,
      offered: o.curveRate,
      unacked: result.sent - result.acked - refused,
      sockets: specs.length,
      opened: opened.opened,
      openMs,
      watchers: watcherVerdict(settled),
      gaps: settled.reduce((total, s) => total + s.gaps, 0),
      duplicates: settled.reduce((total, s) => total + s.duplicates, 0),
    };
    points.push(point);
    say(
      `  curve ${directories} directories × 2 phones: ${Math.round(point.rate)}/s acked of ${o.curveRate}/s, p99 ${point.p99.toFixed(1)} ms; ` +
        `${point.gaps} gaps, ${point.duplicates} duplicates; ${point.watchers}; sockets opened in ${(openMs / 1000).toFixed(1)} s`,
    );
  }
  return points;
}
