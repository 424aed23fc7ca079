/**
 * The measurements against a running server, all over HTTP and /ws: closed loop (scans, transfers,
 * count lines), open loop, fan-out and idle-socket memory, plus the raw ws echo server's round trip and memory for comparison.
 */
import type { Clients } from './clients';
import { say, type SocketSpec, type Transport } from './messages';
import type { Options } from './options';
import { login, type Login, type NodeProcess } from './server';
import { latency, throughput, watcherVerdict, type Latency, type Throughput } from './stats';

export interface Target {
  process: NodeProcess;
  base: string;
  /** Where the client sockets connect, speaking `transport`. */
  ws: string;
  transport: Transport;
}

export const target = (process: NodeProcess): Target => ({ process, base: `http://127.0.0.1:${process.port}`, ws: `ws://127.0.0.1:${process.port}/ws`, transport: 'scancode' });

/** 50 scanning devices (a session each) and 3 watcher sessions per directory. */
export interface Layout {
  devices: SocketSpec[];
  watchers: SocketSpec[];
}

export const DEVICES = 50;
export const WATCHERS_PER_DIRECTORY = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Dev logins, `parallel` at a time (each creates the user and its default directory on first use). */
export async function logins(base: string, codes: string[], parallel = 25): Promise<Login[]> {
  const done: Login[] = [];
  for (let i = 0; i < codes.length; i += parallel) done.push(...(await Promise.all(codes.slice(i, i + parallel).map((code) => login(base, code)))));
  return done;
}

/** `users` 1: every device and watcher is a session of one user (its default directory); 50: a user each. */
export async function layout(base: string, prefix: string, users: 1 | 50): Promise<Layout> {
  const user = (d: number) => (users === 1 ? prefix : `${prefix}${d}`);
  const devices = await logins(
    base,
    Array.from({ length: DEVICES }, (_, d) => `${user(d)}#device`),
  );
  const watched = users === 1 ? [0] : devices.map((_, d) => d);
  const watcherCodes = watched.flatMap((d) => Array.from({ length: WATCHERS_PER_DIRECTORY }, (_, w) => `${user(d)}#watcher${w}`));
  const watchers = await logins(base, watcherCodes);
  return {
    devices: devices.map(({ token, directoryId }) => ({ role: 'device', token, directoryId, subscribe: false })),
    watchers: watchers.map(({ token, directoryId }) => ({ role: 'watcher', token, directoryId, subscribe: true })),
  };
}

export async function post<T>(base: string, path: string, token: string, body: unknown, status: number): Promise<T> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.status !== status) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Runs `task` over 0..n-1, 25 at a time. */
async function inBatches<T>(n: number, task: (d: number) => Promise<T>): Promise<T[]> {
  const done: T[] = [];
  for (let i = 0; i < n; i += 25) done.push(...(await Promise.all(Array.from({ length: Math.min(25, n - i) }, (_, j) => task(i + j)))));
  return done;
}

/**
 * 1c: 50 users, each with a pair of directories (its default one, holding 1,000,000 of one goods, and a
 * second); each device transfers one unit from the first to the second. One watcher per directory.
 */
export async function transferLayout(base: string): Promise<Layout> {
  const pairs = await inBatches(DEVICES, async (d) => {
    const device = await login(base, `xfer${d}#device`);
    const watcher = await login(base, `xfer${d}#watcher`);
    const to = (await post<{ directory: { id: number } }>(base, '/api/directories', device.token, { name: 'bench to' }, 201)).directory.id;
    await post(base, `/api/directories/${device.directoryId}/scans`, device.token, { op: 'in', code: 'bench-t', qty: 1_000_000 }, 200);
    return { device, watcher, from: device.directoryId, to };
  });
  return {
    devices: pairs.map(({ device, from, to }) => ({ role: 'device', token: device.token, directoryId: from, subscribe: false, work: { kind: 'transfer', from, to } })),
    watchers: pairs.flatMap(({ watcher, from, to }) => [from, to].map((directoryId): SocketSpec => ({ role: 'watcher', token: watcher.token, directoryId, subscribe: true }))),
  };
}

