import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { badRequest } from '../../errors';

/**
 * Where a webhook may not point (SSRF): a registered URL is the server's own request, made from
 * inside the network, so a manager could otherwise read the metadata service (169.254.169.254), the
 * database's admin port or anything on loopback. Checked at registration and again at delivery, on the
 * address the request actually connects to (a name that resolved to a public address at registration
 * may resolve to 127.0.0.1 later: DNS rebinding).
 */
const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, the cloud metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3], // multicast, reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64: an IPv4 address inside
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some)
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address is one a webhook may be sent to: not loopback, private, link-local or reserved. */
export function isPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return !blocked.check(bare, 'ipv4');
  if (family !== 6) return false;
  // BlockList checks an IPv4-mapped address (::ffff:7f00:1) against the IPv4 ranges too; the
  // deprecated IPv4-compatible form (::127.0.0.1) is refused whole, as no public host uses it.
  if (/^::(?:\d|[0-9a-f]{1,4}:[0-9a-f]{1,4}$)/i.test(bare) && !/^::ffff:/i.test(bare)) return false;
  return !blocked.check(bare, 'ipv6');
}

export type Resolve = (host: string) => Promise<string[]>;

/** Every address the system resolver gives for a name (what the request would connect to). */
export const systemResolve: Resolve = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (error, addresses: LookupAddress[]) => (error ? reject(error) : resolve(addresses.map((a) => a.address)))));

/** The URL, parsed, when it is an http(s) URL without credentials; else a `bad_request`. */
export function webhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest('url must be an http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest('url must be an http or https URL');
  if (url.username !== '' || url.password !== '') throw badRequest('url must not carry a user name or password (the signature authenticates the server)');
  return url;
}

/**
 * Refuses (400 `bad_request`) a URL whose host is, or resolves to, an address that is not public,
 * unless private targets are allowed (WEBHOOK_ALLOW_PRIVATE=1). A name that does not resolve is
 * refused too: nothing could be delivered to it.
 */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean, resolve: Resolve = systemResolve): Promise<URL> {
  const url = webhookUrl(raw);
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
    } catch {
      throw badRequest(`url's host ${host} does not resolve`);
    }
  }
  if (addresses.length === 0) throw badRequest(`url's host ${host} does not resolve`);
  const refused = addresses.find((address) => !isPublicAddress(address));
  if (refused !== undefined)
    throw badRequest(`url's host ${host === refused ? '' : `${host} resolves to `}${refused}, a loopback, private or link-local address: webhooks are sent to public addresses only`, { field: 'url' });
  return url;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * The `lookup` of the delivery's request: it resolves as usual and refuses a non-public address, so
 * the check is on the very address the socket connects to.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true, verbatim: true } as { all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, []);
      const refused = allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a.address));
      if (refused) {
        const refusal = Object.assign(new Error(`${hostname} resolves to ${refused.address}, a loopback, private or link-local address`), { code: 'EPRIVATE' });
        return callback(refusal, []);
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
