import { DeadlockException, DriverException, IsolationLevel, LockWaitTimeoutException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { BaseSqlitePlatform } from '@mikro-orm/knex';
import type { Em } from '../../db/orm';

const MAX_ATTEMPTS = 5;

/** SQLite has one writer at a time: no row locks, no isolation levels to choose. */
export function isSqlite(em: Em): boolean {
  return em.getPlatform() instanceof BaseSqlitePlatform;
}

/**
 * Runs a write in one transaction, again from the start when MySQL picks it as a deadlock victim. The
 * work must only touch the database, so a retry is safe.
 *
 * On MySQL writes run in READ COMMITTED: every change locks its directory row first, which is what
 * serializes changes, and REPEATABLE READ's gap locks would only add deadlocks (two directories'
 * first scans of new codes lock the same gap of the goods key, then both insert into it).
 * Reads that must see one consistent snapshot (a subscribe's snapshot) use their own transaction.
 */
export async function inTransaction<T>(em: Em, work: (tx: Em) => Promise<T>): Promise<T> {
  const options = isSqlite(em) ? {} : { isolationLevel: IsolationLevel.READ_COMMITTED };
  for (let attempt = 1; ; attempt++) {
    try {
      return await em.transactional((tx) => work(tx as Em), options);
    } catch (error) {
      const converted = asDriverException(em, error);
      const retriable = converted instanceof DeadlockException || converted instanceof LockWaitTimeoutException;
      if (!retriable || attempt >= MAX_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, attempt * 5 * Math.random()));
    }
  }
}

/**
 * Query-builder statements surface the driver's raw error (SQLite's SQLITE_CONSTRAINT_UNIQUE, MySQL's
 * ER_DUP_ENTRY...); this gives MikroORM's typed exception for it, the same on both databases.
 */
export function asDriverException(em: Em, error: unknown): unknown {
  if (error instanceof DriverException || !(error instanceof Error)) return error;
  if (typeof (error as { code?: unknown }).code !== 'string' && typeof (error as { errno?: unknown }).errno !== 'number') return error;
  return em.getDriver().convertException(error);
}

export function isUniqueViolation(em: Em, error: unknown): boolean {
  return asDriverException(em, error) instanceof UniqueConstraintViolationException;
}
