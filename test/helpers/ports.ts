import { createServer } from 'node:net';

/**
 * A loopback port nothing listens on: one the kernel just handed out for port 0, closed again. For the
 * servers a test starts as processes (redis-server, mariadbd), which cannot take port 0 themselves, and
 * for "nothing answers there" cases.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
