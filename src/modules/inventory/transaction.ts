import { DeadlockException, DriverException, LockWaitTimeoutException, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Em } from '../../db/orm';

const MAX_ATTEMPTS = 5;

/**
 * Runs `work` in one transaction, again from the start when MySQL picks it as a deadlock victim:
 * concurrent inserts under unique keys (event ids, goods codes) can deadlock in InnoDB even though
 * every change locks its directory first. The work must only touch the database, so a retry is safe.
 */
export async function inTransaction<T>(em: Em, work: (tx: Em) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await em.transactional((tx) => work(tx as Em));
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
