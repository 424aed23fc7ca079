/**
 * The embedded database's writer, on a worker thread of its own: it owns one libsql connection to the
 * server's file and runs the statements the main thread sends it, one message each, answering each
 * with its rows or its result. libsql's API is synchronous, so on the main thread every statement held
 * the event loop; here it holds only this thread. See sqlite-thread.ts for the main thread's side.
 *
 * This function is the worker's whole program: the thread runs its source text (so that ts-jest and the
 * compiled server start it alike), with nothing of this module in scope, only `require`.
 */

export interface WorkerSetup {
  /** The database file (already created and migrated by the main thread's connection, in WAL mode). */
  path: string;
  /** require.resolve('libsql'), as the main thread found it. */
  libsql: string;
  synchronous: 'normal' | 'full';
}

/** One statement: `begin` opens the transaction first (BEGIN IMMEDIATE), saving a round trip. */
export interface StatementMessage {
  id: number;
  op: 'all' | 'run' | 'exec' | 'close';
  sql: string;
  params: unknown[];
  begin: boolean;
}

export type StatementAnswer = { id: number; result: unknown } | { id: number; error: { message: string; name: string; code?: unknown; rawCode?: unknown } };

export function serveStatements(): void {
  // The worker's program is this function's text: it has no imports, only require.
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const setup = workerData as WorkerSetup;
  interface Statement {
    all(params: unknown[]): unknown[];
    run(params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  }
  const Database = require(setup.libsql) as new (path: string) => { prepare(sql: string): Statement; exec(sql: string): void; close(): void };
  const db = new Database(setup.path);
  // Per connection, as the main thread's connection has them (orm.ts; MikroORM turns foreign keys on).
  db.exec(`pragma synchronous = ${setup.synchronous}`);
  db.exec('pragma busy_timeout = 5000');
  db.exec('pragma foreign_keys = on');
  // Preparing costs more than running; batches of every size make distinct texts, so past a few
  // hundred the cache starts again rather than grow.
  const prepared = new Map<string, Statement>();
  const statement = (sql: string): Statement => {
    let found = prepared.get(sql);
    if (!found) {
      if (prepared.size >= 500) prepared.clear();
      prepared.set(sql, (found = db.prepare(sql)));
    }
    return found;
  };
  const port = parentPort as NonNullable<typeof parentPort>;
  port.on('message', (message: StatementMessage) => {
    if (message.op === 'close') {
      db.close();
      port.postMessage({ id: message.id, result: null } satisfies StatementAnswer);
      port.close();
      return;
    }
    try {
      if (message.begin) db.exec('begin immediate');
      let result: unknown = null;
      if (message.op === 'all') result = statement(message.sql).all(message.params);
      else if (message.op === 'run') {
        const info = statement(message.sql).run(message.params);
        result = { affectedRows: info.changes, insertId: Number(info.lastInsertRowid) };
      } else db.exec(message.sql);
      port.postMessage({ id: message.id, result } satisfies StatementAnswer);
    } catch (caught) {
      const error = caught as { message?: string; name?: string; code?: unknown; rawCode?: unknown };
      port.postMessage({
        id: message.id,
        error: { message: String(error.message ?? caught), name: String(error.name ?? 'Error'), code: error.code, rawCode: error.rawCode },
      } satisfies StatementAnswer);
    }
  });
}
