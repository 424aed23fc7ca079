/**
 * Where the bytes of an idle subscribed socket go: starts a compiled server (`node <main.js>`, embedded
 * database, dev login) with heap snapshots on SIGWINCH, opens a warm-up batch of sockets, takes a
 * snapshot, opens `--sockets` more (each authenticated by header and subscribed to its user's
 * directory), takes another, and prints the retained growth per socket by the snapshot's object kind
 * (constructor or V8 type), next to RSS and process.memoryUsage()-like figures from /proc.
 *
 *   npx ts-node --transpile-only bench/profile-sockets.ts --main=dist/bench-server/src/main.js --sockets=2000
 *   npx ts-node --transpile-only bench/profile-sockets.ts --echo --sockets=2000   (the bare ws server, after npm run bench compiled it)
 *
 * Not part of `npm run bench`: a tool for reading the cost of a socket, not a figure to track.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { freePort, login } from './server';

const args = new Map(process.argv.slice(2).map((arg) => /^--([^=]+)=?(.*)$/.exec(arg)?.slice(1, 3) as [string, string]));
const MAIN = resolve(args.get('main') ?? 'dist/bench-server/src/main.js');
/** The bare ws echo server (bench/echo-server.ts, compiled), measured the same way, for comparison. */
const ECHO = args.has('echo');
/** Only RSS, settled as the bench reads it (no heap snapshots, which grow the process themselves); `--node-flags=a,b` are given to the server's node. */
const RSS_ONLY = args.has('rss-only');
const NODE_FLAGS = (args.get('node-flags') ?? '').split(',').filter(Boolean);
const SOCKETS = Number(args.get('sockets') ?? 2000);
const WARM = 100;
const USERS = 10;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self sizes summed by kind: an object's constructor name, or the V8 type for strings, code, arrays and the like. */
function kinds(path: string): Map<string, { count: number; bytes: number }> {
  const heap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field));
  const totals = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < heap.nodes.length; i += width) {
    const type = types[heap.nodes[i + typeAt]];
    const key = type === 'object' || type === 'closure' ? `${type === 'closure' ? 'closure ' : ''}${heap.strings[heap.nodes[i + nameAt]]}` : `(${type})`;
    const total = totals.get(key) ?? { count: 0, bytes: 0 };
    total.count += 1;
    total.bytes += heap.nodes[i + sizeAt];
    totals.set(key, total);
  }
  return totals;
}

function status(pid: number): { rss: number; anon: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon') };
}

async function snapshot(pid: number, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGWINCH');
  for (;;) {
    await sleep(500);
    const fresh = readdirSync(dir).find((name) => !before.has(name) && name.endsWith('.heapsnapshot'));
    if (!fresh) continue;
    const path = join(dir, fresh);
    // Written in pieces: done once it ends as a snapshot's JSON does and its size has stopped moving.
    let size = -1;
    while (statSync(path).size !== size || !readFileSync(path, 'utf8').trimEnd().endsWith(']}')) {
      size = statSync(path).size;
      await sleep(1000);
    }
    return path;
  }
}

