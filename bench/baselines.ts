/**
 * The database floors scancode is compared to: the statements of one scan (lock the directory row,
 * read the goods, update or insert it, bump the directory's revision, append the log row, store the
 * event outcome) sent straight through mysql2 and libsql, one transaction per scan (or ten: group commit).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'libsql';
import mysql from 'mysql2/promise';
import { now } from './messages';
import { MYSQL_SCHEMA, SCAN_STATEMENTS as S, SQLITE_SCHEMA } from './raw-schema';
import { latency, type Latency } from './stats';

/** What the baseline uses of a libsql prepared statement. */
interface Statement {
  run(...parameters: unknown[]): { lastInsertRowid: number | bigint };
  get(...parameters: unknown[]): unknown;
}

export interface Rate extends Latency {
  /** Scans per second. */
  rate: number;
}

const CONNECTIONS = 8;
const codeOf = (n: number) => `bench-${n % 50}`;
const hash = (code: string) => createHash('sha256').update(code).digest('hex');
const outcome = (goodsId: number, code: string, count: number, revision: number) =>
  JSON.stringify({ goods: { id: goodsId, code, name: '', remarks: '', count }, delta: 1, revision, created: count === 1, duplicate: false });

/**
 * `workers` loops, each running transactions back to back: unmeasured for `warmupMs` (statements get
 * prepared, pages cached), then measured for `durationMs`; latency per transaction.
 */
async function drive(workers: number, warmupMs: number, durationMs: number, transaction: (worker: number, n: number) => Promise<number>): Promise<Rate> {
  const samples: number[] = [];
  let scans = 0;
  const start = now() + warmupMs;
  let end = start;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let n = 0; now() < start + durationMs; n++) {
        const began = now();
        const done = await transaction(worker, n);
        if (began < start) continue;
        const finished = now();
        scans += done;
        end = Math.max(end, finished);
        samples.push(finished - began);
      }
    }),
  );
  return { ...latency(samples), rate: (scans * 1000) / (end - start) };
}

/** The statements of one scan of one unit of `bench-<n % 50>` on mysql2 (inside the caller's transaction); resolves to the directory's new revision. */
export async function mysqlScan(c: mysql.Connection, userId: number, directoryId: number, eventId: string, n: number): Promise<number> {
  const at = new Date();
  const [directories] = await c.execute<mysql.RowDataPacket[]>(`${S.lockDirectory} for update`, [directoryId, userId]);
  const code = codeOf(n);
  const codeHash = hash(code);
  const [rows] = await c.execute<mysql.RowDataPacket[]>(S.selectGoods, [directoryId, codeHash]);
  let goodsId: number;
  let count = 1;
  if (rows.length > 0) {
    goodsId = Number(rows[0].id);
    count = Number(rows[0].count) + 1;
    await c.execute(S.updateGoods, [count, rows[0].name, rows[0].remarks, at, goodsId]);
  } else {
    const [inserted] = await c.execute<mysql.ResultSetHeader>(S.insertGoods, [directoryId, code, codeHash, '', '', 1, at, at]);
    goodsId = inserted.insertId;
  }
  await c.execute(S.bumpRevision, [at, directoryId]);
  const revision = Number(directories[0].revision) + 1;
  await c.execute(S.insertLog, [directoryId, userId, 'in', goodsId, code, '', '', 1, count, revision, eventId, at]);
  await c.execute(S.insertOutcome, [userId, eventId, outcome(goodsId, code, count, revision), at]);
  return revision;
}

export interface MysqlBaselines {
  oneDirectory: Rate;
  fiftyDirectories: Rate;
  groupCommit: Rate;
}

