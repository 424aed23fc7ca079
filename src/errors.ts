import { ERROR_STATUS, type ErrorBody, type ErrorCode } from './contract';

/**
 * Errors are values with a stable code from SPEC.md. The domain and the WeChat client throw these;
 * each transport maps them to its own shape in one place (src/http/errors.ts, the WebSocket ack).
 */
export { ERROR_STATUS, type ErrorBody, type ErrorCode } from './contract';

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

/** Whether `error` or any error in its `cause` chain (up to five deep, cycles ignored) passes `test`. */
export function inCauseChain(error: unknown, test: (error: unknown) => boolean): boolean {
  let current = error;
  for (let depth = 0; depth <= 5; depth++) {
    if (test(current)) return true;
    const cause = typeof current === 'object' && current !== null ? (current as { cause?: unknown }).cause : undefined;
    if (cause === undefined || cause === current) return false;
    current = cause;
  }
  return false;
}
