import type { SqlEntityManager } from '@mikro-orm/knex';
import { inCauseChain } from '../errors';
import { isSqlite } from '../modules/inventory/transaction';
import { AcquireTimeoutError, QueryTimeoutError, writerThread, type Orm } from './orm';
import { sqliteValue } from './sqlite-thread';

/**
 * Transactions on the driver's own connection, taken from MikroORM's pool: statements are bound as
 * parameters (mysql2 prepared statements, libsql prepared statements), with no unit of work, query
 * builder or value formatting in between. The hot path (every mutation) runs here; MikroORM keeps the
 * schema, migrations and the reads. On the embedded database the statements run on its writer thread's
 * connection (sqlite-thread.ts), so that they never hold the event loop; on the pool's connection only
 * for a database in memory.
 */
export interface Statements {
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  run(sql: string, params?: readonly unknown[]): Promise<{ affectedRows: number; insertId: number }>;
}

export interface RawDatabase {
  readonly dialect: 'mysql' | 'sqlite';
  /**
   * Runs `work` in one transaction, again from the start when MySQL picks it as a deadlock victim. On
   * MySQL the pool's limits hold here too (orm.ts): a connection is waited for DB_ACQUIRE_TIMEOUT_MS,
   * and a statement left unanswered for DB_QUERY_TIMEOUT_MS fails with QueryTimeoutError, never
   * retried (a stalled database would only stall the retry).
   */
  transaction<T>(work: (statements: Statements) => Promise<T>): Promise<T>;
}

const MAX_ATTEMPTS = 5;
/** ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT: the transaction was rolled back and may simply run again. */
const RETRIABLE_ERRNOS = new Set([1213, 1205]);

interface MysqlConnection {
  execute(sql: string, params: readonly unknown[], callback: (error: Error | null, result: unknown) => void): void;
  query(sql: string, callback: (error: Error | null, result: unknown) => void): void;
  /** Its socket: destroyed, the connection is dead to knex's pool, which discards it before handing it out. */
  stream: { destroy(): void };
}

interface SqliteStatement {
  all(params: readonly unknown[]): unknown[];
  run(params: readonly unknown[]): { changes: number; lastInsertRowid: number | bigint };
}
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
}

interface KnexClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

/** Connections whose session is set up (READ COMMITTED once per connection, not once per transaction). */
const prepared = new WeakSet<object>();

export function rawDatabase(orm: Orm): RawDatabase {
  const client = orm.em.getConnection().getKnex().client as unknown as KnexClient;
  const dialect = isSqlite(orm.em) ? 'sqlite' : 'mysql';
  const thread = dialect === 'sqlite' ? writerThread(orm) : null;
  return {
    dialect,
    async transaction(work) {
      for (let attempt = 1; ; attempt++) {
        // On the embedded database with a writer thread, the main thread's only connection is held
        // (idle) while the thread's transaction runs: MikroORM's statements wait for it, as they waited
        // for the transaction on that connection before, so the two connections never write at once.
        const connection = await client.acquireConnection();
        try {
          if (dialect === 'mysql') return await mysqlTransaction(connection as MysqlConnection, work);
          return thread ? await thread.transaction(work) : await sqliteTransaction(connection as SqliteConnection, work);
        } catch (error) {
          if (!RETRIABLE_ERRNOS.has((error as { errno?: number }).errno ?? 0) || attempt >= MAX_ATTEMPTS) throw error;
        } finally {
          await client.releaseConnection(connection);
        }
        await new Promise((resolve) => setTimeout(resolve, attempt * 5 * Math.random()));
      }
    },
  };
}

function mysqlCall<T>(call: (callback: (error: Error | null, result: unknown) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, result) => (error ? reject(error) : resolve(result as T))));
}

/**
 * READ COMMITTED: every change locks its directory row first, which is what serializes changes;
 * REPEATABLE READ's gap locks would only add deadlocks between directories inserting new goods.
 */
