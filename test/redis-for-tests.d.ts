/** test/redis-for-tests.js, for the TypeScript that uses it (test/global-setup.ts, test/global-teardown.ts). */
export function planRedisForTests(testRoot: string): Promise<string[]>;
export function startPrivateRedisForRun(): Promise<() => Promise<void>>;
