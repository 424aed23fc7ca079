import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

export const REQUEST_ID_HEADER = 'x-request-id';
/**
 * An id a proxy or a client may choose: short, and of characters that cannot break a log line or a
 * header (a header sent twice arrives joined with ", " and is replaced too).
 */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,64}$/;

/**
 * fastify's `genReqId`: the incoming `x-request-id` when it is safe (a proxy's, so that its log and
 * ours name the same request), else a new UUID. Every log line of the request carries it as `reqId`,
 * a WebSocket's too (its upgrade request's).
 */
export function genReqId(request: IncomingMessage): string {
  const incoming = request.headers[REQUEST_ID_HEADER];
  return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** Every HTTP answer says which request it answers, errors and 404s included (a hook on the root instance). */
export function answerWithRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
}