async function mysqlTransaction<T>(connection: MysqlConnection, work: (statements: Statements) => Promise<T>): Promise<T> {
  if (!prepared.has(connection)) {
    await mysqlCall((done) => connection.query('set session transaction isolation level read committed', done));
    prepared.add(connection);
  }
  const statements: Statements = {
    all: <R>(sql: string, params: readonly unknown[] = []) => mysqlCall<R[]>((done) => connection.execute(sql, params, done)),
    run: async (sql, params = []) => {
      const header = await mysqlCall<{ affectedRows: number; insertId: number }>((done) => connection.execute(sql, params, done));
      return { affectedRows: header.affectedRows, insertId: header.insertId };
    },
  };
  await mysqlCall((done) => connection.query('start transaction', done));
  try {
    const result = await work(statements);
    await mysqlCall((done) => connection.query('commit', done));
    return result;
  } catch (error) {
    // A connection whose transaction cannot be rolled back (a statement that timed out already
    // destroyed it; a server that refuses the rollback) is destroyed rather than handed to the next
    // caller inside a transaction it did not start.
    await mysqlCall((done) => connection.query('rollback', done)).catch(() => connection.stream.destroy());
    throw error;
  }
}

/** Prepared statements of each SQLite connection, by their text: preparing costs more than running. */
const sqlitePrepared = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();

function sqliteStatement(connection: SqliteConnection, sql: string): SqliteStatement {
  let cache = sqlitePrepared.get(connection);
  if (!cache) sqlitePrepared.set(connection, (cache = new Map()));
  let statement = cache.get(sql);
  if (!statement) {
    // Batches of every size make distinct texts; past a few hundred, start again rather than grow.
    if (cache.size >= 500) cache.clear();
    cache.set(sql, (statement = connection.prepare(sql)));
  }
  return statement;
}

/** SQLite has one writer: BEGIN IMMEDIATE takes the write lock at once rather than at the first write. */
async function sqliteTransaction<T>(connection: SqliteConnection, work: (statements: Statements) => Promise<T>): Promise<T> {
  const statements: Statements = {
    all: async <R>(sql: string, params: readonly unknown[] = []) => sqliteStatement(connection, sql).all(params.map(sqliteValue)) as R[],
    run: async (sql, params = []) => {
      const info = sqliteStatement(connection, sql).run(params.map(sqliteValue));
      return { affectedRows: info.changes, insertId: Number(info.lastInsertRowid) };
    },
  };
  connection.exec('begin immediate');
  try {
    const result = await work(statements);
    connection.exec('commit');
    return result;
  } catch (error) {
    try {
      connection.exec('rollback');
    } catch {
      // Nothing to roll back (the failure was the commit itself, or the transaction never began).
    }
    throw error;
  }
}

/**
 * Runs `work` again when it loses a race on a unique key (an event id or a name claimed by a concurrent
 * transaction): the next run sees the winner's row and answers from it. `lost` hears each retry.
 */
export async function retryingLostRaces<T>(work: () => Promise<T>, attempts: number, lost: () => void = () => undefined): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isDuplicateKey(error) || attempt >= attempts) throw error;
      lost();
    }
  }
}

/** A duplicate key, on either database. */
export function isDuplicateKey(error: unknown): boolean {
  const { errno, code, message } = error as { errno?: number; code?: string; message?: string };
  return errno === 1062 || code === 'ER_DUP_ENTRY' || (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT_UNIQUE')) || /UNIQUE constraint failed/.test(message ?? '');
}

/**
 * The same statements on a MikroORM transaction (login creates 默认 in the transaction that creates the
 * user). MikroORM formats the values into the SQL text here: for the rare writes that need its unit of
 * work beside them, not for the hot path.
 */
export function emStatements(tx: SqlEntityManager): Statements {
  const connection = tx.getConnection();
  const context = tx.getTransactionContext();
  return {
    all: <T>(sql: string, params: readonly unknown[] = []) => connection.execute<T[]>(sql, [...params], 'all', context),
    run: async (sql, params = []) => {
      const result = await connection.execute<{ affectedRows: number; insertId: number }>(sql, [...params], 'run', context);
      return { affectedRows: result.affectedRows, insertId: result.insertId };
    },
  };
}

/**
 * The database did not answer in time (a statement past DB_QUERY_TIMEOUT_MS, no connection within
 * DB_ACQUIRE_TIMEOUT_MS), here or in the error's causes: it stalls or is gone, so work queued behind
 * this would wait as long again for the same answer.
 */
export function isDatabaseStall(error: unknown): boolean {
  return inCauseChain(error, (each) => each instanceof QueryTimeoutError || each instanceof AcquireTimeoutError);
}
