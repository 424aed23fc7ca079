import { MikroORM as MySqlORM, MySqlDriver, type Options as MySqlOptions } from '@mikro-orm/mysql';
import { MikroORM as LibSqlORM, LibSqlDriver, type Options as LibSqlOptions } from '@mikro-orm/libsql';
import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlDriver, SqlEntityManager } from '@mikro-orm/knex';
import { Migrator } from '@mikro-orm/migrations';
import { accessSync, closeSync, constants as fsConstants, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import type { DatabaseConfig, DatabaseTimeouts } from '../config';
import { StartupError, errorCode } from '../startup-error';
import { entities } from './entities';
import { SqliteThread } from './sqlite-thread';
import { mysqlMigrations, mysqlMigrationsPath } from './migrations/mysql';
import { sqliteMigrations, sqliteMigrationsPath } from './migrations/sqlite';

export type Orm = MikroORM<AbstractSqlDriver>;
export type Em = SqlEntityManager;

const common = {
  entities,
  extensions: [Migrator],
  // Entities are EntitySchema definitions: no decorator metadata to discover.
  discovery: { requireEntitiesArray: true },
  allowGlobalContext: false,
  debug: false,
};

export interface OpenOptions {
  /**
   * Whether a MySQL database that does not exist is created (MikroORM's `ensureDatabase`). True by
   * default, as in development and the tests; the server passes false when NODE_ENV=production, where a
   * typo in DATABASE_URL must not start the service on a new, empty database.
   */
  createDatabase?: boolean;
  /** Told the names of the migrations this open applied (none: an empty list), for the start-up summary. */
  onMigrated?: (names: string[]) => void;
}

/** Applies the pending migrations and says which. */
async function migrate(orm: Orm, options: OpenOptions): Promise<void> {
  const applied = await orm.getMigrator().up();
  options.onMigrated?.(applied.map((migration) => migration.name));
}

/**
 * The SQL mode of every connection, whatever the server's default: MikroORM's reads format values into
 * the SQL text, escaped with backslashes, which NO_BACKSLASH_ESCAPES (a valid server setting) would turn
 * into an injection. Strict, as MariaDB's default is.
 */
const SESSION_SQL_MODE = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

/** The code of QueryTimeoutError, which the error mapper answers as 503 `unavailable`. */
export const QUERY_TIMEOUT_CODE = 'DB_QUERY_TIMEOUT';

/**
 * A statement that had no answer from the database within DB_QUERY_TIMEOUT_MS. Its connection is
 * destroyed with it, so it can never be handed out again.
 */
export class QueryTimeoutError extends Error {
  readonly code = QUERY_TIMEOUT_CODE;
  /** mysql2's word for an error that ended the connection. */
  readonly fatal = true;

  constructor(limitMs: number) {
    super(`the database did not answer a statement within ${limitMs} ms; its connection was destroyed`);
    this.name = 'QueryTimeoutError';
  }
}

/** The code of AcquireTimeoutError, which the error mapper answers as 503 `unavailable`. */
export const ACQUIRE_TIMEOUT_CODE = 'DB_ACQUIRE_TIMEOUT';

/**
 * No pool connection within DB_ACQUIRE_TIMEOUT_MS: every connection busy, or none could be opened in
 * time. In place of knex's own error, whose "the pool is probably full" misleads when it is the
 * database that stalls, and which MikroORM passes on under another name, without it.
 */
export class AcquireTimeoutError extends Error {
  readonly code = ACQUIRE_TIMEOUT_CODE;

  constructor(limitMs: number) {
    super(`no database connection could be had within ${limitMs} ms`);
    this.name = 'AcquireTimeoutError';
  }
}

interface KnexClient {
  acquireConnection(): Promise<unknown>;
}

/** Every wait for a connection, MikroORM's and the mutation path's (raw.ts), goes through the client's acquireConnection. */
function nameAcquireTimeouts(orm: Orm, limitMs: number): void {
  const client = orm.em.getConnection().getKnex().client as unknown as KnexClient;
  const acquire = client.acquireConnection.bind(client);
  client.acquireConnection = () =>
    acquire().catch((error: unknown) => {
      throw (error as { name?: unknown }).name === 'KnexTimeoutError' ? new AcquireTimeoutError(limitMs) : error;
    });
}

/**
 * The mysql2 connection that knex's pool creates, as far as the pool hooks use it. `_command` is the
 * command mysql2 is waiting on (null or undefined while the connection is idle): internal to mysql2,
 * but the only way to tell a database that stopped answering from a connection resting in the pool.
 */
interface RawMysqlConnection {
  stream: Socket;
  _command: unknown;
  query(sql: string, callback: (error: Error | null) => void): void;
}

/**
 * The per-statement limit of one pool's connections. Armed only once the migrations are done: an
 * ALTER TABLE or a backfill over a big table may rightly run for minutes.
 */
interface StatementLimit {
  ms: number;
  armed: boolean;
}

/**
 * A statement's connection is destroyed when the database stays silent for `limit.ms` while mysql2
 * waits for its answer. The socket's idle timer restarts on every byte either way, so a result that is
 * still streaming is not cut; the server's own limits (max_statement_time) cannot help here, since a
 * stalled server enforces nothing. Destroying the socket fails the statement (and any queued behind it)
 * with QueryTimeoutError and marks the connection dead, which knex's pool checks before handing a
 * connection out: a connection stuck in a stalled transaction never serves anyone again, and whatever
 * the server does with it when it wakes (a rollback, or a commit already sent: an event id then answers
 * its retry as a duplicate) reaches no client.
 */
function watchForSilence(connection: RawMysqlConnection, limit: StatementLimit): void {
  connection.stream.setTimeout(limit.ms);
  connection.stream.on('timeout', () => {
    // Idle in the pool, or running a migration: not a stall.
    if (!limit.armed || !connection._command) return;
    connection.stream.destroy(new QueryTimeoutError(limit.ms));
  });
}

/**
 * knex's afterCreate: runs once on each new pool connection, before anyone uses it. The watch comes
 * first, so that a server that stalls right after the handshake fails this connection's creation (and
 * the request waiting for it) instead of hanging it.
 */
function sessionSetup(limit: StatementLimit | null) {
  return (connection: RawMysqlConnection, done: (error: Error | null, connection: RawMysqlConnection) => void): void => {
    if (limit !== null) watchForSilence(connection, limit);
    connection.query(`set session sql_mode = '${SESSION_SQL_MODE}'`, (error) => done(error, connection));
  };
}

/** Without timeouts (the CLI's migrations, the importer): a connection is still waited for 5 s at most. */
const TOOL_ACQUIRE_MS = 5000;

function acquireLimit(database: Extract<DatabaseConfig, { kind: 'mysql' }>): number {
  return database.timeouts?.acquireMs ?? TOOL_ACQUIRE_MS;
}

function mysqlOptions(database: Extract<DatabaseConfig, { kind: 'mysql' }>, options: OpenOptions, limit: StatementLimit | null): MySqlOptions {
  const acquireMs = acquireLimit(database);
  return {
    ...common,
    driver: MySqlDriver,
    clientUrl: database.url,
    ensureDatabase: options.createDatabase ?? true,
    timezone: '+00:00',
    charset: 'utf8mb4',
    pool: { min: 0, max: 10, afterCreate: sessionSetup(limit) },
    // Fail fast when the database is down or stalled, so that clients get 503 `unavailable` in seconds
    // rather than after knex's default minute-long wait for a connection. A connection whose handshake
    // takes longer than a request may wait for it is of no use to that request.
    driverOptions: { acquireConnectionTimeout: acquireMs, connection: { connectTimeout: acquireMs } },
    migrations: { migrationsList: mysqlMigrations, path: mysqlMigrationsPath, pathTs: mysqlMigrationsPath, transactional: false, snapshot: false, silent: true },
  } satisfies MySqlOptions;
}

/** The pool's statement limit for these timeouts, disarmed until openDatabase has migrated. */
function statementLimit(timeouts: DatabaseTimeouts | undefined): StatementLimit | null {
  return timeouts === undefined ? null : { ms: timeouts.queryMs, armed: false };
}

/**
 * MikroORM options for either backend, as `mikro-orm.config.ts` (the CLI) uses them: statements without
 * a time limit, whatever the DatabaseConfig's timeouts say, since the CLI runs migrations. The
 * migrations are the files of `migrations/<dialect>/`, and the CLI's `migration:create` writes there.
 */
export function ormOptions(database: DatabaseConfig, options: OpenOptions = {}): MySqlOptions | LibSqlOptions {
  if (database.kind === 'mysql') return mysqlOptions(database, options, null);
  return {
    ...common,
    driver: LibSqlDriver,
    dbName: database.path,
    // One connection: SQLite has one writer, and a pool of one queues transactions instead of
    // failing them with SQLITE_BUSY.
    pool: { min: 1, max: 1 },
    migrations: { migrationsList: sqliteMigrations, path: sqliteMigrationsPath, pathTs: sqliteMigrationsPath, transactional: true, snapshot: false, silent: true },
  } satisfies LibSqlOptions;
}

/**
 * Before MikroORM connects: one plain connection to the database DATABASE_URL names, so that a failure
 * says what is wrong in the operator's terms (unreachable, refused, no such database) instead of a
 * driver's stack, naming the host but never the password. Returns without a word when the database is
 * missing and may be created: MikroORM creates it next.
 */
async function checkMysql(url: string, createDatabase: boolean): Promise<void> {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.slice(1));
  const where = `mysql at ${parsed.hostname}:${parsed.port || '3306'}`;
  let connection: mysql.Connection;
  try {
    connection = await mysql.createConnection({
      host: parsed.hostname,
      port: Number(parsed.port || 3306),
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      database,
      connectTimeout: 3000,
    });
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ER_BAD_DB_ERROR') {
      if (createDatabase) return;
      throw new StartupError(
        'DATABASE_URL',
        `database "${database}" does not exist on ${where}; create it first (it is never created when NODE_ENV=production, so that a misspelt name cannot start the service on an empty database)`,
      );
    }
    const user = decodeURIComponent(parsed.username);
    if (code === 'ER_DBACCESS_DENIED_ERROR') throw new StartupError('DATABASE_URL', `${where} refused user "${user}" access to database "${database}" (${code})`);
    if (code.startsWith('ER_ACCESS_DENIED')) throw new StartupError('DATABASE_URL', `${where} refused the login of user "${user}" (${code})`);
    // Network errors (ECONNREFUSED, ENOTFOUND, ETIMEDOUT...) never got an answer; anything else is the server's.
    if (/^E(?!R_)[A-Z_]+$/.test(code)) throw new StartupError('DATABASE_URL', `cannot reach ${where} (${code})`);
    throw new StartupError('DATABASE_URL', `${where} refused the connection (${code})`);
  }
  await connection.end();
}

