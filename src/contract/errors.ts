import { Type, type Static } from '@sinclair/typebox';

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
  goods_not_found: 404,
  name_taken: 409,
  insufficient_stock: 409,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/**
 * `{code, message, ...details}`: details such as `count` (insufficient_stock), `retryAfter`
 * (rate_limited) or `duplicate` (a replayed refusal) sit beside the code.
 */
export const ErrorBody = Type.Object(
  {
    code: Type.Union(ERROR_CODES.map((code) => Type.Literal(code))),
    message: Type.String(),
    count: Type.Optional(Type.Integer({ minimum: 0, description: 'insufficient_stock: the count in stock' })),
    retryAfter: Type.Optional(Type.Integer({ minimum: 0, description: 'rate_limited: seconds to wait' })),
    duplicate: Type.Optional(Type.Boolean({ description: 'true when this refusal is the stored outcome of an event id sent before' })),
  },
  { additionalProperties: true },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** Every HTTP error answer. */
export const ErrorResponse = Type.Object({ error: ErrorBody }, { description: 'An error: `error.code` is one of the error codes' });

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
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
