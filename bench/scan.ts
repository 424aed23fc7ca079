/**
 * Scan throughput: the domain's applyScan (query builder inside a MikroORM transaction, with an event
 * id) against the same statements sent through raw mysql2, in the same run, same concurrency.
 *
 *   npm run bench                       # MariaDB at BENCH_MYSQL_URL (default local root) and SQLite
 *   BENCH_SCANS=5000 BENCH_IN_FLIGHT=8 npm run bench
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { DatabaseConfig } from '../src/config';
import { openDatabase, type Orm } from '../src/db/orm';
import { insertDirectory } from '../src/modules/inventory/directories';
import { applyScan } from '../src/modules/inventory/scan';
import { InProcessBus } from '../src/modules/realtime/bus';

const SCANS = Number(process.env.BENCH_SCANS ?? 3000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 8);
const MYSQL_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/scancode_bench';

async function runConcurrently(total: number, inFlight: number, work: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) await work(next++);
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function seed(orm: Orm, directories = 1): Promise<{ userId: number; directoryIds: number[] }> {
  const em = orm.em.fork();
  const inserted = await em.getConnection().execute<{ insertId: number }>(
    "insert into users (openid, nickname, avatar_url, gender, city, province, country, language, created_at, updated_at) values (?, '', '', 0, '', '', '', '', ?, ?)",
    [`bench-${Date.now()}-${Math.random()}`, new Date(), new Date()],
    'run',
  );
  const userId = inserted.insertId;
  const directoryIds: number[] = [];
  for (let d = 0; d < directories; d++) {
    directoryIds.push(await em.transactional((tx) => insertDirectory(tx as never, { userId, deviceId: null }, `bench-${d}`, new Date())));
  }
  return { userId, directoryIds };
}

async function benchDomain(orm: Orm, label: string, directories: number): Promise<number> {
  const { userId, directoryIds } = await seed(orm, directories);
  const ctx = () => ({ em: orm.em.fork(), bus: new InProcessBus(), now: () => new Date(), changesReplayLimit: 1000 });
  const seconds = await runConcurrently(SCANS, IN_FLIGHT, async (i) => {
    const directoryId = directoryIds[i % directoryIds.length];
    await applyScan(ctx(), { userId, deviceId: null }, { directoryId, op: 'in', code: `code-${i % 50}`, eventId: `${label}-${i}` });
  });
  return SCANS / seconds;
}

/** The same statements applyScan sends, through a raw mysql2 pool: the floor the ORM path is compared to. */
async function benchRawMysql(url: string, label: string, userId: number, directoryIds: number[]): Promise<number> {
  const pool = mysql.createPool({ uri: url, connectionLimit: IN_FLIGHT });
  const seconds = await runConcurrently(SCANS, IN_FLIGHT, async (i) => {
    const directoryId = directoryIds[i % directoryIds.length];
    // Like the domain, retry a deadlock victim (gap locks on the goods key when codes are new).
    for (let attempt = 1; ; attempt++) {
      try {
        return await rawScan(pool, label, i, userId, directoryId);
      } catch (error) {
        if ((error as { errno?: number }).errno !== 1213 || attempt >= 5) throw error;
      }
    }
  });
  await pool.end();
  return SCANS / seconds;
}

async function rawScan(pool: mysql.Pool, label: string, i: number, userId: number, directoryId: number): Promise<void> {
  {
    const c = await pool.getConnection();
    try {
      // As the domain does (src/modules/inventory/transaction.ts).
      await c.query('set transaction isolation level read committed');
      await c.beginTransaction();
      const now = new Date();
      const [claim] = await c.query<mysql.ResultSetHeader>('insert into event_outcomes (user_id, event_id, ok, outcome, created_at) values (?, ?, 0, ?, ?)', [userId, `${label}-${i}`, '', now]);
      const [dirs] = await c.query<mysql.RowDataPacket[]>('select id, name, revision from directories where id = ? and owner_id = ? and deleted_at is null for update', [directoryId, userId]);
      const code = `code-${i % 50}`;
      const [goods] = await c.query<mysql.RowDataPacket[]>('select * from goods where directory_id = ? and code = ? for update', [directoryId, code]);
      if (goods.length) await c.query('update goods set count = ?, name = ?, remarks = ?, updated_at = ? where id = ?', [goods[0].count + 1, goods[0].name, goods[0].remarks, now, goods[0].id]);
      else await c.query("insert into goods (directory_id, code, name, remarks, count, created_at, updated_at) values (?, ?, '', '', 1, ?, ?)", [directoryId, code, now, now]);
      await c.query('update directories set revision = revision + 1, freq = freq + 1, updated_at = ? where id = ?', [now, directoryId]);
      await c.query("insert into logs (directory_id, user_id, type, code, delta, revision, event_id, at) values (?, ?, 'in', ?, 1, ?, ?, ?)", [directoryId, userId, code, dirs[0].revision + 1, `${label}-${i}`, now]);
      await c.query('update event_outcomes set ok = 1, outcome = ? where id = ?', ['{}', claim.insertId]);
      await c.commit();
    } catch (error) {
      await c.rollback();
      throw error;
    } finally {
      c.release();
    }
  }
}

async function main(): Promise<void> {
  const admin = new URL(MYSQL_URL);
  const dbName = admin.pathname.slice(1);
  admin.pathname = '/';
  const connection = await mysql.createConnection(admin.toString());
  await connection.query(`drop database if exists \`${dbName}\``);
  await connection.query(`create database \`${dbName}\` character set utf8mb4 collate utf8mb4_bin`);
  await connection.end();

  const rows: [string, number][] = [];
  const mysqlOrm = await openDatabase({ kind: 'mysql', url: MYSQL_URL });
  for (const directories of [1, IN_FLIGHT]) {
    const where = directories === 1 ? 'one directory' : `${directories} directories`;
    rows.push([`MariaDB, ${where}: applyScan (domain, query builder)`, await benchDomain(mysqlOrm, `domain-${directories}`, directories)]);
    const raw = await seed(mysqlOrm, directories);
    rows.push([`MariaDB, ${where}: same statements via raw mysql2 (baseline)`, await benchRawMysql(MYSQL_URL, `raw-${directories}`, raw.userId, raw.directoryIds)]);
  }
  await mysqlOrm.close();

  const dir = mkdtempSync(join(tmpdir(), 'scancode-bench-'));
  const sqlite: DatabaseConfig = { kind: 'sqlite', path: join(dir, 'bench.db') };
  const sqliteOrm = await openDatabase(sqlite);
  rows.push(['SQLite (WAL), one directory: applyScan (domain, query builder)', await benchDomain(sqliteOrm, 'domain', 1)]);
  await sqliteOrm.close();
  rmSync(dir, { recursive: true, force: true });

  console.log(`\n${SCANS} scans with an event id per row, ${IN_FLIGHT} in flight (node ${process.version})\n`);
  console.log('| path | scans/s |\n|---|---:|');
  for (const [label, rate] of rows) console.log(`| ${label} | ${Math.round(rate)} |`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
