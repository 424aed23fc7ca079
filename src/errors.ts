/**
 * Errors are values with a stable code from SPEC.md. The domain and the WeChat client throw these;
 * each transport maps them to its own shape in one place (src/http/errors.ts, the WebSocket ack).
 */
export const ERROR_STATUS = {
  bad_request: 400,
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

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  [detail: string]: unknown;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toBody(): ErrorBody {
    return { ...this.details, code: this.code, message: this.message };
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) => new AppError('bad_request', message, details);
export const unauthorized = (message = 'missing, unknown, expired or revoked token') => new AppError('unauthorized', message);
