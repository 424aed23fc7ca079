import type { FastifyBaseLogger, FastifyError } from 'fastify';
import { ConnectionException, DriverException } from '@mikro-orm/core';
import { AppError, type ErrorBody } from '../errors';

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR', 'SQLITE_BUSY']);

function isUnavailable(error: unknown): boolean {
  if (error instanceof ConnectionException) return true;
  // The pool found no connection in time (the mutation path takes its connections from it directly).
  if ((error as { name?: unknown }).name === 'KnexTimeoutError') return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && CONNECTION_CODES.has(code);
}

/**
 * The one mapping from anything thrown to SPEC's error shape, shared by HTTP and WebSocket.
 * Unexpected errors are logged here and reach the client as a bare `internal`.
 */
export function toErrorBody(error: unknown, log: FastifyBaseLogger): { status: number; body: ErrorBody } {
  if (error instanceof AppError) return { status: error.status, body: error.toBody() };
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    return { status: 400, body: { code: 'bad_request', message: fastifyError.message ?? 'invalid request' } };
  }
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, body: { code: 'payload_too_large', message: 'request body is too large' } };
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    // Fastify's own client errors: unparsable JSON, unsupported content type, empty JSON body...
    return { status: 400, body: { code: 'bad_request', message: fastifyError.message ?? 'bad request' } };
  }
  if (isUnavailable(error) || (error instanceof DriverException && isUnavailable((error as { cause?: unknown }).cause))) {
    log.warn({ err: error }, 'database unavailable');
    return { status: 503, body: { code: 'unavailable', message: 'the database cannot be reached right now; retry' } };
  }
  log.error({ err: error }, 'unexpected error');
  return { status: 500, body: { code: 'internal', message: 'internal error' } };
}
