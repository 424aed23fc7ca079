import type { ErrorBody, ErrorCode } from './contract';

/**
 * What the SDK itself can tell, beside the server's codes: `timeout` (no answer in time), `disconnected`
 * (the socket closed before the answer), `offline` (no socket to send on), `network` (an HTTP request
 * got no answer), `not_logged_in` (no token: call login()).
 */
export type ClientErrorCode = 'timeout' | 'disconnected' | 'offline' | 'network' | 'not_logged_in';

/** A failed request: the server's error (`body`, with `count`, `duplicate`...) or one of the SDK's own. */
export class ScancodeError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  /** The server's error as it sent it; absent for the SDK's own codes. */
  readonly body?: ErrorBody;
  /** The HTTP status, for errors of HTTP requests. */
  readonly status?: number;

  constructor(code: ErrorCode | ClientErrorCode, message: string, details: { body?: ErrorBody; status?: number } = {}) {
    super(message);
    this.name = 'ScancodeError';
    this.code = code;
    this.body = details.body;
    this.status = details.status;
    // Compiled to ES2017 classes this is not needed, but a transpiler to ES5 would lose the prototype.
    Object.setPrototypeOf(this, ScancodeError.prototype);
  }

  static fromBody(body: ErrorBody, status?: number): ScancodeError {
    return new ScancodeError(body.code, body.message, { body, status });
  }
}

/**
 * Server errors worth trying again with the same event id: the database was away, something broke, or
 * the server asked to slow down. Every other server error is its answer to that request for good.
 */
export function isTransient(code: ScancodeError['code']): boolean {
  return code === 'unavailable' || code === 'internal' || code === 'rate_limited' || code === 'timeout' || code === 'disconnected' || code === 'offline' || code === 'network';
}
