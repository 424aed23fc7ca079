import type { FastifyBaseLogger } from 'fastify';
import { ConnectionException, DeadlockException, LockWaitTimeoutException } from '@mikro-orm/core';
import { ACQUIRE_TIMEOUT_CODE, QUERY_TIMEOUT_CODE } from '../db/orm';
import { AppError, inCauseChain, type ErrorBody } from '../errors';

/** Driver codes that mean "the database cannot answer right now": the client should retry. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_QUERY_INTERRUPTED',
  'ER_STATEMENT_TIMEOUT',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  // A statement left unanswered for DB_QUERY_TIMEOUT_MS, no connection within DB_ACQUIRE_TIMEOUT_MS
  // (src/db/orm.ts): the database stalled, or every connection is busy.
  QUERY_TIMEOUT_CODE,
  ACQUIRE_TIMEOUT_CODE,
]);
/** ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK (after the retries), ER_QUERY_INTERRUPTED, ER_STATEMENT_TIMEOUT (MariaDB). */
const UNAVAILABLE_ERRNOS = new Set([1205, 1213, 1317, 1969]);

type Fields = { code?: unknown; errno?: unknown; fatal?: unknown; name?: unknown; validation?: unknown; statusCode?: unknown; message?: unknown };

function fieldsOf(error: unknown): Fields {
  return typeof error === 'object' && error !== null ? (error as Fields) : {};
}

/** The error, or any error in its `cause` chain, says the database is away or too busy right now. */
function isUnavailable(error: unknown): boolean {
  return inCauseChain(error, saysUnavailable);
}

function saysUnavailable(error: unknown): boolean {
  if (error instanceof ConnectionException || error instanceof LockWaitTimeoutException || error instanceof DeadlockException) return true;
  const { code, errno, fatal, name } = fieldsOf(error);
  // The pool found no connection in time (the mutation path takes its connections from it directly).
  if (name === 'KnexTimeoutError') return true;
  // mysql2's mark of an error that ended the connection, some of them without a code (a statement
  // sent on a connection that a timeout or the network had just closed: "Can't add new command when
  // connection is in closed state").
  if (fatal === true) return true;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  return typeof errno === 'number' && UNAVAILABLE_ERRNOS.has(errno);
}

const INTERNAL = { status: 500, body: { code: 'internal' as const, message: 'internal error' } };

/**
 * The one mapping from anything thrown to SPEC's error shape, shared by HTTP and WebSocket. It never
 * throws, whatever it is given (an error without a cause, a string, undefined). Unexpected errors are
 * logged here with the original error and reach the client as a bare `internal`.
 */
export function toErrorBody(error: unknown, log: FastifyBaseLogger): { status: number; body: ErrorBody } {
  try {
    return mapped(error, log);
  } catch {
    return INTERNAL;
  }
}

function mapped(error: unknown, log: FastifyBaseLogger): { status: number; body: ErrorBody } {
  if (error instanceof AppError) return { status: error.status, body: error.toBody() };
  const { validation, code, statusCode, message } = fieldsOf(error);
  const text = typeof message === 'string' ? message : undefined;
  if (validation) return { status: 400, body: { code: 'bad_request', message: text ?? 'invalid request' } };
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, body: { code: 'payload_too_large', message: 'request body is too large' } };
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    // Fastify's own client errors: unparsable JSON, unsupported content type, empty JSON body...
    return { status: 400, body: { code: 'bad_request', message: text ?? 'bad request' } };
  }
  if (isUnavailable(error)) {
    log.warn({ err: error }, 'database unavailable');
    return { status: 503, body: { code: 'unavailable', message: 'the database cannot be reached right now; retry' } };
  }
  log.error({ err: error }, 'unexpected error');
  return INTERNAL;
}
