/**
 * The contract's run-time constants, without TypeBox: the client SDK ships inside mini-programs, whose
 * package size WeChat limits, so it imports its values from here and only types from the other modules.
 * errors.ts, fields.ts and http.ts re-export these under the names they always had.
 */

/** Every error code a client can receive, with its HTTP status (WebSocket acks carry the same codes). */
export const ERROR_STATUS = {
  bad_request: 400,
  not_found: 404,
  unauthorized: 401,
  wechat_code_invalid: 401,
  wechat_rate_limited: 429,
  wechat_user_blocked: 403,
  wechat_unavailable: 502,
  decrypt_failed: 400,
  directory_not_found: 404,
  forbidden: 403,
  invite_not_found: 404,
  undo_conflict: 409,
  count_closed: 409,
  count_open: 409,
  goods_not_found: 404,
  name_taken: 409,
  insufficient_stock: 409,
  payload_too_large: 413,
  rate_limited: 429,
  quota_exceeded: 409,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/** WebSocket close codes and what a client does on each. */
export const CloseCode = {
  /** Shutdown: reconnect (to another instance) and resume with `since`. */
  goingAway: 1001,
  /** A frame over the size limit. */
  tooBig: 1009,
  /** The server could not keep its no-gap promise (the database failed mid-delivery): reconnect and resume. */
  internalError: 1011,
  /** No, bad, expired or revoked token: log in again. */
  unauthorized: 4401,
  /** The client did not read its frames: reconnect and resume with `since`. */
  tooSlow: 4408,
  /**
   * Too many sockets of this user on this server, too many of this address waiting for authentication,
   * or too many refused tokens from this address (after an `error` frame, `rate_limited` with
   * `retryAfter`): not "log in again", but reconnect after that many seconds, as after a network failure.
   */
  tooManySockets: 4429,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** An event id: 1–64 of these characters. */
export const EVENT_ID_PATTERN = '^[A-Za-z0-9._:-]+$';
export const MAX_EVENT_ID_LENGTH = 64;

/** Events in one `POST /api/sync`. */
export const MAX_SYNC_EVENTS = 500;

/**
 * A directory member's role, highest first: each may do what the ones after it may (SPEC "Teams").
 * `owner` is exactly one member, the directory's creator or whom it was handed to.
 */
export const ROLES = ['owner', 'manager', 'editor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** The text of an invite's QR code: `scancode:join:<code>`. */
export const INVITE_QR_PREFIX = 'scancode:join:';

/** The text of a web login's QR code: `scancode:weblogin:<id>`. */
export const WEB_LOGIN_QR_PREFIX = 'scancode:weblogin:';
