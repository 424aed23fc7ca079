/**
 * What one fan-out costs the server: starts a compiled server (`node <main.js>`, embedded database, dev
 * login), subscribes `--watchers` sockets to one directory, sends `--scans` scans one every 200 ms from
 * another socket, and prints the server's CPU time per scan (from /proc, so that a busy machine moves it
 * less than it moves latencies), the scanner's ack latency and the delivery latency seen here. With
 * `--cpu-prof`, the server writes a V8 CPU profile into `--dir` for reading in Chrome's DevTools.
 *
 *   npx ts-node --transpile-only bench/profile-fanout.ts --main=dist/bench-server/src/main.js --watchers=1000 --scans=50
 *
 * Not part of `npm run bench`: a tool for reading where a fan-out's time goes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { freePort, login } from './server';

const args = new Map(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]));
const MAIN = resolve(args.get('main') ?? 'dist/bench-server/src/main.js');
const WATCHERS = Number(args.get('watchers') ?? 1000);
const SCANS = Number(args.get('scans') ?? 50);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

type Frame = { type: string; id?: string; change?: { eventId?: string } };

function connect(url: string, token: string, onFrame: (frame: Frame) => void): Promise<WebSocket> {
  return new Promise((done, fail) => {
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    socket.on('error', fail);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      if (frame.type === 'hello') done(socket);
      onFrame(frame);
    });
  });
}

async function main(): Promise<void> {
  const dir = args.get('dir') ?? mkdtempSync(join(tmpdir(), 'scancode-fanout-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: `file:${join(dir, 'scancode.db')}`, LOG_LEVEL: 'warn', NODE_ENV: 'development' };
  for (const name of Object.keys(env)) if (/^(WECHAT_|REDIS_)/.test(name)) delete env[name];
  const flags = args.has('cpu-prof') ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  const server = spawn(process.execPath, [...flags, MAIN], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  const url = `ws://127.0.0.1:${port}/ws`;
  try {
    for (
      let waited = 0;
      !(await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      ));
      waited += 100
    ) {
      if (waited > 60_000) throw new Error('the server did not start');
      await sleep(100);
    }
    const scanner = await login(base, 'fan#scanner');
    const sessions = await Promise.all(Array.from({ length: 10 }, (_, s) => login(base, `fan#watcher${s}`)));
    const sentAt = new Map<string, number>();
    const delays: number[] = [];
    const sockets: WebSocket[] = [];
    for (let opened = 0; opened < WATCHERS; opened += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, WATCHERS - opened) }, async (_, i) => {
          let subscribed!: () => void;
          const acked = new Promise<void>((done) => (subscribed = done));
          const socket = await connect(url, sessions[(opened + i) % sessions.length].token, (frame) => {
            if (frame.type === 'ack' && frame.id === 's') subscribed();
            const eventId = frame.change?.eventId;
            if (frame.type === 'change' && eventId !== undefined && sentAt.has(eventId)) delays.push(performance.now() - sentAt.get(eventId)!);
          });
          sockets.push(socket);
          socket.send(JSON.stringify({ type: 'subscribe', id: 's', directoryId: scanner.directoryId }));
          await acked;
        }),
      );
    }
    const acks: number[] = [];
    const waiting = new Map<string, () => void>();
    const device = await connect(url, scanner.token, (frame) => {
      if (frame.type === 'ack' && frame.id !== undefined) waiting.get(frame.id)?.();
    });
    await sleep(1000);
    const cpuBefore = cpuMs(server.pid!);
    for (let n = 0; n < SCANS; n++) {
      const eventId = `fan-${process.pid}-${n}`;
      const acked = new Promise<void>((done) => waiting.set(eventId, done));
      const at = performance.now();
      sentAt.set(eventId, at);
      device.send(JSON.stringify({ type: 'scan', id: eventId, directoryId: scanner.directoryId, op: 'in', code: `fan-${n % 50}`, qty: 1 }));
      void acked.then(() => acks.push(performance.now() - at));
      await sleep(200);
    }
    await sleep(1000);
    const cpu = cpuMs(server.pid!) - cpuBefore;
    console.log(
      `${WATCHERS} watchers, ${acks.length}/${SCANS} scans acked, ${delays.length}/${SCANS * WATCHERS} change frames: server CPU ${(cpu / SCANS).toFixed(1)} ms per scan; ` +
        `ack p50 ${percentile(acks, 50).toFixed(1)} ms; delivery p50 ${percentile(delays, 50).toFixed(1)} ms, p99 ${percentile(delays, 99).toFixed(1)} ms`,
    );
    for (const socket of [...sockets, device]) socket.terminate();
  } finally {
    server.kill('SIGTERM');
    await new Promise((done) => server.once('exit', done));
    if (!args.has('dir')) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
