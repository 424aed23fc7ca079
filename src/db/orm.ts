import { MikroORM as MySqlORM, MySqlDriver, type Options as MySqlOptions } from '@mikro-orm/mysql';
import { MikroORM as LibSqlORM, LibSqlDriver, type Options as LibSqlOptions } from '@mikro-orm/libsql';
import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlDriver, SqlEntityManager } from '@mikro-orm/knex';
import { Migrator } from '@mikro-orm/migrations';
import mysql from 'mysql2/promise';
import type { DatabaseConfig } from '../config';
import { StartupError, errorCode } from '../startup-error';
import { entities } from './entities';
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
}

/**
 * MikroORM options for either backend; used by the server and by `mikro-orm.config.ts` (the CLI). The
 * migrations are the files of `migrations/<dialect>/`, and the CLI's `migration:create` writes there.
 */
/**
 * The SQL mode of every connection, whatever the server's default: MikroORM's reads format values into
 * the SQL text, escaped with backslashes, which NO_BACKSLASH_ESCAPES (a valid server setting) would turn
 * into an injection. Strict, as MariaDB's default is.
 */
const SESSION_SQL_MODE = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

interface RawMysqlConnection {
  query(sql: string, callback: (error: Error | null) => void): void;
}

/** knex's afterCreate: runs once on each new pool connection, before anyone uses it. */
function pinSession(connection: RawMysqlConnection, done: (error: Error | null, connection: RawMysqlConnection) => void): void {
  connection.query(`set session sql_mode = '${SESSION_SQL_MODE}'`, (error) => done(error, connection));
}

export function ormOptions(database: DatabaseConfig, options: OpenOptions = {}): MySqlOptions | LibSqlOptions {
  if (database.kind === 'mysql') {
    return {
      ...common,
      driver: MySqlDriver,
      clientUrl: database.url,
      ensureDatabase: options.createDatabase ?? true,
      timezone: '+00:00',
      charset: 'utf8mb4',
      pool: { min: 0, max: 10, afterCreate: pinSession },
      // Fail fast when the database is down, so that clients get 503 `unavailable` in seconds rather
      // than after knex's default minute-long wait for a connection.
      driverOptions: { acquireConnectionTimeout: 5000, connection: { connectTimeout: 3000 } },
      migrations: { migrationsList: mysqlMigrations, path: mysqlMigrationsPath, pathTs: mysqlMigrationsPath, transactional: false, snapshot: false, silent: true },
    } satisfies MySqlOptions;
  }
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
      throw new StartupError('DATABASE_URL', `database "${database}" does not exist on ${where}; create it first (it is never created when NODE_ENV=production, so that a misspelt name cannot start the service on an empty database)`);
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

/** Connects, tunes SQLite, and applies pending migrations. */
export async function openDatabase(database: DatabaseConfig, options: OpenOptions = {}): Promise<Orm> {
  if (database.kind === 'mysql') await checkMysql(database.url, options.createDatabase ?? true);
  const orm = (database.kind === 'mysql'
    ? await MySqlORM.init(ormOptions(database, options) as MySqlOptions)
    : await LibSqlORM.init(ormOptions(database, options) as LibSqlOptions)) as unknown as Orm;
  if (database.kind === 'sqlite') {
    const connection = orm.em.getConnection();
    // WAL lets readers run beside the writer and is about 3x faster than the rollback journal here.
    await connection.execute('pragma journal_mode = wal');
    await connection.execute('pragma synchronous = normal');
    await connection.execute('pragma busy_timeout = 5000');
  }
  await orm.getMigrator().up();
  return orm;
}
