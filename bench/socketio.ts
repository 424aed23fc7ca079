/**
 * The Socket.IO baseline's runs (bench/socketio-server.ts): the same load generator as scancode's 1a, 1b
 * and open loop, on a fresh database of its own for each database kind.
 */
import { join } from 'node:path';
import type { Clients } from './clients';
import { say, type SocketSpec } from './messages';
import type { Database, Options } from './options';
import { closedLoop, DEVICES, openLoop, WATCHERS_PER_DIRECTORY, type Closed, type Layout, type OpenStep, type Target } from './sections';
import { freshMysqlDatabase, startSocketIo } from './server';

export interface SocketIoRun {
  closedOne?: Closed;
  closedMany?: Closed;
  /** 2,000 scans/s offered over the 50 devices of 50 directories. */
  open?: OpenStep;
}

export const SOCKETIO_OPEN_RATE = 2000;

/** 50 devices into `directories` directories (1..n, round-robin), 3 watchers each. */
function ioLayout(directories: number): Layout {
  const directoryOf = (d: number) => (d % directories) + 1;
  const devices: SocketSpec[] = Array.from({ length: DEVICES }, (_, d) => ({ role: 'device', directoryId: directoryOf(d), subscribe: false }));
  const watchers: SocketSpec[] = Array.from({ length: directories * WATCHERS_PER_DIRECTORY }, (_, w) => ({ role: 'watcher', directoryId: (w % directories) + 1, subscribe: true }));
  return { devices, watchers };
}

export async function benchSocketIo(db: Database, o: Options, clients: Clients, tmp: string): Promise<SocketIoRun> {
  const run: SocketIoRun = {};
  const database = db === 'mariadb' ? await freshMysqlDatabase(o.mysqlUrl, `scancode_bench_sio_${process.pid}`) : null;
  const url = database?.url ?? `file:${join(tmp, 'socketio.db')}`;
  say(`${db}: the Socket.IO baseline`);
  const server = await startSocketIo(url, 50, join(tmp, `socketio-${db}.log`));
  try {
    const t: Target = { process: server, base: `http://127.0.0.1:${server.port}`, ws: `http://127.0.0.1:${server.port}`, transport: 'socketio' };
    run.closedOne = await closedLoop(t, clients, ioLayout(1), o, 'sio1');
    say(`  Socket.IO 1 directory: ${Math.round(run.closedOne.rate)} scans/s, p99 ${run.closedOne.p99.toFixed(1)} ms; ${run.closedOne.watchers}`);
    run.closedMany = await closedLoop(t, clients, ioLayout(50), o, 'sio50');
    say(`  Socket.IO 50 directories: ${Math.round(run.closedMany.rate)} scans/s, p99 ${run.closedMany.p99.toFixed(1)} ms; ${run.closedMany.watchers}`);
    [run.open] = await openLoop(t, clients, ioLayout(50), o, [SOCKETIO_OPEN_RATE]);
  } finally {
    await server.stop();
    await database?.drop();
  }
  return run;
}