/**
 * `mkdir -p`, one level at a time: node's recursive mkdir never returns on some paths (under /proc it
 * retries its ENOENT forever), which is how `file:/proc/nope/x.db` hung the start.
 */
function makeFolder(folder: string): void {
  const missing: string[] = [];
  for (let level = folder; !existsSync(level); level = dirname(level)) missing.unshift(level);
  for (const level of missing) mkdirSync(level);
}

/**
 * The embedded database's file, checked before libsql opens it, so that a path that cannot be used
 * fails at once, naming DATABASE_URL and the absolute path. Left to libsql, an unwritable path is a
 * driver stack (`ConnectionFailed("Unable to open connection to local database …: 14")`).
 */
function checkSqlitePath(path: string): void {
  if (path === ':memory:') return;
  const file = resolve(path);
  const folder = dirname(file);
  const refuse = (reason: string) => new StartupError('DATABASE_URL', `the embedded database ${file} ${reason}`);
  try {
    makeFolder(folder);
  } catch (error) {
    throw refuse(`cannot be created: its folder ${folder} cannot be made (${errorCode(error)})`);
  }
  let isFolder = false;
  try {
    isFolder = statSync(file).isDirectory();
  } catch {
    // Not there yet: SQLite creates it.
  }
  if (isFolder) throw refuse('is a folder; DATABASE_URL names the database file, e.g. file:./data/scancode.db');
  try {
    // Opening for append creates the file if needed and changes nothing in one that exists.
    closeSync(openSync(file, 'a'));
    // SQLite writes its WAL (-wal, -shm) beside the file.
    accessSync(folder, fsConstants.W_OK);
  } catch (error) {
    throw refuse(`cannot be opened for writing (${errorCode(error)})`);
  }
}

