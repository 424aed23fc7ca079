import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 in front of a real server (MariaDB), which a test can cut and restore to see
 * what clients get while the database is unreachable.
 */
export interface Relay {
  port: number;
  /** Drops every open connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again. */
  restore(): Promise<void>;
  close(): Promise<void>;
  /** The same URL (mysql://, redis://...) with its host and port pointing at this relay. */
  rewrite(url: string): string;
}

/** A relay in front of the server a URL names. */
export function startRelayFor(url: string, defaultPort: number): Promise<Relay> {
  const target = new URL(url);
  return startRelay(target.hostname, Number(target.port || defaultPort));
}

export async function startRelay(targetHost: string, targetPort: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      if (server) return resolve();
      server = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server?.address();
        if (address && typeof address !== 'string') port = address.port;
        resolve();
      });
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (server) server.close(() => resolve());
      else resolve();
      server = null;
    });

  await listen();
  const rewrite = (url: string) => {
    const through = new URL(url);
    through.host = `127.0.0.1:${port}`;
    return through.toString();
  };
  return {
    get port() {
      return port;
    },
    cut: stop,
    restore: listen,
    close: stop,
    rewrite,
  };
}
