import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, isPublicAddress, webhookUrl } from './addresses';
import type { Change } from '../inventory/views';

/** What one POST of a change came to: a 2xx is delivered; anything else is tried again. */
export type Attempt = { ok: true; status: number } | { ok: false; status?: number; error: string };

export interface Delivery {
  url: string;
  secret: string;
  directoryId: number;
  revision: number;
  change: Change;
}

/** `sha256=<hex HMAC-SHA256 of the body with the secret>`: what a receiver recomputes over the raw body. */
export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The body of a delivery (the signature covers these exact bytes). */
export const deliveryBody = (delivery: Pick<Delivery, 'directoryId' | 'revision' | 'change'>): string =>
  JSON.stringify({ directoryId: delivery.directoryId, revision: delivery.revision, change: delivery.change });

/** A receiver's answer is read up to this much (only its status matters), so that a huge one costs nothing. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * POSTs one change. The answer must begin within `timeoutMs` (SPEC: 10 s) and the whole exchange end
 * within twice that; `abort` ends it at once (shutdown). No redirect is followed: a 3xx is a failure,
 * since following it would reach a host that was never checked.
 */
export function postDelivery(delivery: Delivery, options: { timeoutMs: number; allowPrivate: boolean; abort: AbortSignal }): Promise<Attempt> {
  const body = deliveryBody(delivery);
  let url: URL;
  try {
    url = webhookUrl(delivery.url);
  } catch {
    return Promise.resolve({ ok: false, error: 'the URL is not an http(s) URL' });
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An address in the URL is never looked up: it is checked here, a name is checked by the lookup.
  if (!options.allowPrivate && isIP(host) !== 0 && !isPublicAddress(host)) return Promise.resolve({ ok: false, error: `${host} is a loopback, private or link-local address` });
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<Attempt>((resolve) => {
    let settled = false;
    const finish = (attempt: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      resolve(attempt);
    };
    const req = send(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'scancode-webhooks',
          'x-scancode-signature': signature(body, delivery.secret),
          'x-scancode-delivery': `${delivery.directoryId}:${delivery.revision}`,
        },
        lookup: guardedLookup(options.allowPrivate) as never,
        timeout: options.timeoutMs,
        signal: options.abort,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) res.destroy();
        });
        res.on('close', () => finish(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `the receiver answered ${status}` }));
        res.on('error', () => undefined);
      },
    );
    const overall = setTimeout(() => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs * 2);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => finish({ ok: false, error: error.code === 'EPRIVATE' ? error.message : `no answer: ${error.message}` }));
    req.end(body);
  });
}