/**
 * libsql's failures on opening a file that passed the check above (not a database, a database
 * damaged), said with the path instead of a driver stack; anything else is passed on as it is.
 */
async function openSqlite(path: string, options: OpenOptions): Promise<Orm> {
  checkSqlitePath(path);
  let orm: Orm | null = null;
  try {
    orm = (await LibSqlORM.init(ormOptions({ kind: 'sqlite', path }, options) as LibSqlOptions)) as unknown as Orm;
    const connection = orm.em.getConnection();
    // WAL lets readers run beside the writer and is about 3x faster than the rollback journal here.
    await connection.execute('pragma journal_mode = wal');
    await connection.execute('pragma synchronous = normal');
    await connection.execute('pragma busy_timeout = 5000');
    return orm;
  } catch (error) {
    await orm?.close().catch(() => undefined);
    const code = errorCode(error);
    if (!code.startsWith('SQLITE_') && !code.startsWith('ConnectionFailed')) throw error;
    throw new StartupError('DATABASE_URL', `the embedded database ${resolve(path)} cannot be opened (${code.split('\n')[0]})`);
  }
}

const writerThreads = new WeakMap<Orm, SqliteThread>();

/**
 * The embedded database's writer thread (sqlite-thread.ts), where the mutation path's transactions run
 * (raw.ts), once the migrations are done; closed with the ORM, before its connection. None for a
 * database in memory, which a second connection cannot open.
 */