/** Raw mysql2 on a fresh database of its own: 8 connections, READ COMMITTED as the server writes. */
export async function mysqlBaselines(url: string, warmupMs: number, durationMs: number): Promise<MysqlBaselines> {
  const connections = await Promise.all(Array.from({ length: CONNECTIONS }, () => mysql.createConnection({ uri: url, timezone: 'Z' })));
  try {
    const setup = connections[0];
    for (const statement of MYSQL_SCHEMA) await setup.query(statement);
    for (const c of connections) await c.query('set session transaction isolation level read committed');
    const [user] = await setup.execute<mysql.ResultSetHeader>('insert into users (openid) values (?)', ['raw']);
    const userId = user.insertId;
    const directory = async (name: string) => {
      const at = new Date();
      const [inserted] = await setup.execute<mysql.ResultSetHeader>('insert into directories (owner_id, name, live_name, created_at, updated_at) values (?, ?, ?, ?, ?)', [userId, name, name, at, at]);
      return inserted.insertId;
    };
    const one = await directory('one');
    const fifty: number[] = [];
    for (let d = 0; d < 50; d++) fifty.push(await directory(`fifty-${d}`));
    const grouped = await directory('group');
    let next = 0;

    const scanTransaction = (label: string, directoryOf: () => number, scans: number) => async (worker: number, n: number) => {
      const c = connections[worker];
      for (let attempt = 1; ; attempt++) {
        await c.beginTransaction();
        try {
          for (let s = 0; s < scans; s++) await mysqlScan(c, userId, directoryOf(), `${label}.${worker}.${n}.${s}.${attempt}`, n * scans + s);
          await c.commit();
          return scans;
        } catch (error) {
          await c.rollback();
          // A deadlock victim is retried, as the server retries it.
          if ((error as { errno?: number }).errno !== 1213 || attempt >= 5) throw error;
        }
      }
    };
    return {
      oneDirectory: await drive(
        CONNECTIONS,
        warmupMs,
        durationMs,
        scanTransaction('one', () => one, 1),
      ),
      fiftyDirectories: await drive(
        CONNECTIONS,
        warmupMs,
        durationMs,
        scanTransaction('fifty', () => fifty[next++ % fifty.length], 1),
      ),
      groupCommit: await drive(
        CONNECTIONS,
        warmupMs,
        durationMs,
        scanTransaction('group', () => grouped, 10),
      ),
    };
  } finally {
    await Promise.all(connections.map((c) => c.end()));
  }
}

/** Opens a libsql database as the server sets it (WAL, foreign keys) with the baseline's schema. */
export function libsqlDatabase(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = wal');
  db.pragma('synchronous = normal');
  db.pragma('foreign_keys = on');
  db.exec(SQLITE_SCHEMA);
  return db;
}

/** One scan as one libsql transaction (the statements of mysqlScan); returns the directory's new revision. */
export function libsqlScanner(db: Database.Database, userId: number): (directoryId: number, eventId: string, n: number) => number {
  const statements = Object.fromEntries(Object.entries(S).map(([name, sql]) => [name, db.prepare<unknown[]>(sql) as Statement])) as Record<keyof typeof S, Statement>;
  return db.transaction((directoryId: number, eventId: string, n: number) => {
    const at = Date.now();
    const directory = statements.lockDirectory.get(directoryId, userId) as { revision: number };
    const code = codeOf(n);
    const codeHash = hash(code);
    const goods = statements.selectGoods.get(directoryId, codeHash) as { id: number; name: string; remarks: string; count: number } | undefined;
    let goodsId: number;
    let count = 1;
    if (goods) {
      goodsId = goods.id;
      count = goods.count + 1;
      statements.updateGoods.run(count, goods.name, goods.remarks, at, goodsId);
    } else goodsId = Number(statements.insertGoods.run(directoryId, code, codeHash, '', '', 1, at, at).lastInsertRowid);
    statements.bumpRevision.run(at, directoryId);
    const revision = directory.revision + 1;
    statements.insertLog.run(directoryId, userId, 'in', goodsId, code, '', '', 1, count, revision, eventId, at);
    statements.insertOutcome.run(userId, eventId, outcome(goodsId, code, count, revision), at);
    return revision;
  }) as unknown as (directoryId: number, eventId: string, n: number) => number;
}

/** Raw libsql (the driver under the server's embedded database), WAL as the server sets it, over `directories` directories in turn. */
export async function libsqlBaseline(directory: string, warmupMs: number, durationMs: number, directories = 1): Promise<Rate> {
  const db = libsqlDatabase(join(directory, `raw-${directories}.db`));
  try {
    const userId = Number(db.prepare('insert into users (openid) values (?)').run('raw').lastInsertRowid);
    const at0 = Date.now();
    const insert = db.prepare('insert into directories (owner_id, name, live_name, created_at, updated_at) values (?, ?, ?, ?, ?)');
    const ids = Array.from({ length: directories }, (_, d) => Number(insert.run(userId, `d${d}`, `d${d}`, at0, at0).lastInsertRowid));
    const scan = libsqlScanner(db, userId);
    // libsql's API is synchronous, as the server's single connection is: one transaction at a time.
    return await drive(1, warmupMs, durationMs, async (_, n) => {
      scan(ids[n % ids.length], `libsql.${n}`, n);
      return 1;
    });
  } finally {
    db.close();
  }
}
