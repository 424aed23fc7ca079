/** After the run: the private redis-server, if test/global-setup.ts started one, is stopped, so that jest exits. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.stopTestRedis?.();
}
