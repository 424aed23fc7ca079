import { STATUS_CODES, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { MAX_CODE_LENGTH } from '../contract';

/**
 * Answers in SPEC's error shape where fastify or node would answer with their own: a URL that does not
 * decode, a request node's parser refuses (unknown method, headers or URL too large), a request that
 * does not arrive in time (BODY_TIMEOUT_MS), a request that arrives while the server shuts down.
 */

/** A goods code travels percent-encoded in the path, up to 12 characters per 4-byte character. */
const MAX_HEADER_BYTES = MAX_CODE_LENGTH * 12 + 16 * 1024;

const body = (code: 'bad_request' | 'unavailable', message: string) => ({ error: { code, message } });

export interface EdgeSettings {
  /** BODY_TIMEOUT_MS: a request's headers and body arrive within this long of its first byte. */
  bodyTimeoutMs: number;
  /** Called for each request answered because it did not arrive in time (counted in /metrics). */
  timedOut(): void;
}

/**
 * Options for Fastify(): the request line and headers may be as long as the longest goods path, and a
 * request must have arrived BODY_TIMEOUT_MS after its first byte.
 *
 * Node times requests with two settings, checked every `connectionsCheckingInterval`: `headersTimeout`
 * and `requestTimeout`. When the first is the larger, node swaps them, so fastify's `requestTimeout`
 * alone (node's headersTimeout stays at its 60 s) timed a trickling body at 60 s, not at the setting.
 * Both are set here, to the same value, less one check interval, so that the answer comes within
 * BODY_TIMEOUT_MS. Node stops timing a connection once it is upgraded to a WebSocket, and an idle
 * keep-alive connection between requests is not timed.
 */
export function edgeOptions(settings: EdgeSettings) {
  const checkEveryMs = Math.min(1000, Math.max(10, Math.floor(settings.bodyTimeoutMs / 10)));
  const requestTimeout = settings.bodyTimeoutMs - checkEveryMs;
  return {
    http: { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: requestTimeout, requestTimeout, connectionsCheckingInterval: checkEveryMs } satisfies ServerOptions,
    // fastify sets the server's requestTimeout again from its own option (default 0: none).
    requestTimeout,
    frameworkErrors: (error: Error, _request: FastifyRequest, reply: FastifyReply) => {
      void reply.code(400).send(body('bad_request', error.message));
    },
    clientErrorHandler: (error: Error & { code?: string }, socket: Duplex) => {
      if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
      if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        // A connection that never sent a byte (opened ahead of a request that never came) has no
        // request to answer: an answer on it would be read as the answer to the next one sent.
        if ((socket as Socket).bytesRead === 0) return void socket.destroy();
        settings.timedOut();
      }
      const text = JSON.stringify(body('bad_request', clientErrorMessage(error.code, settings.bodyTimeoutMs)));
      // Closed once the answer is out: after a timeout node's parser is still reading, and the rest of
      // the body arriving later must not complete the request and run it.
      socket.end(`HTTP/1.1 400 ${STATUS_CODES[400]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`, () => socket.destroy());
    },
    // Our own 503 below, in SPEC's shape, instead of fastify's.
    return503OnClosing: false,
  } satisfies Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler' | 'return503OnClosing' | 'requestTimeout'> & { http: ServerOptions };
}

function clientErrorMessage(code: string | undefined, bodyTimeoutMs: number): string {
  if (code === 'HPE_HEADER_OVERFLOW') return 'request line and headers are too large';
  if (code === 'HPE_URI_TOO_LONG') return 'URL is too long';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return `the request did not arrive within ${bodyTimeoutMs} ms of its first byte; send it again`;
  return 'request is not valid HTTP';
}

/** Requests that arrive once the server is shutting down: 503 unavailable, to be retried elsewhere. */
export function refuseWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!closing) return;
    // A WebSocket upgrade (a phone reconnecting after its 1001) is answered on its raw socket, which no
    // server response ends by itself: end it, or close() would wait for it.
    if (request.headers.upgrade) reply.raw.once('finish', () => request.raw.socket.destroy());
    return reply.code(503).header('connection', 'close').send(body('unavailable', 'the server is shutting down; retry'));
  });
}
