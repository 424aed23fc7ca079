/**
 * The tables of the issue-19 and issue-18 sections, printed after the main table: scancode beside the raw
 * driver and the Socket.IO baseline, the cost curve, snapshot time, bus messages per instance,
 * webhooks, and /healthz under load.
 */
import type { Rate } from './baselines';
import type { Database, Options } from './options';
import { integer, ms, type Results } from './report';
import type { Closed, OpenStep } from './sections';
import { SOCKETIO_OPEN_RATE } from './socketio';
import { errorText, type Latency, type Throughput } from './stats';

const NAMES: Record<Database, string> = { mariadb: 'MariaDB', sqlite: 'embedded' };
const cell = (r: Rate | Throughput | undefined) => (r ? `${integer(r.rate)}; ${ms(r.p99)} ms` : '–');
const ratio = (a: Rate | Throughput | undefined, b: Rate | Throughput | undefined) => (a && b && b.rate > 0 ? `${(a.rate / b.rate).toFixed(2)}×` : '–');
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`)].join('\n');
const stepAt = (steps: OpenStep[] | undefined, rate: number) => steps?.find((s) => s.offered === rate);
const p50p99max = (l: Latency) => `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.max)}`;

function beside(results: Results): string | null {
  const rows: string[][] = [];
  for (const db of ['mariadb', 'sqlite'] as const) {
    const run = results.runs[db];
    const io = results.socketio?.[db];
    if (!run && !io) continue;
    const raw1 = db === 'mariadb' ? results.mysql?.oneDirectory : results.libsql;
    const raw50 = db === 'mariadb' ? results.mysql?.fiftyDirectories : results.libsqlFifty;
    if (run?.closedOne || raw1 || io?.closedOne)
      rows.push([`${NAMES[db]}, 1 directory`, cell(run?.closedOne), cell(raw1), cell(io?.closedOne), ratio(run?.closedOne, raw1), ratio(run?.closedOne, io?.closedOne)]);
    if (run?.closedMany || raw50 || io?.closedMany)
      rows.push([`${NAMES[db]}, 50 directories`, cell(run?.closedMany), cell(raw50), cell(io?.closedMany), ratio(run?.closedMany, raw50), ratio(run?.closedMany, io?.closedMany)]);
    for (const rate of [SOCKETIO_OPEN_RATE, 5000]) {
      const own = stepAt(run?.open, rate);
      const theirs = rate === SOCKETIO_OPEN_RATE ? io?.open : undefined;
      if (own || theirs) rows.push([`${NAMES[db]}, open loop ${integer(rate)}/s over 50 directories`, cell(own), '–', cell(theirs), '–', '–']);
    }
  }
  if (rows.length === 0) return null;
  return table(
    [
      'load, 50 devices, 3 watchers per directory (acked scans/s; ack p99)',
      'scancode',
      'raw driver, one scan per transaction (mysql2 8 connections / libsql)',
      'Socket.IO 4.8 peer (raw driver + room emit)',
      'scancode ÷ raw',
      'scancode ÷ Socket.IO',
    ],
    rows,
  );
}

function curves(results: Results, o: Options): string | null {
  const rows: string[][] = [];
  for (const db of ['mariadb', 'sqlite'] as const) {
    for (const p of results.runs[db]?.curve ?? []) {
      const refused = errorText(p.errors);
      rows.push([
        `${NAMES[db]}, ${integer(p.directories)} × 2`,
        `${integer(p.opened)}${p.opened < p.sockets ? ` of ${integer(p.sockets)}` : ''}`,
        `${integer(p.rate)}${refused ? ` (${refused})` : ''}${p.unacked > 0 ? `, ${integer(p.unacked)} unacked` : ''}`,
        p50p99max(p),
        `${integer(p.gaps)} / ${integer(p.duplicates)}`,
        p.watchers.startsWith('OK') ? 'every watcher in order' : p.watchers,
      ]);
    }
  }
  if (rows.length === 0) return null;
  return table(
    [
      `directories × phones (1 scanning device + 1 watcher each), open loop ${integer(o.curveRate)} scans/s in total for ${o.curveMs / 1000} s`,
      'sockets',
      'acked scans/s',
      'ack p50 / p99 / max (ms)',
      'gaps / duplicates',
      'watchers',
    ],
    rows,
  );
}

function snapshots(results: Results): string | null {
  const goods = [...new Set((['mariadb', 'sqlite'] as const).flatMap((db) => (results.runs[db]?.snapshot ?? []).map((p) => p.goods)))];
  if (goods.length === 0) return null;
  const at = (db: Database, g: number) => {
    const p = results.runs[db]?.snapshot?.find((s) => s.goods === g);
    return p ? `${ms(p.p50)} (${ms(p.max)})` : '–';
  };
  return table(
    ['goods in the directory', 'MariaDB: subscribe → last snapshot page, median (slowest) of 3, ms', 'embedded'],
    goods.map((g) => [integer(g), at('mariadb', g), at('sqlite', g)]),
  );
}

function bus(results: Results, o: Options): string | null {
  if (results.busSkipped) return `Bus: not run (${results.busSkipped}).`;
  const points = [...(results.bus ?? []).map((p) => ({ ...p, on: 'one Redis' })), ...(results.busCluster ?? []).map((p) => ({ ...p, on: 'Redis Cluster, 3 masters' }))];
  if (points.length === 0) return null;
  const list = (values: (number | null)[]) => values.map((v) => (v === null ? 'n/a' : integer(v))).join(', ');
  return table(
    [
      `instances (${o.busDirectories} directories spread evenly, ${integer(o.busRate)} scans/s for ${o.busMs / 1000} s)`,
      'changes published',
      'bus messages received, per instance',
      'changes of the directories its sockets watch, per instance',
      'received ÷ published (mean per instance)',
      'watchers',
    ],
    points.map((p) => {
      const known = p.received.filter((r): r is number => r !== null);
      const share = known.length && p.published > 0 ? `${(known.reduce((a, b) => a + b, 0) / known.length / p.published).toFixed(2)}` : 'n/a';
      return [`${p.instances} on ${p.on}`, integer(p.published), list(p.received), list(p.watched), share, p.watchers.startsWith('OK') ? 'OK' : p.watchers];
    }),
  );
}

function webhooks(results: Results, o: Options): string | null {
  const rows: string[][] = [];
  const runs = (list: Closed[]) => list.map((r) => `${integer(r.rate)}; ${ms(r.p99)} ms; ${r.cpuMsPerScan.toFixed(3)} ms CPU`).join(' / ');
  const mean = (list: Closed[]) => list.reduce((sum, r) => sum + r.rate, 0) / Math.max(1, list.length);
  for (const db of ['mariadb', 'sqlite'] as const) {
    const w = results.runs[db]?.webhooks;
    if (!w) continue;
    const share = w.none.length && w.outage.length ? `${Math.round((mean(w.outage) / mean(w.none)) * 100)}%` : '–';
    const ok = w.ok ? `${cell(w.ok)}; ${w.ok.cpuMsPerScan.toFixed(3)} ms CPU (${integer(w.ok.received)} requests to the receiver)` : '–';
    rows.push([`${NAMES[db]}, 50 directories`, runs(w.none), runs(w.outage), share, ok]);
  }
  if (rows.length === 0) return null;
  return table(
    [
      `closed loop of 1b, ${o.webhookMs / 1000} s after ${o.warmupMs / 1000} s warm-up (acked scans/s; ack p99; server CPU per scan)`,
      'no webhook (two runs)',
      'a webhook per directory, receiver answering 500 all along (an outage; two runs, each after one without)',
      'outage ÷ none (mean scans/s)',
      'receiver answering 200',
    ],
    rows,
  );
}

function health(results: Results): string | null {
  const rows: string[][] = [];
  for (const db of ['mariadb', 'sqlite'] as const) {
    const h = results.runs[db]?.healthz;
    if (!h) continue;
    const show = (l: typeof h.one) => (l ? `${p50p99max(l)}; longest gap ${ms(l.longestGapMs)}${l.failed ? `; ${l.failed} failed` : ''}` : '–');
    rows.push([NAMES[db], show(h.one), show(h.many)]);
  }
  if (rows.length === 0) return null;
  return table(['/healthz polled every 10 ms during the load (p50 / p99 / max ms)', '1a: 1 directory', '1b: 50 directories'], rows);
}

export function scaleReport(results: Results, o: Options): string {
  return [beside(results), curves(results, o), snapshots(results), bus(results, o), webhooks(results, o), health(results)].filter((t): t is string => t !== null).join('\n\n');
}
