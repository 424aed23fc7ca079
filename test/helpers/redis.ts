import { randomBytes } from 'node:crypto';

/** The Redis the suites use (TEST_REDIS_URL, default the local one, database 15). */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379/15';

/** A pub/sub channel of its own, so that parallel suites never hear each other. */
export function testChannel(): string {
  return `scancode:test:${randomBytes(6).toString('hex')}`;
}