async function open(url: string, count: number, sessions: { token: string; directoryId: number }[], sockets: WebSocket[]): Promise<void> {
  for (let opened = 0; opened < count; opened += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, count - opened) }, (_, i) => {
        const session = sessions[(opened + i) % sessions.length];
        return new Promise<void>((done, fail) => {
          const socket = new WebSocket(url, { headers: { authorization: `Bearer ${session.token}` }, perMessageDeflate: false });
          sockets.push(socket);
          socket.on('error', fail);
          if (ECHO) {
            socket.on('open', () => socket.send('{"type":"ping","id":1}'));
            socket.on('message', () => done());
            return;
          }
          socket.on('message', (data) => {
            const frame = JSON.parse(String(data)) as { type: string; id?: string };
            if (frame.type === 'hello') socket.send(JSON.stringify({ type: 'subscribe', id: 's', directoryId: session.directoryId }));
            else if (frame.type === 'ack' && frame.id === 's') done();
          });
        });
      }),
    );
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'scancode-profile-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: `file:${join(dir, 'scancode.db')}`, LOG_LEVEL: 'warn', NODE_ENV: 'development' };
  for (const name of Object.keys(env)) if (/^(WECHAT_|REDIS_)/.test(name)) delete env[name];
  const script = ECHO ? resolve('dist/bench/echo-server.js') : MAIN;
  const server = spawn(process.execPath, [...NODE_FLAGS, '--heapsnapshot-signal=SIGWINCH', `--diagnostic-dir=${dir}`, script], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  try {
    const ready = ECHO
      ? () =>
          fetch(base).then(
            (r) => r.status === 426,
            () => false,
          )
      : () =>
          fetch(`${base}/readyz`).then(
            (r) => r.ok,
            () => false,
          );
    for (let waited = 0; !(await ready()); waited += 100) {
      if (waited > 60_000) throw new Error('the server did not start');
      await sleep(100);
    }
    const sessions = ECHO ? [{ token: '', directoryId: 0 }] : await Promise.all(Array.from({ length: USERS }, (_, u) => login(base, `profile${u}#phone`)));
    const sockets: WebSocket[] = [];
    const url = ECHO ? `ws://127.0.0.1:${port}/` : `ws://127.0.0.1:${port}/ws`;
    await open(url, WARM, sessions, sockets);
    await sleep(1000);
    if (RSS_ONLY) {
      const settled = async () => {
        await sleep(2000);
        let lowest = Infinity;
        for (let reading = 0; reading < 15; reading++, await sleep(200)) lowest = Math.min(lowest, status(server.pid!).rss);
        return lowest;
      };
      const before = await settled();
      await open(url, SOCKETS, sessions, sockets);
      console.log(`${SOCKETS} sockets (after ${WARM} warm-up), node ${NODE_FLAGS.join(' ')}: settled RSS +${Math.round(((await settled()) - before) / SOCKETS)} B/socket`);
      for (const socket of sockets) socket.terminate();
      return;
    }
    const first = await snapshot(server.pid!, dir);
    const statusBefore = status(server.pid!);
    await open(url, SOCKETS, sessions, sockets);
    await sleep(1000);
    const second = await snapshot(server.pid!, dir);
    await sleep(1000);
    const statusAfter = status(server.pid!);
    const [before, after] = [kinds(first), kinds(second)];
    const rows = [...after]
      .map(([kind, total]) => ({ kind, count: total.count - (before.get(kind)?.count ?? 0), bytes: total.bytes - (before.get(kind)?.bytes ?? 0) }))
      .filter((row) => row.bytes / SOCKETS >= 8)
      .sort((a, b) => b.bytes - a.bytes);
    const heapTotal = rows.reduce((sum, row) => sum + row.bytes, 0);
    console.log(
      `${SOCKETS} sockets (after ${WARM} warm-up): RSS +${Math.round((statusAfter.rss - statusBefore.rss) / SOCKETS)} B/socket, anonymous RSS +${Math.round((statusAfter.anon - statusBefore.anon) / SOCKETS)} B/socket`,
    );
    console.log(`heap objects (self sizes, >= 8 B/socket): +${Math.round(heapTotal / SOCKETS)} B/socket\n`);
    console.log('| kind | objects/socket | bytes/socket |\n|---|---:|---:|');
    for (const row of rows.slice(0, Number(args.get('top') ?? 40))) console.log(`| ${row.kind} | ${(row.count / SOCKETS).toFixed(2)} | ${Math.round(row.bytes / SOCKETS)} |`);
    for (const socket of sockets) socket.terminate();
  } finally {
    server.kill('SIGTERM');
    await new Promise((done) => server.once('exit', done));
    if (!args.has('keep')) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
