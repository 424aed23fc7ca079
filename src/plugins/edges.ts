import { STATUS_CODES, type ServerOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { MAX_CODE_LENGTH } from '../contract';

/**
 * Answers in SPEC's error shape where fastify or node would answer with their own: a URL that does not
 * decode, a request node's parser refuses (unknown method, headers or URL too large), a request that
 * arrives while the server shuts down.
 */

/** A goods code travels percent-encoded in the path, up to 12 characters per 4-byte character. */
const MAX_HEADER_BYTES = MAX_CODE_LENGTH * 12 + 16 * 1024;

const body = (code: 'bad_request' | 'unavailable', message: string) => ({ error: { code, message } });

/** Options for Fastify(): the request line and headers may be as long as the longest goods path. */
export const edgeOptions = {
  http: { maxHeaderSize: MAX_HEADER_BYTES } satisfies ServerOptions,
  frameworkErrors: (error: Error, _request: FastifyRequest, reply: FastifyReply) => {
    void reply.code(400).send(body('bad_request', error.message));
  },
  clientErrorHandler: (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const message =
      error.code === 'HPE_HEADER_OVERFLOW' ? 'request line and headers are too large' : error.code === 'HPE_URI_TOO_LONG' ? 'URL is too long' : 'request is not valid HTTP';
    const text = JSON.stringify(body('bad_request', message));
    socket.end(`HTTP/1.1 400 ${STATUS_CODES[400]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
  },
  // Our own 503 below, in SPEC's shape, instead of fastify's.
  return503OnClosing: false,
} satisfies Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler' | 'return503OnClosing'> & { http: ServerOptions };

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
