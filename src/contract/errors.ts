import { Type, type Static } from '@sinclair/typebox';
import { ERROR_CODES } from './constants';

// Defined without TypeBox in constants.ts, where the client SDK takes them from.
export { ERROR_CODES, ERROR_STATUS, CloseCode, ROLES, INVITE_QR_PREFIX, type ErrorCode, type Role } from './constants';

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
