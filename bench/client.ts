/**
 * A client process of the bench (forked by the runner): opens the sockets it is given and drives them
 * on command (closed loop, open loop, timed scans), then reports latencies and what its watchers saw.
 */
import type { Command, OpenReply, Reply, ScanReply, SettleReply, SocketSpec, Transport } from './messages';
import { now } from './messages';
import { BenchSocket, type Watched } from './socket';
import { IoBenchSocket } from './socketio-socket';

const OPENING_IN_PARALLEL = 50;
const CLOSE_WAIT_MS = 5_000;

let sockets: Watched[] = [];
let transport: Transport = 'scancode';
/** The last open loop's report, which its scans' late acks go on filling after it was sent, and the moment all are in. */
let lastOpenLoop: { reply: ScanReply; done: Promise<unknown> } | null = null;
const devices = () => sockets.filter((socket) => socket.spec.role === 'device');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function open(url: string, specs: SocketSpec[]): Promise<OpenReply> {
  const reply: OpenReply = { opened: 0, failed: 0, firstFailure: null };
  let next = 0;
  const opener = async () => {
    while (next < specs.length) {
      const spec = specs[next++];
      try {
        sockets.push(transport === 'socketio' ? await IoBenchSocket.open(url, spec) : await BenchSocket.open(url, spec, transport === 'echo'));
        reply.opened++;
      } catch (error) {
        reply.failed++;
        reply.firstFailure ??= String(error instanceof Error ? error.message : error);
      }
    }
  };
  await Promise.all(Array.from({ length: OPENING_IN_PARALLEL }, opener));
  return reply;
}

function scanReply(from: number): ScanReply {
  return { latencies: [], measured: 0, acked: 0, sent: 0, errors: {}, maxRevision: {}, ackedBy: {}, pushedBy: {}, from, to: from, sentAt: {} };
}

/** The device's n-th request: a scan of one unit into its directory (50 codes in turn), or its `work`'s frame. */
function frameOf(device: Watched, eventId: string, n: number): Record<string, unknown> & { id: string } {
  const work = device.spec.work;
  if (work?.kind === 'transfer') return { type: 'transfer', id: eventId, from: work.from, to: work.to, code: 'bench-t', qty: 1 };
  if (work?.kind === 'count') return { type: 'count', id: eventId, countId: work.countId, code: `bench-${n % 50}`, qty: 1 };
  return { type: 'scan', id: eventId, directoryId: device.spec.directoryId, op: 'in', code: `bench-${n % 50}`, qty: 1 };
}

function changed(reply: ScanReply, directory: number, revision: number | null): void {
  reply.ackedBy[directory] = (reply.ackedBy[directory] ?? 0) + 1;
  if (revision !== null) reply.maxRevision[directory] = Math.max(reply.maxRevision[directory] ?? 0, revision);
}

/** Sends one request (an event id unique to this run) and records its ack; resolves to its latency or null. */
async function scan(reply: ScanReply, device: Watched, eventId: string, n: number): Promise<number | null> {
  const sentAt = now();
  reply.sent++;
  const answer = await device.request(frameOf(device, eventId, n));
  if (!answer.ok) {
    const code = answer.errorCode ?? 'unknown';
    reply.errors[code] = (reply.errors[code] ?? 0) + 1;
    return null;
  }
  reply.acked++;
  reply.to = Math.max(reply.to, now());
  const { work, directoryId } = device.spec;
  if (work?.kind === 'transfer') {
    changed(reply, work.from, answer.sides.out);
    changed(reply, work.to, answer.sides.in);
  } else if (work?.kind === 'count') {
    reply.pushedBy[directoryId] = (reply.pushedBy[directoryId] ?? 0) + 1;
  } else {
    changed(reply, directoryId, answer.revision);
  }
  return now() - sentAt;
}

async function closedLoop(tag: string, warmupMs: number, durationMs: number, maxScans: number): Promise<ScanReply> {
  const warmEnd = now() + warmupMs;
  const end = warmEnd + durationMs;
  const reply = scanReply(warmEnd);
  let budget = maxScans;
  await Promise.all(
    devices().map(async (device, d) => {
      for (let n = 0; device.isOpen && now() < end && budget-- > 0; n++) {
        const sentAt = now();
        const latency = await scan(reply, device, `${tag}.${process.pid}.${d}.${n}`, n);
        if (latency !== null && sentAt >= warmEnd) {
          reply.latencies.push(latency);
          reply.measured++;
        }
      }
    }),
  );
  return reply;
}

/**
 * Open loop: scan k is due at start + k/rate, whatever the acks, and its latency counts from that
 * moment (so a client that fell behind its schedule cannot hide the server's queueing).
 */
