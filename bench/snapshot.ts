/**
 * Snapshot time: a phone subscribing without `since` to a directory of 1, 10,000 or 100,000 goods, from
 * the subscribe frame to the snapshot's last page. The goods are seeded straight into the server's
 * database (multi-row inserts of the goods table's own columns, and the directory's goods_count), which is
 * seconds for 100,000 where the API would take minutes; the server reads them like any other goods.
 */
import { createHash } from 'node:crypto';
import Database from 'libsql';
import mysql from 'mysql2/promise';
import { say } from './messages';
import type { Options } from './options';
import { post, type Target } from './sections';
import { login } from './server';
import { BenchSocket } from './socket';
import { latency, type Latency } from './stats';

export interface SnapshotPoint extends Latency {
  goods: number;
  /** Seconds the seeding took (not part of the measure). */
  seedSeconds: number;
}

const REPEATS = 3;
const ROWS_PER_INSERT = 1000;
const hash = (code: string) => createHash('sha256').update(code).digest('hex');
const INSERT = 'insert into goods (directory_id, code, code_hash, name, remarks, count, created_at, updated_at) values ';

/** Where the goods go: the MariaDB database's URL, or the embedded database's file. */
export type SeedTarget = { kind: 'mariadb'; url: string } | { kind: 'sqlite'; path: string };

async function seed(into: SeedTarget, directoryId: number, goods: number): Promise<void> {
  const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `seed-${directoryId}-${from + i}`);
  if (into.kind === 'mariadb') {
    const c = await mysql.createConnection({ uri: into.url, timezone: 'Z' });
    try {
      const [[{ at }]] = await c.query<mysql.RowDataPacket[]>('select created_at as at from directories where id = ?', [directoryId]);
      for (let from = 0; from < goods; from += ROWS_PER_INSERT) {
        const codes = rows(from, Math.min(goods, from + ROWS_PER_INSERT));
        await c.query(
          INSERT + codes.map(() => "(?, ?, ?, '', '', 1, ?, ?)").join(', '),
          codes.flatMap((code) => [directoryId, code, hash(code), at, at]),
        );
      }
      await c.query('update directories set goods_count = goods_count + ? where id = ?', [goods, directoryId]);
    } finally {
      await c.end();
    }
    return;
  }
  const db = new Database(into.path);
  try {
    db.pragma('busy_timeout = 10000');
    const { at } = db.prepare('select created_at as at from directories where id = ?').get(directoryId) as { at: unknown };
    const insert = db.prepare(INSERT + "(?, ?, ?, '', '', 1, ?, ?)");
    db.transaction(() => {
      for (const code of rows(0, goods)) insert.run(directoryId, code, hash(code), at, at);
      db.prepare('update directories set goods_count = goods_count + ? where id = ?').run(goods, directoryId);
    })();
  } finally {
    db.close();
  }
}

export async function snapshotTimes(t: Target, into: SeedTarget, o: Options): Promise<SnapshotPoint[]> {
  const owner = await login(t.base, 'snapshot#phone');
  const points: SnapshotPoint[] = [];
  for (const goods of o.snapshotGoods) {
    const { directory } = await post<{ directory: { id: number } }>(t.base, '/api/directories', owner.token, { name: `snapshot ${goods}` }, 201);
    const seeding = Date.now();
    await seed(into, directory.id, goods);
    const seedSeconds = (Date.now() - seeding) / 1000;
    const times: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const socket = await BenchSocket.open(t.ws, { role: 'watcher', token: owner.token, directoryId: directory.id, subscribe: true }, false);
      if (socket.snapshotMs !== null) times.push(socket.snapshotMs);
      await socket.close(1000);
    }
    points.push({ ...latency(times), goods, seedSeconds });
    say(`  snapshot of ${goods} goods: ${latency(times).p50.toFixed(1)} ms (median of ${REPEATS}; seeded in ${seedSeconds.toFixed(1)} s)`);
  }
  return points;
}
