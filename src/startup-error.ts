/**
 * A start-up failure an operator fixes in the environment (a database or Redis that cannot be reached,
 * a database that does not exist): the message names the variable first, then what is wrong with what
 * it points at, and never a password. `src/main.ts` prints it alone, without a stack.
 */
export class StartupError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'StartupError';
  }
}

/** The code of a network or driver error (`ECONNREFUSED`, `ER_BAD_DB_ERROR`), else its message. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return error instanceof Error ? error.message : String(error);
}
