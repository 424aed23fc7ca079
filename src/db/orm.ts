import { MikroORM as MySqlORM, type Options as MySqlOptions } from '@mikro-orm/mysql';
import { MikroORM as LibSqlORM, type Options as LibSqlOptions } from '@mikro-orm/libsql';
import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlDriver, SqlEntityManager } from '@mikro-orm/knex';
import { Migrator } from '@mikro-orm/migrations';
import type { DatabaseConfig } from '../config';
import { entities } from './entities';
import { mysqlMigrations } from './migrations/mysql';
import { sqliteMigrations } from './migrations/sqlite';

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

/** MikroORM options for either backend; used by the server and by `mikro-orm.config.ts` (the CLI). */
export function ormOptions(database: DatabaseConfig): MySqlOptions | LibSqlOptions {
  if (database.kind === 'mysql') {
    return {
      ...common,
      clientUrl: database.url,
      timezone: '+00:00',
      charset: 'utf8mb4',
      pool: { min: 0, max: 10 },
      // Fail fast when the database is down, so that clients get 503 `unavailable` in seconds rather
      // than after knex's default minute-long wait for a connection.
      driverOptions: { acquireConnectionTimeout: 5000, connection: { connectTimeout: 3000 } },
      migrations: { migrationsList: mysqlMigrations, transactional: false, snapshot: false, silent: true },
    } satisfies MySqlOptions;
  }
  return {
    ...common,
    dbName: database.path,
    // One connection: SQLite has one writer, and a pool of one queues transactions instead of
    // failing them with SQLITE_BUSY.
    pool: { min: 1, max: 1 },
    migrations: { migrationsList: sqliteMigrations, transactional: true, snapshot: false, silent: true },
  } satisfies LibSqlOptions;
}

/** Connects, tunes SQLite, and applies pending migrations. */
export async function openDatabase(database: DatabaseConfig): Promise<Orm> {
  const orm = (database.kind === 'mysql'
    ? await MySqlORM.init(ormOptions(database) as MySqlOptions)
    : await LibSqlORM.init(ormOptions(database) as LibSqlOptions)) as unknown as Orm;
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