/** 1d: 50 users, a directory each with one open count session; each device adds lines of one unit to it. One watcher per directory. */
export async function countLayout(base: string): Promise<Layout> {
  const counts = await inBatches(DEVICES, async (d) => {
    const device = await login(base, `lines${d}#device`);
    const watcher = await login(base, `lines${d}#watcher`);
    const { count } = await post<{ count: { id: number } }>(base, `/api/directories/${device.directoryId}/counts`, device.token, { name: 'bench' }, 201);
    return { device, watcher, countId: count.id };
  });
  return {
    devices: counts.map(({ device, countId }) => ({ role: 'device', token: device.token, directoryId: device.directoryId, subscribe: false, work: { kind: 'count', countId } })),
    watchers: counts.map(({ device, watcher }) => ({ role: 'watcher', token: watcher.token, directoryId: device.directoryId, subscribe: true })),
  };
}

export interface Closed extends Throughput {
  cpuMsPerScan: number;
  watchers: string;
}

/** Closed loop: each device sends its next scan (or transfer, or count line) when its previous ack arrives; watchers checked afterwards. */
export async function closedLoop(server: Target, clients: Clients, sockets: Layout, o: Options, tag: string): Promise<Closed> {
  await clients.open(server.ws, [...sockets.devices, ...sockets.watchers], server.transport);
  const cpuBefore = server.process.cpuMs();
  const replies = await clients.scans(() => ({ cmd: 'closed', tag, warmupMs: o.warmupMs, durationMs: o.closedMs, maxScans: 200_000 }));
  const cpu = server.process.cpuMs() - cpuBefore;
  const result = throughput(replies);
  const verdict = watcherVerdict(await clients.settle(replies));
  await clients.close();
  await server.process.quiet(o.quietMs);
  return { ...result, cpuMsPerScan: cpu / result.acked, watchers: verdict };
}

export interface OpenStep extends Throughput {
  offered: number;
  /** Scans sent whose ack had not come when the step's drain time ran out. */
  unacked: number;
}

/** Open loop: each rate offered on a timer over the 50 devices (a user and directory each), acked or not. */
export async function openLoop(server: Target, clients: Clients, sockets: Layout, o: Options, rates = o.rates): Promise<OpenStep[]> {
  const steps: OpenStep[] = [];
  for (const offered of rates) {
    await clients.open(server.ws, sockets.devices, server.transport);
    // The devices are dealt round-robin, so each process offers its share of the rate.
    const share = (index: number) => sockets.devices.filter((_, d) => d % clients.count === index).length / sockets.devices.length;
    const replies = await clients.scans((index) => ({
      cmd: 'open-loop',
      tag: `open${offered}`,
      rate: offered * share(index),
      durationMs: o.stepMs,
      maxScans: Math.ceil((offered * share(index) * o.stepMs) / 1000),
      drainMs: o.drainMs,
    }));
    const result = throughput(replies);
    const refused = Object.values(result.errors).reduce((a, b) => a + b, 0);
    steps.push({ ...result, offered, unacked: result.sent - result.acked - refused });
    await clients.close();
    await server.process.quiet(o.quietMs);
    say(`  2 open loop ${offered}/s offered: ${Math.round(result.rate)}/s acked, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`);
  }
  return steps;
}

export interface FanOut {
  watchers: number;
  scans: number;
  delivered: number;
  expected: number;
  delivery: Latency;
  ack: Latency;
  check: string;
}

