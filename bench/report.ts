/** The bench's one table: every figure of the run, its baselines and the ratios, with the machine's facts. */
import type { MysqlBaselines, Rate } from './baselines';
import type { BusPoint } from './bus';
import type { HealthzLatency } from './healthz-probe';
import type { CurvePoint } from './curves';
import type { Database, Options } from './options';
import type { Closed, FanOut, Memory, OpenStep } from './sections';
import type { SnapshotPoint } from './snapshot';
import type { SocketIoRun } from './socketio';
import { errorText, type Latency, type Throughput } from './stats';
import type { WebhookRuns } from './webhooks';

export interface ScancodeRun {
  closedOne?: Closed;
  closedMany?: Closed;
  /** 1c: transfers between pairs of directories. */
  transfers?: Closed;
  /** 1d: lines added to count sessions. */
  countLines?: Closed;
  open?: OpenStep[];
  fanout?: FanOut;
  memory?: Memory;
  /** Cost curve: open loop at a fixed total rate over 1 … 10,000 directories of 2 phones each. */
  curve?: CurvePoint[];
  snapshot?: SnapshotPoint[];
  webhooks?: WebhookRuns;
  /** /healthz while 1a and 1b ran (bench/healthz-probe.ts). */
  healthz?: { one?: HealthzLatency; many?: HealthzLatency };
  log?: { errors: number; warnings: number; first: string[] };
}

export interface Results {
  date: string;
  cores: number;
  cpuModel: string;
  node: string;
  fileLimit: string;
  /** The 1-minute load average at the start, at each part and at the end: the machine may be shared. */
  load: [string, number][];
  /** The server's commit, and whether its sources had uncommitted changes. */
  server: string;
  mariadbVersion?: string;
  runs: Partial<Record<Database, ScancodeRun>>;
  mysql?: MysqlBaselines;
  libsql?: Rate;
  /** Raw libsql, 50 directories in turn, one scan per transaction. */
  libsqlFifty?: Rate;
  socketio?: Partial<Record<Database, SocketIoRun>>;
  bus?: BusPoint[];
  /** The bus's largest point on a private Redis Cluster. */
  busCluster?: BusPoint[];
  /** Why the bus section did not run. */
  busSkipped?: string;
  echo?: Throughput;
  echoMemory?: Memory;
}