function startWriterThread(orm: Orm, path: string): void {
  if (path === ':memory:') return;
  const thread = new SqliteThread({ path: resolve(path), synchronous: 'normal' });
  writerThreads.set(orm, thread);
  const close = orm.close.bind(orm);
  orm.close = async (force?: boolean) => {
    writerThreads.delete(orm);
    await thread.close();
    return close(force);
  };
}

/** The writer thread of an ORM that openDatabase opened on an embedded database file, or null. */
export function writerThread(orm: Orm): SqliteThread | null {
  return writerThreads.get(orm) ?? null;
}

/**
 * Connects, tunes SQLite, and applies pending migrations. On MySQL the database's timeouts, if it has
 * any, hold from then on: every statement after the migrations has DB_QUERY_TIMEOUT_MS to be answered.
 */
export async function openDatabase(database: DatabaseConfig, options: OpenOptions = {}): Promise<Orm> {
  if (database.kind === 'sqlite') {
    const orm = await openSqlite(database.path, options);
    await migrate(orm, options);
    startWriterThread(orm, database.path);
    return orm;
  }
  await checkMysql(database.url, options.createDatabase ?? true);
  const limit = statementLimit(database.timeouts);
  const orm = (await MySqlORM.init(mysqlOptions(database, options, limit))) as unknown as Orm;
  nameAcquireTimeouts(orm, acquireLimit(database));
  await migrate(orm, options);
  if (limit !== null) limit.armed = true;
  return orm;
}