/** One scan every 200 ms into a directory watched by many sockets: scan sent → change frame on each watcher. */
export async function fanOut(server: Target, clients: Clients, o: Options): Promise<FanOut> {
  const scanner = await login(server.base, 'fan#scanner');
  const sessions = await logins(
    server.base,
    Array.from({ length: 10 }, (_, s) => `fan#watcher${s}`),
  );
  const watchers: SocketSpec[] = Array.from({ length: o.fanoutWatchers }, (_, w) => ({
    role: 'watcher',
    token: sessions[w % sessions.length].token,
    directoryId: scanner.directoryId,
    subscribe: true,
  }));
  // The scanner first, so that it lands in client process 0.
  await clients.open(server.ws, [{ role: 'device', token: scanner.token, directoryId: scanner.directoryId, subscribe: false }, ...watchers]);
  const replies = await clients.scans(() => ({ cmd: 'tick', tag: 'fan', intervalMs: 200, count: o.fanoutScans }));
  const settled = await clients.settle(replies, true);
  await clients.close();
  await server.process.quiet(o.quietMs);
  const sentAt = Object.assign({}, ...replies.map((r) => r.sentAt)) as Record<string, number>;
  const delays: number[] = [];
  for (const arrivals of settled) for (const [eventId, times] of Object.entries(arrivals.arrivals)) for (const at of times) if (sentAt[eventId] !== undefined) delays.push(at - sentAt[eventId]);
  const acked = replies.reduce((total, r) => total + r.acked, 0);
  return {
    watchers: o.fanoutWatchers,
    scans: acked,
    delivered: delays.length,
    expected: acked * o.fanoutWatchers,
    delivery: latency(delays),
    ack: latency(replies.flatMap((r) => r.latencies)),
    check: watcherVerdict(settled),
  };
}

export interface Memory {
  sockets: number;
  failed: number;
  firstFailure: string | null;
  rssBefore: number;
  rssAfter: number;
  bytesPerSocket: number;
}

/**
 * RSS once the process has settled: the lowest of readings every 200 ms over a few seconds, so that
 * garbage a collection was about to free (the opening's JSON, queries) does not count as the sockets'.
 */
async function settledRss(process: NodeProcess, o: Options): Promise<number> {
  await sleep(o.quick ? 500 : 2000);
  let lowest = Infinity;
  for (let reading = 0; reading < (o.quick ? 5 : 15); reading++) {
    lowest = Math.min(lowest, process.rssBytes());
    await sleep(200);
  }
  return lowest;
}

/**
 * Server RSS per idle socket: a warm-up batch first (so one-time costs land before the first reading),
 * then `o.sockets` more, each authenticated and subscribed (or, on the echo server, having echoed one frame).
 */
export async function memory(server: Target, clients: Clients, o: Options, echo: boolean): Promise<Memory> {
  const users = 10;
  const sessions = echo
    ? []
    : await logins(
        server.base,
        Array.from({ length: users }, (_, u) => `memory${u}#phone`),
      );
  const spec = (i: number): SocketSpec =>
    echo ? { role: 'watcher', directoryId: 1, subscribe: true } : { role: 'watcher', token: sessions[i % users].token, directoryId: sessions[i % users].directoryId, subscribe: true };
  const url = echo ? `ws://127.0.0.1:${server.process.port}/` : server.ws;
  await clients.open(
    url,
    Array.from({ length: 100 }, (_, i) => spec(i)),
    echo ? 'echo' : 'scancode',
  );
  const rssBefore = await settledRss(server.process, o);
  const opened = await clients.open(
    url,
    Array.from({ length: o.sockets }, (_, i) => spec(i)),
    echo ? 'echo' : 'scancode',
  );
  const rssAfter = await settledRss(server.process, o);
  await clients.close();
  return { sockets: opened.opened, failed: opened.failed, firstFailure: opened.firstFailure, rssBefore, rssAfter, bytesPerSocket: (rssAfter - rssBefore) / opened.opened };
}

/** Round trips of a scan-sized frame to the echo server, 50 clients in a closed loop. */
export async function echoRoundTrips(echoServer: NodeProcess, clients: Clients, o: Options): Promise<Throughput> {
  const devices: SocketSpec[] = Array.from({ length: DEVICES }, () => ({ role: 'device', directoryId: 1, subscribe: false }));
  await clients.open(`ws://127.0.0.1:${echoServer.port}/`, devices, 'echo');
  const replies = await clients.scans(() => ({ cmd: 'closed', tag: 'echo', warmupMs: o.warmupMs, durationMs: o.closedMs, maxScans: 10_000_000 }));
  await clients.close();
  return throughput(replies);
}