export const integer = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
export const ms = (value: number) => (!Number.isFinite(value) ? 'n/a' : value < 10 ? value.toFixed(1) : integer(value));
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}×` : '');
const p50p99 = (l: Latency) => `${ms(l.p50)} / ${ms(l.p99)}`;
const rateWithLatency = (r: Rate | Throughput) => `${integer(r.rate)} (${p50p99(r)} ms)`;
const withErrors = (t: Throughput) => `${integer(t.rate)}${errorText(t.errors) ? ` (refused or failed: ${errorText(t.errors)})` : ''}`;

export function report(results: Results, o: Options): string {
  const dbs: Database[] = ['mariadb', 'sqlite'];
  const rows: string[][] = [];
  const row = (label: string, cell: (run: ScancodeRun, db: Database) => string) => {
    const cells = dbs.map((db) => (results.runs[db] ? cell(results.runs[db], db) : ''));
    if (cells.some((c) => c !== '')) rows.push([label, ...cells]);
  };
  const both = (label: string, value: string | undefined) => value && rows.push([label, value, value]);
  const seconds = (value: number) => `${value / 1000} s`;

  rows.push(['run: date, CPU cores (`os.cpus().length`), Node', `${results.date}, ${results.cores} × ${results.cpuModel}, Node ${results.node}`, `same run, open-file limit ${results.fileLimit}`]);
  rows.push(['server measured', results.server, '']);
  rows.push(['machine load (1-minute average)', results.load.map(([when, load]) => `${when} ${load.toFixed(1)}`).join(', '), '']);
  rows.push(['database', results.mariadbVersion ? `MariaDB ${results.mariadbVersion}, fresh database` : '', 'libsql file in a temp dir (the server sets WAL)']);
  for (const [key, label] of [
    ['closedOne', '1a closed loop, 1 user / 1 directory'],
    ['closedMany', '1b closed loop, 50 users / 50 directories'],
  ] as const) {
    row(`${label}, 50 devices, ${seconds(o.closedMs)} after ${seconds(o.warmupMs)} warm-up: acked scans/s`, (r) => (r[key] ? withErrors(r[key]) : ''));
    row(`${label}: ack p50 / p99 (ms)`, (r) => (r[key] ? p50p99(r[key]) : ''));
    row(`${label}: 3 watchers per directory saw every revision once, in order`, (r) => r[key]?.watchers ?? '');
    row(`${label}: server CPU per acked scan (ms, /proc utime+stime)`, (r) => (r[key] ? r[key].cpuMsPerScan.toFixed(2) : ''));
  }
  // No baseline: what one transfer or one count line costs, beside the scans of 1b (50 users, 50 devices).
  for (const [key, label, unit] of [
    ['transfers', '1c closed loop, transfers: 50 users, each its own pair of directories', 'transfers'],
    ['countLines', '1d closed loop, count lines: 50 users, one open count session per directory', 'count lines'],
  ] as const) {
    row(`${label}, 50 devices, ${seconds(o.closedMs)} after ${seconds(o.warmupMs)} warm-up: acked ${unit}/s`, (r) => (r[key] ? withErrors(r[key]) : ''));
    row(`${label}: ack p50 / p99 (ms)`, (r) => (r[key] ? p50p99(r[key]) : ''));
    row(`${label}: a watcher per directory saw ${key === 'transfers' ? 'every revision once, in order' : 'one count push per line'}`, (r) => r[key]?.watchers ?? '');
    row(`${label}: server CPU per acked ${unit === 'transfers' ? 'transfer' : 'line'} (ms)`, (r) => (r[key] ? r[key].cpuMsPerScan.toFixed(2) : ''));
  }
  for (const [index, offered] of o.rates.entries()) {
    row(`2 open loop, ${integer(offered)} scans/s offered over 50 devices (${seconds(o.stepMs)}): achieved scans/s`, (r) => {
      const step = r.open?.[index];
      if (!step) return '';
      const lost = step.unacked > 0 ? `, ${integer(step.unacked)} unacked after ${seconds(o.drainMs)}` : '';
      return `${withErrors(step)}${lost}`;
    });
    row(`2 open loop, ${integer(offered)}/s: ack p50 / p99 / max (ms)`, (r) => (r.open?.[index] ? `${p50p99(r.open[index])} / ${ms(r.open[index].max)}` : ''));
  }
  row(`3 fan-out, 1 scan / 200 ms into a directory watched by ${integer(o.fanoutWatchers)} sockets: delivery p50 / p99 (ms)`, (r) => (r.fanout ? p50p99(r.fanout.delivery) : ''));
  row('3 fan-out: scanner ack p50 (ms)', (r) => (r.fanout ? ms(r.fanout.ack.p50) : ''));
  row('3 fan-out: change frames delivered / expected; order check', (r) =>
    r.fanout ? `${integer(r.fanout.delivered)} / ${integer(r.fanout.expected)}; ${r.fanout.check.replace(/ \(.*\)$/, '')}` : '',
  );
  row(`4 memory, ${integer(o.sockets)} idle subscribed sockets: server RSS per socket (bytes)`, (r) =>
    r.memory ? `${integer(r.memory.bytesPerSocket)}${r.memory.failed ? ` (${r.memory.failed} failed: ${r.memory.firstFailure})` : ''}` : '',
  );
  both(`4 raw ws echo server, ${integer(o.sockets)} idle sockets: RSS per socket (bytes)`, results.echoMemory && integer(results.echoMemory.bytesPerSocket));
  row('4 memory ratio scancode ÷ raw ws', (r) => ratio(r.memory?.bytesPerSocket, results.echoMemory?.bytesPerSocket));

  const m = results.mysql;
  if (m) rows.push(['5 raw mysql2, 1 directory, 8 connections, 1 scan per transaction: scans/s (p50 / p99 ms)', rateWithLatency(m.oneDirectory), '']);
  if (m) rows.push(['5 raw mysql2, 50 directories, 8 connections: scans/s (p50 / p99 ms)', rateWithLatency(m.fiftyDirectories), '']);
  if (m) rows.push(['5 raw mysql2, 1 directory, 10 scans per transaction (group commit): scans/s (p50 / p99 ms per transaction)', rateWithLatency(m.groupCommit), '']);
  if (results.libsql) rows.push(['5 raw libsql, 1 directory, 1 scan per transaction: scans/s (p50 / p99 ms)', '', rateWithLatency(results.libsql)]);
  if (results.libsqlFifty) rows.push(['5 raw libsql, 50 directories, 1 scan per transaction: scans/s (p50 / p99 ms)', '', rateWithLatency(results.libsqlFifty)]);
  both('5 raw ws echo, 50 clients closed loop: round trips/s (p50 / p99 ms)', results.echo && rateWithLatency(results.echo));
  row('ratio 1a ÷ raw driver, 1 directory (mysql2 / libsql)', (r, db) => ratio(r.closedOne?.rate, db === 'mariadb' ? m?.oneDirectory.rate : results.libsql?.rate));
  row('ratio 1b ÷ raw driver (mysql2 50 directories / libsql 1 directory)', (r, db) => ratio(r.closedMany?.rate, db === 'mariadb' ? m?.fiftyDirectories.rate : results.libsql?.rate));
  row('ratio 1a ÷ raw mysql2 group commit (10 per transaction)', (r, db) => (db === 'mariadb' ? ratio(r.closedOne?.rate, m?.groupCommit.rate) : ''));
  row('ratio 1b ÷ raw ws echo round trips', (r) => ratio(r.closedMany?.rate, results.echo?.rate));
  row('server log during the run: errors / warnings', (r) => (r.log ? `${r.log.errors} / ${r.log.warnings}${r.log.first.length ? ` (${r.log.first.join('; ')})` : ''}` : ''));

  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  return ['| measure | MariaDB | SQLite (embedded default) |', '|---|---:|---:|', ...rows.map((r) => `| ${r.map(escape).join(' | ')} |`)].join('\n');
}
