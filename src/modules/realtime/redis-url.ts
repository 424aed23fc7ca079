/**
 * REDIS_URL: one server (`redis://[user:password@]host:port[/db]`), or the seed nodes of a Redis
 * Cluster (`redis://[user:password@]host:7000,host:7001,host:7002`: more than one node; any of them
 * is enough to find the others, naming them all survives one being down). `rediss://` is TLS, for
 * both.
 */
export type RedisLocation = { kind: 'single'; url: string } | { kind: 'cluster'; nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean };

/** Throws an Error saying what is wrong (config.ts names the variable). */
export function parseRedisUrl(url: string): RedisLocation {
  const match = /^(rediss?):\/\/(?:([^@/]*)@)?([^/?#]*)(.*)$/.exec(url);
  if (!match) throw new Error('must start with redis:// or rediss://');
  const [, scheme, auth, hosts, rest] = match;
  if (!hosts.includes(',')) return { kind: 'single', url };
  if (rest !== '' && rest !== '/' && rest !== '/0') throw new Error('names a Redis Cluster (several nodes), which has no database number or options: give only the nodes');
  const nodes = hosts.split(',').map((node) => {
    const parts = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(node.trim());
    const port = parts ? Number(parts[2]) : NaN;
    if (!parts || port < 1 || port > 65535) throw new Error(`names a Redis Cluster node as "${node}"; each node is host:port (redis://host:7000,host:7001,...)`);
    return { host: parts[1].replace(/^\[(.*)\]$/, '$1'), port };
  });
  const location: RedisLocation = { kind: 'cluster', nodes, tls: scheme === 'rediss' };
  if (auth !== undefined) {
    const colon = auth.indexOf(':');
    const username = decodeURIComponent(colon === -1 ? auth : auth.slice(0, colon));
    if (username !== '') location.username = username;
    if (colon !== -1) location.password = decodeURIComponent(auth.slice(colon + 1));
  }
  return location;
}