async function openLoop(tag: string, rate: number, durationMs: number, maxScans: number, drainMs: number): Promise<ScanReply> {
  const start = now();
  const reply = scanReply(start);
  const total = Math.min(maxScans, Math.floor((rate * durationMs) / 1000));
  const pool = devices();
  if (pool.length === 0) return reply;
  const inFlight: Promise<void>[] = [];
  let sent = 0;
  while (sent < total && now() - start < durationMs + 1000) {
    const due = Math.min(total, Math.floor(((now() - start) * rate) / 1000) + 1);
    for (; sent < due; sent++) {
      const device = pool[sent % pool.length];
      const dueAt = start + (sent * 1000) / rate;
      const n = sent;
      inFlight.push(
        scan(reply, device, `${tag}.${process.pid}.${n}`, n).then((latency) => {
          if (latency === null) return;
          reply.latencies.push(now() - dueAt);
          reply.measured++;
        }),
      );
    }
    await sleep(2);
  }
  lastOpenLoop = { reply, done: Promise.all(inFlight) };
  await Promise.race([lastOpenLoop.done, sleep(drainMs)]);
  return reply;
}

async function late(timeoutMs: number): Promise<ScanReply> {
  if (!lastOpenLoop) return scanReply(now());
  await Promise.race([lastOpenLoop.done, sleep(timeoutMs)]);
  return lastOpenLoop.reply;
}

/** The fan-out scanner: one scan every intervalMs from each device here, acked or not. */
async function tick(tag: string, intervalMs: number, count: number): Promise<ScanReply> {
  const start = now();
  const reply = scanReply(start);
  const inFlight: Promise<void>[] = [];
  for (let n = 0; n < count; n++) {
    await sleep(start + n * intervalMs - now());
    for (const [d, device] of devices().entries()) {
      const eventId = `${tag}.${process.pid}.${d}.${n}`;
      reply.sentAt[eventId] = now();
      inFlight.push(
        scan(reply, device, eventId, n).then((latency) => {
          if (latency !== null) reply.latencies.push(latency);
        }),
      );
    }
  }
  await Promise.race([Promise.all(inFlight), sleep(10_000)]);
  reply.measured = reply.latencies.length;
  return reply;
}

async function settle(finalRevisions: Record<number, number>, scans: Record<number, number>, pushes: Record<number, number>, timeoutMs: number, withArrivals: boolean): Promise<SettleReply> {
  const watchers = sockets.filter((socket) => socket.spec.role === 'watcher');
  const behind = () => watchers.filter((w) => w.isOpen && ((w.last ?? -1) < (finalRevisions[w.spec.directoryId] ?? -1) || w.countPushes < (pushes[w.spec.directoryId] ?? 0)));
  const deadline = now() + timeoutMs;
  while (behind().length > 0 && now() < deadline) await sleep(50);
  const reply: SettleReply = { watchers: watchers.length, frames: 0, pushes: 0, violations: [], violationCount: 0, gaps: 0, duplicates: 0, arrivals: {} };
  for (const watcher of watchers) {
    const final = finalRevisions[watcher.spec.directoryId];
    if (final !== undefined && (watcher.last ?? -1) < final) {
      watcher.violate(`directory ${watcher.spec.directoryId}: a watcher stopped at ${watcher.last} of ${final}${watcher.isOpen ? '' : ' (socket closed)'}`);
    }
    const expected = scans[watcher.spec.directoryId];
    if (expected !== undefined && watcher.frames !== expected) {
      watcher.violate(`directory ${watcher.spec.directoryId}: a watcher got ${watcher.frames} change frames for ${expected} acked changes`);
    }
    const lines = pushes[watcher.spec.directoryId];
    if (lines !== undefined && watcher.countPushes !== lines) {
      watcher.violate(`directory ${watcher.spec.directoryId}: a watcher got ${watcher.countPushes} count pushes for ${lines} acked count lines`);
    }
    reply.frames += watcher.frames;
    reply.pushes += watcher.countPushes;
    reply.violationCount += watcher.violationCount;
    reply.gaps += watcher.gaps;
    reply.duplicates += watcher.duplicates;
    if (reply.violations.length < 5) reply.violations.push(...watcher.violations.slice(0, 5 - reply.violations.length));
    if (withArrivals) for (const [eventId, at] of watcher.arrivals) (reply.arrivals[eventId] ??= []).push(at);
  }
  return reply;
}

async function closeAll(): Promise<{ closed: number }> {
  const closing = sockets;
  sockets = [];
  await Promise.all(closing.map((socket) => socket.close(CLOSE_WAIT_MS)));
  return { closed: closing.length };
}

function handle(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'open':
      transport = command.transport;
      return open(command.url, command.sockets);
    case 'closed':
      return closedLoop(command.tag, command.warmupMs, command.durationMs, command.maxScans);
    case 'open-loop':
      return openLoop(command.tag, command.rate, command.durationMs, command.maxScans, command.drainMs);
    case 'tick':
      return tick(command.tag, command.intervalMs, command.count);
    case 'settle':
      return settle(command.finalRevisions, command.scans, command.pushes, command.timeoutMs, command.arrivals);
    case 'late':
      return late(command.timeoutMs);
    case 'close':
      return closeAll();
  }
}

// Commands are handled one at a time, in the order the runner sent them.
let queue: Promise<void> = Promise.resolve();
process.on('message', (command: Command) => {
  queue = queue.then(async () => {
    let reply: Reply;
    try {
      reply = { ok: true, result: await handle(command) };
    } catch (error) {
      reply = { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
    }
    process.send?.(reply);
  });
});
process.on('disconnect', () => process.exit(0));
