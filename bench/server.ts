/**
 * The processes the bench measures from outside: the compiled scancode server (configured by its
 * environment, reached over HTTP and /ws only) and the raw ws echo server, with their CPU time and RSS
 * read from /proc.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import mysql from 'mysql2/promise';

/** The repository root, seen from dist/bench/. */
export const ROOT = join(__dirname, '..', '..');
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** This process's open-file limit (the servers and clients it starts inherit it). */
export function fileLimit(): number {
  const line = /Max open files\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return line?.[1] === 'unlimited' ? Infinity : Number(line?.[1] ?? NaN);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export class NodeProcess {
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly logPath: string,
  ) {
    child.once('exit', () => (this.exited = true));
  }

  /** Spawns `node <script>` with `env` on a free port (PORT) and waits until `ready(port)` holds. */
  static async start(script: string, env: Record<string, string>, logPath: string, ready: (port: number) => Promise<boolean>): Promise<NodeProcess> {
    const port = await freePort();
    const log = openSync(logPath, 'a');
    const child = spawn(process.execPath, [script], { cwd: ROOT, env: { ...env, PORT: String(port) }, stdio: ['ignore', log, log] });
    closeSync(log);
    const started = new NodeProcess(child, port, logPath);
    for (let waited = 0; waited < 60_000; waited += 100) {
      if (started.exited) throw new Error(`${script} exited at start; see ${logPath}:\n${readFileSync(logPath, 'utf8').slice(-2000)}`);
      if (await ready(port).catch(() => false)) return started;
      await sleep(100);
    }
    await started.stop();
    throw new Error(`${script} was not ready within 60 s; see ${logPath}`);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** User + system CPU time of the process so far, ms (/proc/<pid>/stat utime + stime). */
  cpuMs(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  }

  /** Resident set size, bytes (/proc/<pid>/status VmRSS). */
  rssBytes(): number {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    return Number(match?.[1] ?? NaN) * 1024;
  }

  /** Waits until the process uses under 10% of a core over a quarter second (it has drained its work). */
  async quiet(maxMs = 20_000): Promise<void> {
    for (let waited = 0; waited < maxMs; waited += 250) {
      const before = this.cpuMs();
      await sleep(250);
      if (this.cpuMs() - before < 25) return;
    }
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(timer);
  }
}

/**
 * The limits that are off for the bench: every client comes from one address and a device offers up to
 * thousands of scans a second on one session, which production limits would refuse; webhooks may
 * target the bench's local receiver.
 */
const BENCH_ENV = {
  LOGIN_RATE_LIMIT: '0',
  HTTP_RATE_LIMIT: '0',
  WS_FRAME_RATE: '0',
  MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS: '0',
  MAX_SOCKETS_PER_USER: '0',
  WEBHOOK_ALLOW_PRIVATE: '1',
};

/**
 * The scancode server compiled to `main` (dist/…/src/main.js): dev login (no WeChat credentials), one
 * instance (no Redis) unless `extra` names REDIS_URL, warnings and errors logged.
 */
export function startScancode(main: string, databaseUrl: string, logPath: string, extra: Record<string, string> = {}): Promise<NodeProcess> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(WECHAT_|REDIS_|DATABASE_URL|HOST|PORT|LOG_LEVEL|NODE_ENV|HEARTBEAT_MS|LEGACY_PREFIX|SESSION_TTL|CHANGES_REPLAY)/.test(name)) env[name] = value;
  }
  Object.assign(env, BENCH_ENV, { HOST: '127.0.0.1', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', NODE_ENV: 'development' }, extra);
  const ready = async (port: number) => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
  return NodeProcess.start(main, env, logPath, ready);
}

/** The raw `ws` echo server of bench/echo-server.ts. */
export function startEcho(logPath: string): Promise<NodeProcess> {
  const ready = async (port: number) => (await fetch(`http://127.0.0.1:${port}/`)).status === 426;
  return NodeProcess.start(join(__dirname, 'echo-server.js'), { ...(process.env as Record<string, string>) }, logPath, ready);
}

/** The Socket.IO baseline of bench/socketio-server.ts on `databaseUrl` (a fresh database), with directories 1..`directories`. */
export function startSocketIo(databaseUrl: string, directories: number, logPath: string): Promise<NodeProcess> {
  const ready = async (port: number) => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
  return NodeProcess.start(join(__dirname, 'socketio-server.js'), { ...(process.env as Record<string, string>), DATABASE_URL: databaseUrl, DIRECTORIES: String(directories) }, logPath, ready);
}

/** Warnings and errors the server logged (pino JSON lines), without the dev-login notice. */
export function serverLog(logPath: string): { errors: number; warnings: number; first: string[] } {
  const summary = { errors: 0, warnings: 0, first: [] as string[] };
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let entry: { level?: number; msg?: string; err?: { message?: string } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      entry = { level: 50, msg: line };
    }
    if ((entry.level ?? 0) < 40 || entry.msg?.includes('DEV LOGIN')) continue;
    if ((entry.level ?? 0) >= 50) summary.errors++;
    else summary.warnings++;
    const text = `${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`;
    if (summary.first.length < 5 && !summary.first.includes(text)) summary.first.push(text);
  }
  return summary;
}

export interface Login {
  token: string;
  directoryId: number;
}

/** Dev login: `<name>#<anything>` logs user <name> in with a fresh session; the answer lists its directories. */
export async function login(baseUrl: string, code: string): Promise<Login> {
  let response = await fetch(`${baseUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  // A login that found WeChat (or the dev stand-in) too slow, as thousands at once on a busy machine may, is tried again.
  for (let attempt = 1; response.status === 502 && attempt < 3; attempt++) {
    await sleep(1000);
    response = await fetch(`${baseUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  }
  if (!response.ok) throw new Error(`login ${code}: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { token: string; directories: { id: number }[] };
  return { token: body.token, directoryId: body.directories[0].id };
}

/** A fresh MariaDB database for one run, dropped afterwards. */
export async function freshMysqlDatabase(adminUrl: string, name: string): Promise<{ url: string; version: string; drop(): Promise<void> }> {
  const admin = await mysql.createConnection(adminUrl);
  await admin.query(`drop database if exists \`${name}\``);
  await admin.query(`create database \`${name}\` character set utf8mb4 collate utf8mb4_bin`);
  const [rows] = await admin.query<mysql.RowDataPacket[]>('select version() as version');
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    version: String(rows[0].version),
    drop: async () => {
      await admin.query(`drop database if exists \`${name}\``);
      await admin.end();
    },
  };
}
