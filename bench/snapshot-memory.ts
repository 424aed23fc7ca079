/**
 * What one phone that stops reading costs the server while it subscribes to big directories: the
 * server's resident memory before and while it waits for the phone, and how long /healthz takes
 * meanwhile. The server runs in its own process from the sources, over a fresh embedded database.
 *
 *   npx ts-node-transpile-only bench/snapshot-memory.ts [--directories=4] [--goods=500]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { freePort } from './server';

const ROOT = join(__dirname, '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const option = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);

const DIRECTORIES = option('directories', 4);
const GOODS = option('goods', 500);
/** The longest code, in CJK (3 bytes a character in UTF-8): about 21 KB a goods. */
const bigCode = (d: number, i: number) => `${d}:${i}:`.padEnd(7089, '码');

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:')) as string;
  return Number(line.replace(/\D+/g, '')) / 1024;
}

async function http(base: string, method: string, path: string, token: string | null, body?: unknown): Promise<any> {
  const response = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

async function healthzMs(base: string): Promise<number> {
  const started = performance.now();
  await fetch(`${base}/healthz`).then((r) => r.text());
  return performance.now() - started;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'scancode-snapshot-memory-'));
  const port = await freePort();
  const env = {
    ...process.env,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: `file:${join(dir, 'db.sqlite')}`,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    HTTP_RATE_LIMIT: '0',
    REDIS_URL: '',
  };
  const server = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (
      let waited = 0;
      !(await fetch(`${base}/healthz`)
        .then((r) => r.ok)
        .catch(() => false));
      waited += 200
    ) {
      if (waited > 60_000) throw new Error('the server did not start');
      await sleep(200);
    }
    const { token } = await http(base, 'POST', '/api/login', null, { code: 'bench-snapshot' });
    const ids: number[] = [];
    for (let d = 0; d < DIRECTORIES; d++) {
      const { id } = (await http(base, 'POST', '/api/directories', token, { name: `big-${d}` })).directory;
      ids.push(id);
      for (let i = 0; i < GOODS; i += 20) {
        await Promise.all(Array.from({ length: Math.min(20, GOODS - i) }, (_, j) => http(base, 'POST', `/api/directories/${id}/scans`, token, { op: 'in', code: bigCode(d, i + j), qty: 1 })));
      }
    }
    const wire = DIRECTORIES * GOODS * Buffer.byteLength(JSON.stringify({ id: 1, code: bigCode(0, 0), name: '', remarks: '', count: 1 }));
    await sleep(1000);
    const before = rssMiB(server.pid as number);
    const idle = await healthzMs(base);

    // One phone subscribes to every directory and reads nothing more.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    ids.forEach((directoryId, i) => ws.send(JSON.stringify({ type: 'subscribe', id: `s${i}`, directoryId })));
    let peak = before;
    let slowest = 0;
    for (let i = 0; i < 20; i++) {
      await sleep(250);
      peak = Math.max(peak, rssMiB(server.pid as number));
      slowest = Math.max(slowest, await healthzMs(base));
    }
    const held = rssMiB(server.pid as number);
    console.log(
      JSON.stringify({
        directories: DIRECTORIES,
        goodsEach: GOODS,
        snapshotsOnTheWireMiB: +(wire / 2 ** 20).toFixed(1),
        rssBeforeMiB: +before.toFixed(1),
        rssWaitingMiB: +held.toFixed(1),
        rssPeakMiB: +peak.toFixed(1),
        heldMiB: +(held - before).toFixed(1),
        healthzIdleMs: +idle.toFixed(1),
        healthzSlowestMs: +slowest.toFixed(1),
      }),
    );
    ws.terminate();
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
