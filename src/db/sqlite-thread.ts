import { Worker } from 'node:worker_threads';
import type { Statements } from './raw';
import { serveStatements, type StatementAnswer, type StatementMessage, type WorkerSetup } from './sqlite-worker';

/**
 * The main thread's side of the embedded database's writer thread (sqlite-worker.ts): transactions whose
 * statements run there, on a libsql connection of its own to the same file. libsql is synchronous, so
 * on the main thread a transaction held the event loop for as long as its statements ran; sent to the
 * thread, each statement is a message, and between its question and its answer the event loop serves
 * other sockets. WAL lets the main thread's connection (MikroORM's reads, logins) read beside it; the
 * caller (raw.ts) holds that connection while a transaction runs here, so the two never write at once.
 */
export class SqliteThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();
  private nextId = 0;
  /** Set when the thread died or was closed: every later call fails with it. */
  private failure: Error | null = null;
  /** The transactions under way (one at a time: raw.ts holds the pool's connection for each). */
  private readonly underWay = new Set<Promise<unknown>>();
  /** Set by close: no transaction starts any more, the one under way finishes. */
  private closing: Error | null = null;
  private closed: Promise<void> | null = null;

  constructor(setup: Omit<WorkerSetup, 'libsql'>) {
    const workerData: WorkerSetup = { ...setup, libsql: require.resolve('libsql') };
    this.worker = new Worker(`(${serveStatements.toString()})()`, { eval: true, workerData });
    this.worker.on('message', (answer: StatementAnswer) => this.answer(answer));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the embedded database's writer thread exited (${code})`)));
    // Idle, the thread keeps no process alive (a CLI that forgot to close its database still exits);
    // while a statement is out, it does (see call).
    this.worker.unref();
  }

  /** Runs `work` in one transaction on the thread's connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (statements: Statements) => Promise<T>): Promise<T> {
    const refused = this.failure ?? this.closing;
    if (refused !== null) return Promise.reject(refused);
    const running = this.run(work);
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.underWay.add(settled);
    void settled.then(() => this.underWay.delete(settled));
    return running;
  }

  private async run<T>(work: (statements: Statements) => Promise<T>): Promise<T> {
    let begun = false;
    // BEGIN IMMEDIATE (SQLite's one writer lock, taken at once) goes with the first statement.
    const send = (op: 'all' | 'run', sql: string, params: readonly unknown[]) => {
      const begin = !begun;
      begun = true;
      return this.call(op, sql, params.map(sqliteValue), begin);
    };
    const statements: Statements = {
      all: async <R>(sql: string, params: readonly unknown[] = []) => (await send('all', sql, params)) as R[],
      run: async (sql, params = []) => (await send('run', sql, params)) as { affectedRows: number; insertId: number },
    };
    try {
      const result = await work(statements);
      if (begun) await this.call('exec', 'commit', [], false);
      return result;
    } catch (error) {
      // Nothing to roll back when the failure was the commit itself, or the transaction never began.
      if (begun) await this.call('exec', 'rollback', [], false).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Closes the thread's connection, then the thread, once the transaction under way has ended: its
   * callers get their commit (and their acks) rather than a rollback at shutdown.
   */
  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    this.closing = new Error('the embedded database was closed');
    await Promise.all(this.underWay);
    if (this.failure === null) {
      const closed = this.call('close', '', [], false);
      this.failure = this.closing;
      await closed.catch(() => undefined);
    }
    await this.worker.terminate();
  }

  private call(op: StatementMessage['op'], sql: string, params: unknown[], begin: boolean): Promise<unknown> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, sql, params, begin } satisfies StatementMessage);
    });
  }

  private answer(answer: StatementAnswer): void {
    const waiting = this.pending.get(answer.id);
    if (!waiting) return;
    this.pending.delete(answer.id);
    if (this.pending.size === 0) this.worker.unref();
    if ('result' in answer) return waiting.resolve(answer.result);
    // libsql's error, with the fields the callers read (isDuplicateKey: code, message).
    const { message, name, code, rawCode } = answer.error;
    waiting.reject(Object.assign(new Error(message), { name, code, rawCode }));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(this.failure);
    this.pending.clear();
  }
}

/** SQLite stores times as milliseconds since the epoch (as MikroORM does) and booleans as 0/1. */
export function sqliteValue(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}
