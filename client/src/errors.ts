import type { ErrorBody, ErrorCode, Role } from './contract';

/**
 * What the SDK itself can tell, beside the server's codes: `timeout` (no answer in time), `disconnected`
 * (the socket closed before the answer), `offline` (no socket to send on), `network` (an HTTP request
 * got no answer), `not_logged_in` (no token: call login()), `not_an_invite` (a scanned text that is not
 * a `scancode:join:` invite), `not_a_web_login` (a scanned text that is not a `scancode:weblogin:` login).
 */
export type ClientErrorCode = 'timeout' | 'disconnected' | 'offline' | 'network' | 'not_logged_in' | 'not_an_invite' | 'not_a_web_login';

interface Details {
  body?: ErrorBody;
  status?: number;
  closeCode?: number;
}

/**
 * A failed request: the server's error (`body`, with `count`, `duplicate`...) or one of the SDK's own.
 * A `forbidden` error names the member's `role` and the lowest role that `required` it.
 */
export class ScancodeError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  /** The server's error as it sent it; absent for the SDK's own codes. */
  readonly body?: ErrorBody;
  /** The HTTP status, for errors of HTTP requests. */
  readonly status?: number;
  /** For `disconnected`: the close code of the socket that ended (1009: a frame over the server's limit). */
  readonly closeCode?: number;
  /** For `forbidden`: the member's role in that directory. */
  readonly role?: Role;
  /** For `forbidden`: the lowest role that may do it. */
  readonly required?: Role;

  constructor(code: ErrorCode | ClientErrorCode, message: string, details: Details = {}) {
    super(message);
    this.name = 'ScancodeError';
    this.code = code;
    this.body = details.body;
    this.status = details.status;
    this.closeCode = details.closeCode;
    const body = details.body as { role?: unknown; required?: unknown } | undefined;
    if (typeof body?.role === 'string') this.role = body.role as Role;
    if (typeof body?.required === 'string') this.required = body.required as Role;
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
