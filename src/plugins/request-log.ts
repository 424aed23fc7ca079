import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * One log line per HTTP request, written when its answer has gone, that a person can read at a glance
 * and a machine can query:
 *
 *   POST /api/directories/3/scans 409 insufficient_stock 2.1 ms user 7 device phone-1: only 2 left
 *
 * is the line's `msg`; the same facts are fields beside it (`req`, `res`, `responseTime`, the `reqId`
 * of every line of the request). It replaces fastify's own pair ("incoming request", "request
 * completed"), which said neither who asked nor why a request was refused: a 400 was `statusCode: 400`,
 * and pino-pretty spread the pair over some 16 lines.
 * Secrets in the query string (`?token=`, `?access_token=`, a web login's `pollToken`) are never
 * written as they came.
 */

/** What an answer with an error said: SPEC's `{error: {code, message}}`, or a legacy route's `{error: "<message>"}` (answered 200). */
export interface Refusal {
  code?: string;
  message: string;
}

/** Query parameters whose values are credentials. */
const SECRET_PARAM = /token|secret|password|cookie|session|signature/i;
/** A URL in the readable line is cut here (a goods code travels in the path, up to 85 KB encoded); `req.url` holds it whole. */
const READABLE_URL_LENGTH = 200;

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** The URL with the value of every credential-like query parameter replaced. */
export function withoutSecrets(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const params = url
    .slice(start + 1)
    .split('&')
    .map((param) => {
      const equals = param.indexOf('=');
      const name = equals === -1 ? param : param.slice(0, equals);
      return SECRET_PARAM.test(decodedName(name)) ? `${name}=[redacted]` : param;
    });
  return `${url.slice(0, start)}?${params.join('&')}`;
}

/** The error an answer carries, read from its body; only bodies that begin as an error body are parsed. */
function refusalIn(payload: unknown): Refusal | null {
  if (typeof payload !== 'string' || !payload.startsWith('{"error":')) return null;
  try {
    const { error } = JSON.parse(payload) as { error?: unknown };
    if (typeof error === 'string') return { message: error };
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && typeof message === 'string') return { code, message };
  } catch {
    // Not JSON after all: nothing to say.
  }
  return null;
}

/** The logger's serializers for `req` and `res` (src/app.ts passes them to fastify in place of its own). */
export const requestLogSerializers = {
  req(request: FastifyRequest) {
    const principal = request.principal ?? null;
    return {
      method: request.method,
      url: withoutSecrets(request.url),
      remoteAddress: request.ip,
      ...(principal === null ? {} : { userId: principal.userId, deviceId: principal.deviceId }),
    };
  },
  res(reply: Partial<FastifyReply> & Pick<FastifyReply, 'statusCode'>) {
    return { statusCode: reply.statusCode, ...(reply.refusal ?? {}) };
  },
};

/** The line's readable form: method, path, status, error code, time, who, and the error's message. */
export function readableLine(request: FastifyRequest, reply: FastifyReply, ms: string): string {
  const url = withoutSecrets(request.url);
  const parts = [request.method, url.length > READABLE_URL_LENGTH ? `${url.slice(0, READABLE_URL_LENGTH)}…` : url, String(reply.statusCode)];
  if (reply.refusal?.code !== undefined) parts.push(reply.refusal.code);
  parts.push(`${ms} ms`);
  const principal = request.principal ?? null;
  if (principal !== null) parts.push(`user ${principal.userId}`);
  if (principal?.deviceId) parts.push(`device ${principal.deviceId}`);
  const line = parts.join(' ');
  return reply.refusal === null ? line : `${line}: ${reply.refusal.message}`;
}

/**
 * fastify's log controller with its two request lines replaced by one, written once the answer has
 * gone (after the onResponse hooks). `Fastify({ logController: new RequestLog() })`.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {
    // Nothing: the request's line is written when it is answered, with its outcome.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const ms = reply.elapsedTime.toFixed(1);
    const fields = { req: request, res: reply, responseTime: Number(ms), ...(error ? { err: error } : {}) };
    // An answer cut short (the client went away mid-answer) is not an error of ours: info, with its err.
    if (reply.statusCode >= 500) request.log.error(fields, readableLine(request, reply, ms));
    else request.log.info(fields, readableLine(request, reply, ms));
  }
}

/** Records each answer's error for its line (a hook on the root instance: every route, 404s and refusals by limit included). */
export function recordRefusals(app: FastifyInstance): void {
  app.decorateReply('refusal', null);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.refusal = refusalIn(payload);
    return payload;
  });
}

declare module 'fastify' {
  interface FastifyReply {
    /** The error this answer carried, for its log line (null for an answer without one). */
    refusal: Refusal | null;
  }
}
